"""The POS redeem endpoint under concurrent clients on loopback: requests/s, p50/p99 latency.

For each backend (SQLite in a temporary directory; PostgreSQL when ``O2O_BENCH_POSTGRES_URL``
or ``O2O_TEST_POSTGRES_URL`` is set, in a fresh schema dropped afterwards) a server process
runs ``create_app(sdk)`` under uvicorn (one worker; uvloop and httptools when installed,
access log off), with a store, an offer and ``--n`` + warm-up pre-issued vouchers. The
client process keeps ``--clients`` HTTP/1.1 keep-alive connections (a small asyncio client,
so that the load generator costs little of the shared CPU) and sends each voucher once:
``POST /api/pos/v1/redeem`` with a store API key and a fresh ``Idempotency-Key``. Every
answer must be 201, and the offer's redemption counter must equal the number sent.

Baseline in the same run: ``GET /healthz`` through the same server and client — what the
HTTP stack alone costs per request. Besides rates and latencies, each row gives the server
process's CPU per request (all its threads, from /proc), the load generator's, and, on PostgreSQL, that of the
backends serving it: per-request costs, which a busy machine disturbs less than rates.

    .venv/bin/python benchmarks/bench_web.py                  # about a minute
    .venv/bin/python benchmarks/bench_web.py --n 2000 --backend sqlite
    .venv/bin/python benchmarks/bench_web.py --threads default,0  # a server per sdk_threads setting
    .venv/bin/python benchmarks/bench_web.py --threads default,3/1  # 3 threads, one call per hand-off
    .venv/bin/python benchmarks/bench_web.py --gc-freeze      # the server frozen after start-up, as `o2o serve`
    .venv/bin/python benchmarks/bench_web.py --workers 2      # extra information: the target is one worker
    .venv/bin/python benchmarks/bench_web.py --rate 1000      # + latency at 1,000 req/s offered (open loop)

With ``--rate`` each server also gets an open-loop phase: ``--n`` more redemptions, request
``i`` due at ``i / rate`` seconds over the same 64 connections, its latency counted from when it
was due (so a wait for a free connection counts too). The closed-loop rows measure the most the
server does, where 64 clients always waiting make the mean latency 64 / throughput; the paced
row measures the latency at a given load, which is how a latency objective is usually stated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PG_ENVS = ("O2O_BENCH_POSTGRES_URL", "O2O_TEST_POSTGRES_URL")
TARGET_RPS = 1000
TARGET_P99_MS = 50.0
WARMUP = 200


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    server_cpu: float = 0.0  # CPU seconds of the server process (all its threads) during the phase
    db_cpu: float | None = None  # CPU seconds of the server's PostgreSQL backends during the phase
    client_cpu: float = 0.0  # CPU seconds of the load generator (this process) during the phase
    paced: float | None = None  # the offered rate of an open-loop phase (latency from each request's due time)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        """Server CPU per request: what the request path costs, less sensitive to a busy machine."""
        return self.server_cpu / self.requests * 1e6 if self.requests else 0.0

    @property
    def client_us(self) -> float:
        """The load generator's CPU per request: what it takes from the shared cores."""
        return self.client_cpu / self.requests * 1e6 if self.requests else 0.0

    @property
    def db_us(self) -> str:
        return f"{self.db_cpu / self.requests * 1e6:,.0f}" if self.db_cpu is not None and self.requests else "-"

    def pct(self, q: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000


# --------------------------------------------------------------------------- server process


def _sdk(url: str) -> Any:
    from o2o_sdk import O2O, Config, SigningKey

    return O2O(Config(database_url=url, secret_keys=(SigningKey("b", b"bench-secret-0123456789abcdef"),),
                      base_url="https://shop.example", auto_migrate=True))  # fmt: skip


def _app(sdk: Any, threads: int | None, batch: int | None) -> Any:
    from o2o_sdk.web import RateLimit, create_app

    extra = {} if batch is None else {"sdk_batch": batch}
    return create_app(sdk, validate_limit=RateLimit(10**9, 10**9), sdk_threads=threads, **extra)


def worker_app() -> Any:
    """The app of one worker process when ``--workers`` > 1 (uvicorn imports this factory)."""
    threads, batch = os.environ["O2O_BENCH_THREADS"], os.environ["O2O_BENCH_BATCH"]
    return _app(_sdk(os.environ["O2O_BENCH_URL"]), int(threads) if threads else None, int(batch) if batch else None)


def _serve(url: str, port: int, count: int, threads: int | None, batch: int | None, workers: int, freeze: bool,
           out: Any) -> None:  # fmt: skip
    import uvicorn

    from o2o_sdk import Discount, Store
    from o2o_sdk.web import ApiKeys

    sdk = _sdk(url)
    sdk.stores.add(Store("bench-store", "Benchmark Store", "Europe/London", 51.5136, -0.1365))
    offer = sdk.offers.create("bench", Discount.percent_off(10))
    tokens = [v.token for v in sdk.offers.issue_many(offer, count)]
    _, key = ApiKeys(sdk).create("bench-store")
    out.send({"key": key, "tokens": tokens, "offer": offer.id})
    if freeze:  # as `o2o serve` does once start-up is done
        import gc

        gc.collect()
        gc.freeze()
    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "loop": "uvloop" if _has("uvloop") else "asyncio",
                               "http": "httptools" if _has("httptools") else "h11", "access_log": False,
                               "log_level": "warning", "lifespan": "off"}  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT that stopped it
        if workers == 1:
            uvicorn.Server(uvicorn.Config(_app(sdk, threads, batch), workers=1, **options)).run()
        else:  # extra information only: the target is one worker
            os.environ.update(O2O_BENCH_URL=url, O2O_BENCH_THREADS="" if threads is None else str(threads),
                              O2O_BENCH_BATCH="" if batch is None else str(batch))  # fmt: skip
            sys.stdin = None  # type: ignore[assignment]  # uvicorn hands stdin to its workers; this process has none
            uvicorn.run("bench_web:worker_app", factory=True, workers=workers, app_dir=str(Path(__file__).parent), **options)
    out.send({"redeemed": sdk.offers.usage(offer.id).redeemed})
    sdk.close()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------- client


