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
HTTP stack alone costs per request.

    .venv/bin/python benchmarks/bench_web.py                  # about a minute
    .venv/bin/python benchmarks/bench_web.py --n 2000 --backend sqlite
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
from urllib.parse import quote

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

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000


# --------------------------------------------------------------------------- server process


def _serve(url: str, port: int, count: int, out: Any) -> None:
    import uvicorn

    from o2o_sdk import O2O, Config, Discount, SigningKey, Store
    from o2o_sdk.web import ApiKeys, RateLimit, create_app

    sdk = O2O(Config(database_url=url, secret_keys=(SigningKey("b", b"bench-secret-0123456789abcdef"),),
                     base_url="https://shop.example", auto_migrate=True))  # fmt: skip
    sdk.stores.add(Store("bench-store", "Benchmark Store", "Europe/London", 51.5136, -0.1365))
    offer = sdk.offers.create("bench", Discount.percent_off(10))
    tokens = [v.token for v in sdk.offers.issue_many(offer, count)]
    _, key = ApiKeys(sdk).create("bench-store")
    app = create_app(sdk, validate_limit=RateLimit(10**9, 10**9), sdk_threads=int(os.environ["BENCH_THREADS"]) if "BENCH_THREADS" in os.environ else None)
    out.send({"key": key, "tokens": tokens, "offer": offer.id})
    loop = "uvloop" if _has("uvloop") else "asyncio"
    http = "httptools" if _has("httptools") else "h11"
    config = uvicorn.Config(app, host="127.0.0.1", port=port, workers=1, loop=loop, http=http,
                            access_log=False, log_level="warning", lifespan="off")  # fmt: skip
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT that stopped it
        server.run()
    out.send({"redeemed": sdk.offers.usage(offer.id).redeemed})
    sdk.close()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------- client


async def _load(port: int, requests: list[bytes], clients: int, time_limit: float) -> tuple[float, list[float], int, int]:
    queue = iter(requests)
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.monotonic() + time_limit

    async def worker() -> None:
        nonlocal errors, sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for raw in queue:
                if time.monotonic() > deadline:
                    break
                sent += 1
                start = time.perf_counter()
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

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - began, latencies, errors, sent


def _redeem_request(port: int, key: str, token: str) -> bytes:
    body = json.dumps({"token": token}).encode()
    return (
        f"POST /api/pos/v1/redeem HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Idempotency-Key: {secrets.token_hex(8)}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _run_backend(label: str, url: str, n: int, clients: int, time_limit: float) -> tuple[Result, Result]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(url, port, n + WARMUP, child), daemon=True)
    server.start()
    seed = parent.recv()
    _wait_port(port)
    key, tokens = seed["key"], seed["tokens"]
    if _has("uvloop"):
        import uvloop

        uvloop.install()
    health = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    asyncio.run(_load(port, [health] * 500, clients, time_limit))  # warm the stack
    secs, lat, err, _ = asyncio.run(_load(port, [health] * n, clients, time_limit))
    baseline = Result(f"{label}: GET /healthz (baseline)", len(lat), secs, lat, err)
    warm = [_redeem_request(port, key, t) for t in tokens[:WARMUP]]
    asyncio.run(_load(port, warm, clients, time_limit))
    work = [_redeem_request(port, key, t) for t in tokens[WARMUP:]]
    secs, lat, err, _ = asyncio.run(_load(port, work, clients, time_limit))
    redeem = Result(f"{label}: POST /api/pos/v1/redeem", len(lat), secs, lat, err)
    os.kill(server.pid, 2)  # SIGINT: uvicorn shuts down and the process reports the counter
    final = parent.recv() if parent.poll(30) else {}
    server.join(30)
    expected = WARMUP + len(lat)
    if err or final.get("redeemed") != expected:
        raise SystemExit(f"{label}: {err} failed requests; offer counter {final.get('redeemed')} != {expected} sent")
    return baseline, redeem


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise SystemExit("the server did not start")


@contextlib.contextmanager
def _pg_schema(base: str) -> Iterator[str]:
    import psycopg

    schema = f"o2o_bench_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6000, help="redemptions per backend (default 6000)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per phase at most")
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    args = parser.parse_args()
    import httptools  # noqa: F401 - fail early with a clear message if the fast parser is missing
    import uvicorn

    print(f"# {platform.python_version()}, uvicorn {uvicorn.__version__}, uvloop {_has('uvloop')}, httptools {_has('httptools')},"
          f" {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {args.clients} clients, {args.n} redemptions")  # fmt: skip
    rows: list[Result] = []
    if args.backend in ("all", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            rows += _run_backend("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.n, args.clients, args.time_limit)
    pg = next((os.environ[e] for e in PG_ENVS if os.environ.get(e)), None)
    if args.backend in ("all", "postgresql"):
        if pg is None:
            print("# PostgreSQL skipped: set O2O_BENCH_POSTGRES_URL", file=sys.stderr)
        else:
            with _pg_schema(pg) as url:
                rows += _run_backend("PostgreSQL", url, args.n, args.clients, args.time_limit)
    print("| backend: request | requests | req/s | p50 (ms) | p99 (ms) | target |")
    print("|---|---:|---:|---:|---:|---|")
    ok = True
    for r in rows:
        target = ""
        if "redeem" in r.label:
            met = r.rps >= TARGET_RPS and r.pct(0.99) <= TARGET_P99_MS
            ok &= met
            target = "met" if met else "**not met**"
        print(f"| {r.label} | {r.requests} | {r.rps:,.0f} | {r.pct(0.50):.1f} | {r.pct(0.99):.1f} | {target} |")
    print(f"# mean latency of redeem: {statistics.mean(rows[-1].latencies) * 1000:.1f} ms" if rows else "")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
