"""Store locator benchmark: k=10 nearest stores, ours against two baselines in the same run.

Baselines: scipy's cKDTree on 3-D unit vectors (rank only, no exact distances, no filters) and
numpy brute-force haversine. Ours: ``o2o_sdk.locator.search`` on the kd-tree index (the
``[fast]`` extra) and on the pure-Python grid index, returning exact WGS84 distances, with and
without an open-now + one-service filter.

    .venv/bin/python benchmarks/bench_locator.py --sizes 10000,100000,1000000

The query timings are interleaved: each query point is run through the cKDTree baseline and
every o2o variant in turn, so the ratio to the baseline holds even when the machine's load
changes during the run. The unfiltered searches are also timed back to back (all points through
one method, then the next), where each method runs with warm caches. Prints a Markdown table (paste it into docs/benchmarks.md). A script,
not a test.
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from scipy.spatial import cKDTree

from o2o_sdk import OpeningHours, Store, StoreQuery
from o2o_sdk.geo import unit_vector
from o2o_sdk.locator import GridIndex, KDTreeIndex, StoreIndex, search

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a Monday
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]
HOURS = [
    OpeningHours.parse({"weekly": {"mon-sat": ["08:00-20:00"]}}),
    OpeningHours.parse({"weekly": {"mon-sun": ["10:00-22:00"], "fri": ["22:00-02:00"]}}),
    OpeningHours.always_open(),
    None,
]


def make_stores(n: int, seed: int) -> list[Store]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        lat = math.degrees(math.asin(rnd.uniform(-1, 1)))
        services = ("pickup",) if rnd.random() < 0.5 else ("returns",)
        out.append(Store(f"s{i:07d}", "store", ZONES[i % len(ZONES)], lat, rnd.uniform(-180, 180),
                         services=services, hours=HOURS[i % len(HOURS)]))  # fmt: skip
    return out


def queries(n: int, seed: int) -> list[tuple[float, float]]:
    rnd = random.Random(seed)
    return [(math.degrees(math.asin(rnd.uniform(-1, 1))), rnd.uniform(-180, 180)) for _ in range(n)]


def median_us(fn: Callable[[float, float], object], points: list[tuple[float, float]]) -> float:
    times = []
    for lat, lon in points:
        t = time.perf_counter_ns()
        fn(lat, lon)
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1000


def interleaved_medians(fns: dict[str, Callable[[float, float], object]], points: list[tuple[float, float]]) -> dict[str, float]:
    """Median µs per function, timing every function on each point in turn, so that a change in
    the machine's load during the run weighs on the baseline and on ours alike."""
    times: dict[str, list[int]] = {name: [] for name in fns}
    for lat, lon in points:
        for name, fn in fns.items():
            t = time.perf_counter_ns()
            fn(lat, lon)
            times[name].append(time.perf_counter_ns() - t)
    return {name: statistics.median(ts) / 1000 for name, ts in times.items()}


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def measure_memory(fn: Callable[[], object]) -> tuple[int, object]:
    gc.collect()
    tracemalloc.start()
    result = fn()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current, result


def unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def run(n: int, n_queries: int, grid_max: int) -> list[str]:
    stores = make_stores(n, seed=n)
    points = queries(n_queries, seed=1)
    lat = np.array([s.latitude for s in stores])
    lon = np.array([s.longitude for s in stores])

    # Baseline 1: cKDTree on unit vectors (rank only).
    build_ck, tree = timed(lambda: cKDTree(unit(lat, lon)))

    # Baseline 2: numpy brute-force haversine.
    rlat, rlon = np.radians(lat), np.radians(lon)

    def haversine(a: float, b: float) -> object:
        pa, pb = math.radians(a), math.radians(b)
        h = np.sin((rlat - pa) / 2) ** 2 + math.cos(pa) * np.cos(rlat) * np.sin((rlon - pb) / 2) ** 2
        idx = np.argpartition(h, 10)[:10]
        return idx[np.argsort(h[idx])]

    brute = median_us(haversine, points[: max(20, n_queries // 10)])

    indexes: list[tuple[StoreIndex, float, int]] = []
    for cls in (KDTreeIndex, GridIndex):
        if cls is GridIndex and n > grid_max:
            continue
        build, index = timed(lambda c=cls: c(stores))  # type: ignore[misc]
        mem, _ = measure_memory(lambda c=cls: c(stores))  # type: ignore[misc]
        assert isinstance(index, StoreIndex)
        indexes.append((index, build, mem))

    fns: dict[str, Callable[[float, float], object]] = {
        "ck": lambda a, b: tree.query(unit(np.array([a]), np.array([b]))[0], k=10),  # type: ignore[attr-defined]
        # The same query with the point converted by `math` instead of numpy: the tree's own cost.
        "ck-math": lambda a, b: tree.query(unit_vector(a, b), k=10),  # type: ignore[attr-defined]
    }
    for index, _, _ in indexes:
        fns[f"{index.kind}/plain"] = lambda a, b, ix=index: search(ix, StoreQuery(a, b, k=10, now=NOW))
        fns[f"{index.kind}/filtered"] = lambda a, b, ix=index: search(
            ix, StoreQuery(a, b, k=10, open_at=NOW, services=("pickup",), now=NOW)
        )
        fns[f"{index.kind}/status"] = lambda a, b, ix=index: [m.status for m in search(ix, StoreQuery(a, b, k=10, now=NOW))]
    med = interleaved_medians(fns, points)
    # The same two unfiltered searches again, each run over all points back to back (caches warm
    # for each method in turn: the harder baseline for us).
    warm = {name: median_us(fns[name], points) for name in ("ck", "ck-math", *(f"{ix.kind}/plain" for ix, _, _ in indexes))}

    ck = med["ck"]
    rows = [
        f"| {n:,} | scipy cKDTree, 3-D unit vectors (baseline) | {build_ck:.2f} | {ck:.1f} | - | {warm['ck']:.1f} | - | - | - |",
        f"| {n:,} | scipy cKDTree, query point converted with `math` | - | {med['ck-math']:.1f} | - | {warm['ck-math']:.1f} "
        f"| - | - | - |",
        f"| {n:,} | numpy brute-force haversine (baseline) | - | {brute:.1f} | - | - | - | - | - |",
    ]
    for index, build, mem in indexes:
        kind = index.kind
        plain = med[f"{kind}/plain"]
        rows.append(
            f"| {n:,} | o2o {kind} index{' (pure Python)' if kind == 'grid' else ''}, exact WGS84 | {build:.2f} | {plain:.1f} "
            f"(+status of the 10: {med[f'{kind}/status']:.1f}) | {plain / ck:.2f}x | {warm[f'{kind}/plain']:.1f} | "
            f"{warm[f'{kind}/plain'] / warm['ck']:.2f}x ({warm[f'{kind}/plain'] / warm['ck-math']:.2f}x the `math` row) | "
            f"{med[f'{kind}/filtered']:.1f} | {mem / n:.0f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--grid-max", type=int, default=1_000_000, help="largest size to run the pure-Python grid on")
    args = parser.parse_args()
    print(f"# {datetime.now(UTC):%Y-%m-%d} · Python {platform.python_version()} · numpy {np.__version__} · "
          f"{platform.machine()} · k=10 · {args.queries} queries, median")  # fmt: skip
    print()
    print("| stores | method | build (s) | k=10 median (µs), interleaved | vs cKDTree | k=10 median (µs), back to back "
          "| vs cKDTree | open-now + service (µs) | index bytes/store |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        for row in run(n, args.queries, args.grid_max):
            print(row, flush=True)


if __name__ == "__main__":
    main()