async def _load(port: int, requests: list[bytes], clients: int, time_limit: float,
                rate: float | None = None) -> tuple[float, list[float], int, int]:  # fmt: skip
    """Send ``requests`` over ``clients`` keep-alive connections. Closed loop (``rate`` None):
    each connection sends its next request when the answer to the last one arrives. Open loop:
    request ``i`` is due at ``i / rate`` seconds, whatever the answers before it, and a free
    connection sends it when it is due; its latency counts from then, so time spent waiting
    for a free connection is counted too (no coordinated omission)."""
    queue = iter(enumerate(requests))
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.monotonic() + time_limit
    began = time.perf_counter()

    async def worker() -> None:
        nonlocal errors, sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i, raw in queue:
                if time.monotonic() > deadline:
                    break
                if rate is None:
                    start = time.perf_counter()
                else:
                    start = began + i / rate
                    if (wait := start - time.perf_counter()) > 0:
                        await asyncio.sleep(wait)
                sent += 1
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                if head[9:12] not in (b"200", b"201"):
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - began, latencies, errors, sent


def _cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU of a process so far, with its child processes' if asked (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat") if children else [Path(f"/proc/{pid}/stat")]:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the benchmark's server (same application_name)."""
    if not url.startswith("postgresql"):
        return []
    from urllib.parse import parse_qs, urlsplit

    import psycopg

    name = parse_qs(urlsplit(url).query).get("application_name", [""])[0]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()", (name,))
        return [int(r[0]) for r in rows]


def _redeem_request(port: int, key: str, token: str) -> bytes:
    body = json.dumps({"token": token}).encode()
    return (
        f"POST /api/pos/v1/redeem HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Idempotency-Key: {secrets.token_hex(8)}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _run_backend(label: str, url: str, n: int, clients: int, time_limit: float, setting: tuple[int | None, int | None],
                 workers: int, freeze: bool = False, rate: float | None = None) -> list[Result]:  # fmt: skip
    threads, batch = setting
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    paced = n if rate else 0
    server = ctx.Process(target=_serve, args=(url, port, n + paced + WARMUP, threads, batch, workers, freeze, child))
    server.start()
    seed = parent.recv()
    _wait_port(port)
    key, tokens = seed["key"], seed["tokens"]
    if _has("uvloop"):
        import uvloop

        uvloop.install()
    health = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    asyncio.run(_load(port, [health] * 500, clients, time_limit))  # warm the stack
    many = workers > 1
    cpu, own = _cpu_seconds(server.pid, many), time.process_time()
    secs, lat, err, _ = asyncio.run(_load(port, [health] * n, clients, time_limit))
    baseline = Result(f"{label}: GET /healthz (baseline)", len(lat), secs, lat, err, _cpu_seconds(server.pid, many) - cpu,
                      client_cpu=time.process_time() - own)  # fmt: skip
    warm = [_redeem_request(port, key, t) for t in tokens[:WARMUP]]
    asyncio.run(_load(port, warm, clients, time_limit))
    work = [_redeem_request(port, key, t) for t in tokens[WARMUP:WARMUP + n]]
    pids = _backend_pids(url)  # the pool has grown during the warm-up
    cpu, db, own = _cpu_seconds(server.pid, many), sum(map(_cpu_seconds, pids)), time.process_time()
    secs, lat, err, _ = asyncio.run(_load(port, work, clients, time_limit))
    named = f"sdk_threads={threads}" if threads is not None else "default sdk_threads"
    if batch is not None:
        named += f", sdk_batch={batch}"
    if freeze:
        named += ", gc.freeze()"
    redeem = Result(f"{label}: POST /api/pos/v1/redeem ({named}{f', {workers} workers' if many else ''})", len(lat),
                    secs, lat, err, _cpu_seconds(server.pid, many) - cpu, sum(map(_cpu_seconds, pids)) - db if pids else None,
                    time.process_time() - own)  # fmt: skip
    results = [baseline, redeem]
    if rate:
        work = [_redeem_request(port, key, t) for t in tokens[WARMUP + n:]]
        cpu, db, own = _cpu_seconds(server.pid, many), sum(map(_cpu_seconds, pids)), time.process_time()
        secs, plat, perr, _ = asyncio.run(_load(port, work, clients, time_limit, rate))
        results.append(Result(f"{label}: POST /api/pos/v1/redeem ({named}{f', {workers} workers' if many else ''}), "
                              f"paced at {rate:,.0f} req/s", len(plat), secs, plat, perr,
                              _cpu_seconds(server.pid, many) - cpu, sum(map(_cpu_seconds, pids)) - db if pids else None,
                              time.process_time() - own, paced=rate))  # fmt: skip
        err += perr
        lat = lat + plat
    os.kill(server.pid, 2)  # SIGINT: uvicorn shuts down and the process reports the counter
    final = parent.recv() if parent.poll(30) else {}
    server.join(30)
    expected = WARMUP + len(lat)
    if err or final.get("redeemed") != expected:
        raise SystemExit(f"{label}: {err} failed requests; offer counter {final.get('redeemed')} != {expected} sent")
    return results


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise SystemExit("the server did not start")


@contextlib.contextmanager
def _pg_schema(base: str) -> Iterator[str]:
    from o2o_sdk.testing import postgres_schema

    with postgres_schema(base, prefix="o2o_bench") as url:
        # application_name (the schema's name) tells the server's backends apart, for their CPU time
        yield f"{url}&application_name={url.rsplit('search_path%3D', 1)[1]}"


def _setting(text: str) -> tuple[int | None, int | None]:
    """``default``, ``N`` (sdk_threads) or ``N/B`` (sdk_threads and sdk_batch)."""
    threads, _, batch = text.strip().partition("/")
    return (None if threads == "default" else int(threads)), (int(batch) if batch else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6000, help="redemptions per backend (default 6000)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per phase at most")
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument("--threads", default=os.environ.get("BENCH_THREADS", "default"),
                        help="create_app's sdk_threads[/sdk_batch], comma-separated for one server each: e.g. default,0,3/1 (default: the app's defaults)")  # fmt: skip
    parser.add_argument("--gc-freeze", action="store_true", help="freeze the server's start-up objects, as `o2o serve` does")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (the target is 1; more is extra information)")
    parser.add_argument("--rate", type=float, default=None,
                        help="also an open-loop phase: --n more redemptions due at this many per second over the same clients")  # fmt: skip
    args = parser.parse_args()
    settings = [_setting(t) for t in args.threads.split(",")]
    import httptools  # noqa: F401 - fail early with a clear message if the fast parser is missing
    import uvicorn

    print(f"# {platform.python_version()}, uvicorn {uvicorn.__version__}, uvloop {_has('uvloop')}, httptools {_has('httptools')},"
          f" {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {args.clients} clients, {args.n} redemptions")  # fmt: skip
    rows: list[Result] = []
    if args.backend in ("all", "sqlite"):
        for setting in settings:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
                rows += _run_backend("SQLite", url, args.n, args.clients, args.time_limit, setting, args.workers, args.gc_freeze,
                                     args.rate)  # fmt: skip
    pg = next((os.environ[e] for e in PG_ENVS if os.environ.get(e)), None)
    if args.backend in ("all", "postgresql"):
        if pg is None:
            print("# PostgreSQL skipped: set O2O_BENCH_POSTGRES_URL", file=sys.stderr)
        else:
            for setting in settings:
                with _pg_schema(pg) as url:
                    rows += _run_backend("PostgreSQL", url, args.n, args.clients, args.time_limit, setting, args.workers,
                                         args.gc_freeze, args.rate)  # fmt: skip
    print("| backend: request | requests | req/s | p50 (ms) | p99 (ms) | server CPU µs/request | PostgreSQL CPU µs/request "
          "| load generator CPU µs/request | target |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for r in rows:
        target = ""
        if r.paced:  # another reading, reported beside the target's: latency at a given load
            kept = r.rps >= 0.98 * r.paced
            target = f"p99 at this load {'≤' if r.pct(0.99) <= TARGET_P99_MS else '>'} {TARGET_P99_MS:.0f} ms" + ("" if kept else "; rate not kept")
        elif "redeem" in r.label:
            met = r.rps >= TARGET_RPS and r.pct(0.99) <= TARGET_P99_MS
            ok &= met
            target = "met" if met else "**not met**"
        print(f"| {r.label} | {r.requests} | {r.rps:,.0f} | {r.pct(0.50):.1f} | {r.pct(0.99):.1f} | {r.cpu_us:,.0f} | {r.db_us} "
              f"| {r.client_us:,.0f} | {target} |")  # fmt: skip
    for r in rows:
        if "redeem" in r.label:
            print(f"# {r.label}: mean latency {statistics.mean(r.latencies) * 1000:.1f} ms ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
