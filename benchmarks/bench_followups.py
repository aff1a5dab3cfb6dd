"""Follow-up delivery throughput, and the outbox's claim-and-complete overhead against a bare loop.

1. **Delivered per second to a loopback webhook sink**: N follow-ups in the outbox, then 1 or 4
   worker processes (``sdk.followups.run_once``) deliver them through the real o2o-webhook
   channel (signed JSON, httpx keep-alive) to an HTTP sink in its own process. The sink counts
   raw requests and distinct idempotency keys (duplicates must be 0 after dedupe; raw
   duplicates are reported too). Rate = N / (last worker end - first worker start), measured
   by the workers after their imports and connection setup.
2. **Claim and complete with a no-op channel** (no HTTP): the same workers and batch size, and
   in the same run and database a bare ``FOR UPDATE SKIP LOCKED`` loop written here (claim a
   batch with one UPDATE … RETURNING, mark it done with one UPDATE) over a minimal jobs table.
   The ratio is the outbox's overhead: send-time policy (contacts, consent, suppression, caps,
   quiet hours), templates, the send ledger, journal events.

Caps and quiet hours are off by default. ``--caps`` turns on frequency caps far above what the
run sends (1,000 per day and per week), so that every batch also takes its cap slots under the
per-customer lock — the price of caps that hold across workers.

    .venv/bin/python benchmarks/bench_followups.py [--n 3000] [--caps] [--pg postgresql://127.0.0.1:5432/test]

Needs o2o-webhook installed (``make`` does it) and PostgreSQL for the PostgreSQL rows.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

HERE = Path(__file__).resolve()
KEYS = "b:bench-secret-0123456789abcdef"
BATCH = 50


# ------------------------------------------------------------------ the sink (its own process)
def serve_sink(port_file: str) -> None:
    seen: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            key = self.headers.get("Idempotency-Key", "")
            with lock:
                seen[key] = seen.get(key, 0) + 1
            self._reply(b'{"ok":true}')

        def do_GET(self) -> None:
            with lock:
                stats = {"raw": sum(seen.values()), "distinct": len(seen)}
                if self.path == "/reset":
                    seen.clear()
            self._reply(json.dumps(stats).encode())

        def _reply(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


# ------------------------------------------------------------------ a worker (its own process)
def _config(url: str, sink: str, caps: bool = False) -> Any:
    from o2o_sdk import Config, FollowupSettings
    from o2o_sdk.tokens import parse_secret_keys

    cap = 1000 if caps else None
    settings = FollowupSettings(quiet_hours=None, cap_per_day=cap, cap_per_week=cap, batch_size=BATCH,
                                lease=timedelta(minutes=5))  # fmt: skip
    return Config(database_url=url, secret_keys=tuple(parse_secret_keys(KEYS)), base_url="https://shop.example",
                  followups=settings, plugin_config={"webhook": {"url": sink, "secret": "bench"}})  # fmt: skip


def run_worker(url: str, sink: str, go_file: str, noop: bool, caps: bool) -> None:
    from o2o_sdk import O2O, ChannelBase, DeliveryResult, FollowUpTemplate

    class Noop(ChannelBase):
        name = "webhook"
        requires_consent = False

        def address(self, contact: Any) -> str:
            return str(contact.customer_id)

        def send(self, message: Any, idempotency_key: str) -> DeliveryResult:
            return DeliveryResult()

    with O2O(_config(url, sink, caps)) as sdk:
        sdk.followups.add_template(FollowUpTemplate("ping", "Ping $customer_id", "Hello $name ($customer_id)"))
        if noop:
            sdk.followups.channels.add(Noop())
        else:
            sdk.followups.channels.get("webhook")
        sdk.followups.counts()  # connections open before the clock starts
        while not os.path.exists(go_file):
            time.sleep(0.001)
        start = time.time()
        counts = sdk.followups.run_once(plan=False)
        end = time.time()
    print(json.dumps({"start": start, "end": end, **counts.as_dict()}), flush=True)


def run_bare_worker(url: str, go_file: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        while not os.path.exists(go_file):
            time.sleep(0.001)
        start = time.time()
        done = 0
        while True:
            with conn.transaction():
                rows = conn.execute(
                    "UPDATE bench_jobs SET status = 'claimed', attempts = attempts + 1 WHERE id IN ("
                    " SELECT id FROM bench_jobs WHERE status = 'pending' AND due_at <= now() ORDER BY due_at"
                    " LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id, payload",
                    (BATCH,),
                ).fetchall()
            if not rows:
                break
            with conn.transaction():
                conn.execute("UPDATE bench_jobs SET status = 'done', done_at = now() WHERE id = ANY(%s)", ([r[0] for r in rows],))
            done += len(rows)
        end = time.time()
    print(json.dumps({"start": start, "end": end, "sent": done}), flush=True)


# ------------------------------------------------------------------ the parent
def _pg_schema(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"bench_fu_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", schema


def _drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _fill(url: str, n: int, customers: int = 200) -> None:
    from o2o_sdk import O2O, FollowUpPlan

    with O2O(_config(url, "http://127.0.0.1:9/unused"), auto_migrate=True) as sdk:
        for i in range(customers):
            sdk.followups.contacts.upsert(f"c{i}", email=f"c{i}@example.com", name=f"Customer {i}")
        outbox, planner = sdk.followups._outbox, sdk.followups._planner
        now = sdk.clock.now()
        rows = [planner.row(FollowUpPlan("bench", "webhook", "ping", f"c{i % customers}", f"bench:{i}"), now, None, now)
                for i in range(n)]  # fmt: skip
        with outbox.transaction() as tx:
            outbox.insert_many(tx, [r for r in rows if r is not None])


def _run(args: list[str], workers: int, go: Path) -> list[dict[str, Any]]:
    go.unlink(missing_ok=True)
    procs = [subprocess.Popen([sys.executable, str(HERE), *args], stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    time.sleep(2.5)  # imports and connections
    go.write_text("go")
    out = []
    for p in procs:
        stdout, _ = p.communicate(timeout=600)
        if p.returncode != 0:
            raise SystemExit(f"worker failed ({p.returncode})")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    go.unlink(missing_ok=True)
    return out


def _rate(results: list[dict[str, Any]], n: int) -> float:
    span = max(r["end"] for r in results) - min(r["start"] for r in results)
    return n / span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="follow-ups per run (default 3000)")
    parser.add_argument("--pg", default=os.environ.get("O2O_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test"))
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--caps", action="store_true", help="frequency caps on (never reached): cap slots are taken")
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="o2o-bench-fu-"))
    go = tmp / "go"
    port_file = tmp / "port"
    sink_proc = subprocess.Popen([sys.executable, str(HERE), "--sink", str(port_file)])
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    sink = f"http://127.0.0.1:{port_file.read_text()}/hook"
    http = httpx.Client()
    rows: list[str] = []
    try:
        backends: list[tuple[str, list[int]]] = [("sqlite", [1])]
        if not opts.skip_pg:
            backends.insert(0, ("postgresql", [1, 4]))
        for backend, worker_counts in backends:
            for workers in worker_counts:
                for noop in (False, True):
                    if backend == "postgresql":
                        url, schema = _pg_schema(opts.pg)
                    else:
                        url, schema = f"sqlite:///{tmp / f'bench-{workers}-{noop}.db'}", ""
                    _fill(url, opts.n)
                    http.get(sink.replace("/hook", "/reset"))
                    mode = ["--worker", url, sink, str(go), "noop" if noop else "http", "caps" if opts.caps else "nocaps"]
                    results = _run(mode, workers, go)
                    stats = http.get(sink.replace("/hook", "/stats")).json()
                    sent = sum(r["sent"] for r in results)
                    rate = _rate(results, opts.n)
                    what = "no-op channel" if noop else "webhook → loopback sink"
                    dup = f"{stats['raw'] - stats['distinct']} raw / 0 after dedupe" if not noop else "-"
                    if not noop:
                        assert stats["distinct"] == opts.n, stats
                    bare = ""
                    if noop and backend == "postgresql":
                        _bare_table(opts.pg, schema, opts.n)
                        bare_results = _run(["--bare", url, str(go)], workers, go)
                        bare_rate = _rate(bare_results, opts.n)
                        bare = f"{bare_rate:,.0f}/s; outbox overhead {bare_rate / rate:.1f}x"
                    rows.append(f"| {backend} | {workers} | {what} | {opts.n:,} | {sent:,} | {rate:,.0f} | {dup} | {bare or '-'} |")
                    print(rows[-1], flush=True)
                    if schema:
                        _drop_schema(opts.pg, schema)
    finally:
        http.close()
        sink_proc.terminate()
    print()
    caps = "caps on (1,000/day, never reached)" if opts.caps else "caps off"
    print(f"Run {datetime.now(UTC):%Y-%m-%d}, batch {BATCH}, {caps}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("| backend | workers | channel | follow-ups | sent | delivered/s | duplicates at the sink | bare SKIP LOCKED loop |")
    print("|---|---:|---|---:|---:|---:|---|---|")
    print("\n".join(rows))


def _bare_table(base: str, schema: str, n: int) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute(
            "CREATE TABLE bench_jobs (id BIGSERIAL PRIMARY KEY, status TEXT NOT NULL, due_at TIMESTAMPTZ NOT NULL,"
            " attempts INT NOT NULL DEFAULT 0, payload TEXT, done_at TIMESTAMPTZ)"
        )
        conn.execute("CREATE INDEX bench_jobs_due ON bench_jobs (status, due_at)")
        conn.execute("INSERT INTO bench_jobs (status, due_at, payload) SELECT 'pending', now(), 'x' FROM generate_series(1, %s)", (n,))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sink"]:
        serve_sink(sys.argv[2])
    elif sys.argv[1:2] == ["--worker"]:
        run_worker(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "noop", sys.argv[6:7] == ["caps"])
    elif sys.argv[1:2] == ["--bare"]:
        run_bare_worker(sys.argv[2], sys.argv[3])
    else:
        main()
