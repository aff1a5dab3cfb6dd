"""Funnel report over a large journal, on SQLite and PostgreSQL.

Builds a journal of ``--events`` events (default 1,000,000: ~100,000 customers walking the
O2O2O funnel to random depths, plus noise events of other types), bulk-loaded (executemany on
SQLite, COPY on PostgreSQL), then times ``sdk.analytics.funnel(attribute=False)`` — every
step, per day and per store counts, medians, per-offer counts and revenue — against a
baseline measured in the same run: one bare full scan ``SELECT type, COUNT(*) FROM journal
GROUP BY type``. Also times the incremental attribution of the month's orders once.
Target: funnel <= 2 s on both backends.

    .venv/bin/python benchmarks/bench_funnel.py [--events N] [--repeat 3] [--postgres URL]

PostgreSQL runs when ``--postgres`` or ``O2O_TEST_POSTGRES_URL`` is set (in a scratch schema,
dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from o2o_sdk import O2O, Config, FrozenClock
from o2o_sdk.analytics import FOLLOWUP_DELIVERED, _db

START = datetime(2026, 5, 1, tzinfo=UTC)
STORES = [f"store-{i:02d}" for i in range(40)]
OFFERS = [f"offer-{i}" for i in range(8)]
TYPES = ("issued", "voucher_viewed", "store_searched", "checked_in", "redeemed", FOLLOWUP_DELIVERED, "followup_clicked", "order_online")
DEPTH_WEIGHTS = (10, 10, 8, 8, 14, 10, 10, 30)
NOISE = ("validated", "reserved", "released", "checkin_refused", "refused")


def rows(total: int, seed: int = 1, out_of_order: float = 0.0) -> Iterator[tuple[datetime, str, str | None, str | None, str | None, str | None, str | None]]:
    """``(at, type, offer, voucher, store, customer, data)`` tuples, about ``total`` of them.
    ``out_of_order``: the share of customers who also searched a store the day before their
    voucher and bought in a store an hour before their follow-up was delivered (their first
    events of those steps come before the previous step: the funnel walks them in a second
    round)."""
    rng = random.Random(seed)
    odd = random.Random(seed + 1)  # its own draws: the default journal stays the same
    made = 0
    n = 0
    while made < total:
        cid = f"c{n:07d}"
        offer = OFFERS[n % len(OFFERS)]
        store = STORES[rng.randrange(len(STORES))]
        depth = rng.choices(range(8), DEPTH_WEIGHTS)[0]
        t = START + timedelta(days=rng.randrange(30), seconds=rng.randrange(86400))
        vid = f"{n:016x}"
        if odd.random() < out_of_order:
            yield (t - timedelta(days=1), "store_searched", None, None, None, cid, None)
            made += 1
        for k in range(depth + 1):
            if TYPES[k] == FOLLOWUP_DELIVERED and odd.random() < out_of_order:
                data = json.dumps({"order_id": f"s{n}", "platform": "bench", "total_minor": 3000, "currency": "EUR"})
                yield (t - timedelta(hours=1), "order_in_store", None, None, store, cid, data)
                made += 1
            st = store if TYPES[k] in ("checked_in", "redeemed") else None
            data = None
            if TYPES[k] == "order_online":
                data = json.dumps({"order_id": f"o{n}", "platform": "bench", "total_minor": 5000, "currency": "EUR"})
            elif TYPES[k] in (FOLLOWUP_DELIVERED, "followup_clicked"):
                data = json.dumps({"followup_id": f"fu{n}"})
            yield (t, TYPES[k], offer if k in (0, 1, 4) else None, vid if k in (0, 1, 4) else None, st, cid, data)
            made += 1
            t += timedelta(minutes=rng.randrange(5, 3000))
        for _ in range(rng.randrange(0, 6)):  # other events of the same customer
            yield (t + timedelta(minutes=rng.randrange(600)), NOISE[rng.randrange(len(NOISE))], offer, vid, store, cid, None)
            made += 1
        n += 1


def load(sdk: O2O, total: int, out_of_order: float = 0.0) -> int:
    started = time.perf_counter()
    with _db.write(sdk.storage) as sql:
        if sql.postgres:
            cur = sql._tx.cur
            with cur.copy("COPY journal (at, type, offer_id, voucher_id, store_id, customer_id, data) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for r in rows(total, out_of_order=out_of_order):
                    copy.write_row(r)
        else:
            sql.many(
                "INSERT INTO journal (at, type, offer_id, voucher_id, store_id, customer_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(sql.ts(r[0]), *r[1:]) for r in rows(total, out_of_order=out_of_order)],
            )
        count = int(sql.one("SELECT COUNT(*) FROM journal")[0])
        if sql.postgres:
            sql.execute("ANALYZE journal")
        else:
            sql.execute("ANALYZE")
    print(f"  loaded {count:,} events in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return count


def best(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[0], times[len(times) // 2]


def bench(name: str, url: str, total: int, repeat: int, out_of_order: float = 0.0) -> list[str]:
    print(f"{name}: loading", file=sys.stderr)
    sdk = O2O(Config(database_url=url, auto_migrate=True, load_entrypoints=False), clock=FrozenClock(START + timedelta(days=40)))
    try:
        count = load(sdk, total, out_of_order)

        def baseline() -> None:
            with _db.read(sdk.storage) as sql:
                sql.all("SELECT type, COUNT(*) FROM journal GROUP BY type")

        base_best, _ = best(baseline, repeat)
        report = None

        def funnel() -> None:
            nonlocal report
            report = sdk.analytics.funnel(attribute=False)

        f_best, f_med = best(funnel, repeat)
        t = time.perf_counter()
        attributed = sdk.analytics.attribute()
        attribution = time.perf_counter() - t
        assert report is not None
        steps = " → ".join(f"{s.customers:,}" for s in report.steps)
        print(f"  steps: {steps}", file=sys.stderr)
        ok = "yes" if f_best <= 2.0 else "**no**"
        return [
            f"| {name} | {count:,} | {report.steps[0].customers:,} | {base_best:.2f} s | {f_best:.2f} s (median {f_med:.2f} s)"
            f" | {f_best / base_best:.1f}x | {ok} | {attributed:,} in {attribution:.1f} s |"
        ]
    finally:
        sdk.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--postgres", default=os.environ.get("O2O_TEST_POSTGRES_URL"))
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--out-of-order", type=float, default=0.0, metavar="SHARE",
                    help="share of customers with a store search before their voucher and a purchase before their follow-up")  # fmt: skip
    args = ap.parse_args()
    extra = f"; {args.out_of_order:.0%} of customers out of step order" if args.out_of_order else ""
    lines = [
        f"Funnel over {args.events:,} journal events ({os.cpu_count()} cores; best of {args.repeat}{extra}).",
        "",
        "| backend | events | customers | baseline: full scan GROUP BY type | funnel report | vs baseline | ≤ 2 s | attribution (once) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            lines += bench("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.events, args.repeat, args.out_of_order)
    if args.postgres:
        from o2o_sdk.testing import postgres_schema

        with postgres_schema(args.postgres, prefix="o2o_bench") as url:
            lines += bench("PostgreSQL", url, args.events, args.repeat, args.out_of_order)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


