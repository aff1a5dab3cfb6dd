"""PostgreSQL alone: one offer's redemptions without caps, counted in shard rows or on the offer's row.

The SDK redeems a voucher of an offer without caps in one statement
(``PostgresStorage.try_redeem_statement``): it marks the voucher redeemed, inserts the
redemption, the idempotency record and the journal event, and adds to the offer's counters.
Since schema version 11 those counters go to one of the offer's rows in
``offer_usage_shards``, chosen by the connection. The **baseline** is the same statement with
the counters on the offer's own row, as before: every redemption of the offer then holds that
row's lock until its commit (a WAL flush), so concurrent redemptions of one offer queue there.

The database is measured alone, without Python in the loop: pgbench (PostgreSQL's own load
generator, written in C and cheap on the shared cores) runs the SDK's statement, with the
parameters the SDK gives it, over ``--clients`` connections, each redemption a distinct
pre-issued voucher. A web server in Python on the same two cores cannot feed it this fast
(``bench_web.py``); what this shows is the ceiling the database puts on one offer, which is
what an installation with several app servers meets. Both variants run in the same schema,
interleaved, ``--rounds`` times; afterwards every voucher redeemed must be counted once.

    O2O_BENCH_POSTGRES_URL=postgresql://127.0.0.1:5432/test .venv/bin/python benchmarks/bench_pg_counters.py
    .venv/bin/python benchmarks/bench_pg_counters.py --clients 3,8,16 --per-client 1500

Needs PostgreSQL (``O2O_BENCH_POSTGRES_URL`` or ``O2O_TEST_POSTGRES_URL``) and pgbench (on PATH
or in ``/usr/lib/postgresql/*/bin``, from the PostgreSQL server package).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PG_ENVS = ("O2O_BENCH_POSTGRES_URL", "O2O_TEST_POSTGRES_URL")
#: The baseline's counters: the offer's own row, as the statement was before schema version 11.
ROW_COUNTERS = (
    "off AS (UPDATE offers SET redeemed_count = redeemed_count + 1, spent_minor = spent_minor + %s"
    " WHERE id = %s AND EXISTS (SELECT 1 FROM vou))"
)


def _pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


def _literal(value: Any) -> str:
    """A parameter as an SQL literal (the bench's own values: strings, numbers, times, None).

    Strings are escape strings with every colon written ``\\x3a``: pgbench would take a
    colon followed by a name (``07:41``, ``"minor":100``) for one of its variables."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return _literal(value.isoformat()) + "::timestamptz"
    text = str(value).replace("\\", "\\\\").replace("'", "''").replace(":", "\\x3a")
    return f"E'{text}'"


def _script(sql: str, params: list[Any], varying: dict[str, str]) -> str:
    """A pgbench script running ``sql`` once per transaction: each ``%s`` becomes its
    parameter as a literal, or, for a value that must differ per redemption (voucher,
    redemption and key ids), a lookup of transaction ``n``'s value in ``bench_work``."""
    values = iter(params)

    def fill(_: re.Match[str]) -> str:
        value = next(values)
        column = varying.get(value) if isinstance(value, str) else None
        if column is not None:
            return f"(SELECT {column} FROM bench_work WHERE n = :n)"
        return _literal(value)

    body = re.sub(r"%s", fill, sql)
    assert next(values, None) is None, "every parameter has a place"
    # Each client takes its own range of rows: n = client_id * stride + i.
    return "\\set i :i + 1\n\\set n :client_id * :stride + :i\n" + body.replace("%%", "%") + ";\n"


def _row_counters(sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """The SDK's statement with its shard-row upsert replaced by the offer row's update."""
    shard = re.search(r"off AS \(INSERT INTO offer_usage_shards .*?EXCLUDED\.spent_minor\)", sql)
    assert shard is not None, "the statement counts in offer_usage_shards"
    at = sql[: shard.start()].count("%s")  # its parameters: offer id, then the amount
    offer_id, spent = params[at], params[at + 1]
    return sql[: shard.start()] + ROW_COUNTERS + sql[shard.end():], [*params[:at], spent, offer_id, *params[at + 2:]]


def _run(pgbench: str, url: str, script: Path, clients: int, per_client: int, stride: int, start: int) -> dict[str, float]:
    parts = urlsplit(url)
    options = parse_qs(parts.query).get("options", [""])[0]
    env = dict(os.environ, PGOPTIONS=options)
    cmd = [pgbench, "-n", "-M", "prepared", "-f", str(script), "-c", str(clients), "-j", "1", "-t", str(per_client),
           "-D", f"i={start}", "-D", f"stride={stride}", "-h", parts.hostname or "127.0.0.1",
           "-p", str(parts.port or 5432), "-U", parts.username or os.environ.get("USER", "postgres"),
           parts.path.lstrip("/") or "postgres"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    out = done.stdout + done.stderr
    tps = re.search(r"tps = ([0-9.]+)", out)
    lat = re.search(r"latency average = ([0-9.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if done.returncode != 0 or tps is None or lat is None or (failed and int(failed.group(1))):
        errors = [line for line in out.splitlines() if "error" in line.lower()] or out.strip().splitlines()[-1:]
        raise SystemExit(f"pgbench failed (exit {done.returncode}): {errors[0] if errors else ''}")
    return {"tps": float(tps.group(1)), "latency_ms": float(lat.group(1))}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", default="3,8", help="pgbench connections, comma-separated (default 3,8)")
    parser.add_argument("--per-client", type=int, default=1200, help="redemptions per connection per run (default 1200)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of both variants (default 2)")
    args = parser.parse_args()
    base = next((os.environ[e] for e in PG_ENVS if os.environ.get(e)), None)
    pgbench = _pgbench()
    if not base or not pgbench:
        print(f"skipped: needs PostgreSQL ({PG_ENVS[0]} or {PG_ENVS[1]}) and pgbench; "
              f"found {'a URL' if base else 'no URL'} and {pgbench or 'no pgbench'}")  # fmt: skip
        return 0
    clients = [int(c) for c in args.clients.split(",")]
    stride = args.per_client * args.rounds * 2 * len(clients) + 1  # a connection's rows for every run
    total = max(clients) * stride

    import psycopg

    from o2o_sdk import O2O, Config, Discount, JournalEvent, Money, Redemption, SigningKey, Store
    from o2o_sdk.models import AppliedDiscount, EventType
    from o2o_sdk.storage.postgres import PostgresStorage
    from o2o_sdk.testing import postgres_schema

    with postgres_schema(base, prefix="o2o_bench") as url, tempfile.TemporaryDirectory(prefix="o2o-bench-") as tmp:
        sdk = O2O(Config(database_url=url, secret_keys=(SigningKey("b", b"bench-secret-0123456789abcdef"),),
                         base_url="https://shop.example", auto_migrate=True))  # fmt: skip
        storage = sdk.storage
        assert isinstance(storage, PostgresStorage)
        sdk.stores.add(Store("bench-store", "Benchmark Store", "Europe/London", 51.5136, -0.1365))
        offer = sdk.offers.create("bench", Discount.amount_off(Money(100, "GBP")))
        print(f"issuing {total:,} vouchers ...", file=sys.stderr)
        vouchers = []
        for start in range(0, total, 5000):
            vouchers += sdk.offers.issue_many(offer, min(5000, total - start))
            print(f"  {len(vouchers):,}/{total:,}", file=sys.stderr)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_work (n INTEGER PRIMARY KEY, voucher_id TEXT, redemption_id TEXT, idem_key TEXT)")
            with conn.cursor().copy("COPY bench_work (n, voucher_id, redemption_id, idem_key) FROM STDIN") as copy:
                for n, v in enumerate(vouchers):
                    copy.write_row((n, v.id, f"red_bench_{n}", f"bench-key-{n}"))
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        # The SDK's statement and parameters for a template redemption with an idempotency key.
        now = datetime.now(UTC)
        discount = AppliedDiscount(offer.discount.kind, Money(100, "GBP"), None, None, offer.discount.describe())
        red = Redemption(id="red_template", voucher_id="vou_template", offer_id=offer.id, store_id="bench-store",
                         customer_id=None, discount=discount, redeemed_at=now, idempotency_key="key_template")  # fmt: skip
        event = JournalEvent(EventType.REDEEMED, now, offer.id, red.voucher_id, "bench-store", None,
                             {"redemption_id": red.id, "discount_minor": 100, "currency": "GBP"})  # fmt: skip
        result = sdk.converter.unstructure(red)  # as the SDK stores it under the key
        sql, params = storage.try_redeem_statement(red, event, now, idempotent=("key_template", "redeem", "0" * 64, json.dumps(result)))
        varying = {"vou_template": "voucher_id", "red_template": "redemption_id", "key_template": "idem_key"}
        scripts = {"shard rows (the SDK)": _script(sql, params, varying),
                   "the offer's row (baseline)": _script(*_row_counters(sql, params), varying)}  # fmt: skip
        paths: dict[str, Path] = {}
        for i, (label, text) in enumerate(scripts.items()):
            paths[label] = Path(tmp) / f"variant{i}.sql"
            paths[label].write_text(text)
            if os.environ.get("BENCH_DUMP"):
                print(text, file=sys.stderr)
        results: dict[tuple[str, int], list[dict[str, float]]] = {}
        start = 0
        load = os.getloadavg()[0]
        for rnd in range(args.rounds):
            for c in clients:
                for label in ("the offer's row (baseline)", "shard rows (the SDK)"):
                    print(f"round {rnd + 1}: {label}, {c} connections ...", file=sys.stderr)
                    results.setdefault((label, c), []).append(_run(pgbench, url, paths[label], c, args.per_client, stride, start))
                    start += args.per_client
        usage = sdk.offers.usage(offer.id)
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT COUNT(*) FROM redemptions").fetchone()[0]  # type: ignore[index]
        sdk.close()
        expected = sum(c * args.per_client for (_, c), runs in results.items() for _ in runs)
        if usage.redeemed != rows or rows != expected:
            raise SystemExit(f"counted {usage.redeemed}, {rows} redemption rows, {expected} expected")

    print(f"\n## One offer's redemptions without caps, PostgreSQL alone — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(f"PostgreSQL {version}, {os.cpu_count()} CPUs, load {load:.1f}; pgbench, prepared statements, "
          f"{args.per_client:,} redemptions per connection per run, {args.rounds} rounds (interleaved). "
          f"Every redemption counted once: {usage.redeemed:,}.\n")  # fmt: skip
    print("| counters on | connections | redemptions/s (per round) | mean latency ms (per round) | shard rows / offer's row |")
    print("|---|---:|---:|---:|---:|")
    for c in clients:
        base_runs = results[("the offer's row (baseline)", c)]
        for label in ("the offer's row (baseline)", "shard rows (the SDK)"):
            runs = results[(label, c)]
            rates = " / ".join(f"{r['tps']:,.0f}" for r in runs)
            lats = " / ".join(f"{r['latency_ms']:.2f}" for r in runs)
            ratio = sum(r["tps"] for r in runs) / sum(r["tps"] for r in base_runs)
            print(f"| {label} | {c} | {rates} | {lats} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
