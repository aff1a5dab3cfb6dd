"""Voucher token verification throughput: the SDK path against raw itsdangerous.

* **SDK** — ``sdk.offers.verify(token)``: shape check, key lookup, HMAC through the
  SDK signer (:meth:`o2o_sdk.tokens.KeyringSigner.verify`), payload decode, expiry check
  against the SDK clock.
* **signer only** — ``sdk.signer.verify(token, "voucher")`` (no payload decode or expiry).
* **baseline** — raw :meth:`itsdangerous.Signer.unsign` on the same token, with the very
  Signer configuration the SDK uses (:func:`o2o_sdk.tokens.make_itsdangerous_signer`).

One process, one core. Each variant runs ``--repeat`` times ``--n`` calls (timeit, no
per-call lambda, runs of the variants interleaved); the table reports the best run and the
median. ``--profile`` adds a cost
breakdown of the SDK path and a cProfile listing.

    .venv/bin/python benchmarks/bench_tokens.py            # about 30 s
    .venv/bin/python benchmarks/bench_tokens.py --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import statistics
import sys
import tempfile
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from o2o_sdk import O2O, Config, Discount, SigningKey
from o2o_sdk.tokens import decode_voucher_payload, make_itsdangerous_signer

PURPOSE = "voucher"
KEY = SigningKey("b", b"bench-secret-0123456789abcdef")
#: Exactly 30 characters after the scheme: the longest origin the QR budget allows.
ORIGIN = "https://o2o-benchmark-shop.example.com"
TARGET_PER_S = 50_000
TARGET_RATIO = 1.5


def measure(variants: dict[str, tuple[str, dict[str, Any]]], n: int, repeat: int) -> dict[str, list[float]]:
    """Calls per second of ``repeat`` runs of ``n`` calls per variant.

    Runs are interleaved (round 1 of every variant, then round 2, ...), so a change in the
    machine's load during the measurement hits all variants alike.
    """
    timers = {name: timeit.Timer(stmt, globals=env) for name, (stmt, env) in variants.items()}
    for timer in timers.values():
        timer.timeit(max(1, n // 10))  # warm up
    rates: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(repeat):
        for name, timer in timers.items():
            rates[name].append(n / timer.timeit(n))
    return rates


def per_call_ns(fn: Callable[[], object], n: int, repeat: int) -> float:
    """Best per-call cost of ``fn()`` in nanoseconds (includes ~30 ns of call overhead)."""
    timer = timeit.Timer(fn)
    return min(timer.repeat(repeat=repeat, number=n)) / n * 1e9


def profile(sdk: O2O, token: str, n: int, repeat: int) -> None:
    raw = make_itsdangerous_signer(KEY.secret, PURPOSE)
    signer = sdk.signer
    payload = signer.verify(token, PURPOSE)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("raw Signer.unsign (baseline)", lambda: raw.unsign(token)),
        ("KeyringSigner.verify (incl. unsign)", lambda: signer.verify(token, PURPOSE)),
        ("decode_voucher_payload", lambda: decode_voucher_payload(payload)),
        ("sdk.clock.now()", sdk.clock.now),
        ("sdk.offers.verify (all)", lambda: sdk.offers.verify(token)),
    ]
    cost = {name: per_call_ns(fn, n, repeat) for name, fn in steps}
    unsign, keyring, decode, now, total = cost.values()
    print("\n### Where the time goes (per call, best of runs)\n")
    print("| step | ns/call |")
    print("|---|---:|")
    for name, ns in cost.items():
        print(f"| {name} | {ns:,.0f} |")
    print(f"| → KeyringSigner overhead over unsign | {keyring - unsign:,.0f} |")
    print(f"| → offers.verify rest (calls, expiry compare) | {total - keyring - decode - now:,.0f} |")
    print(f"| → SDK overhead over baseline, total | {total - unsign:,.0f} |")

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        sdk.offers.verify(token)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
    print(f"\n### cProfile, {n:,} x sdk.offers.verify, by own time\n\n```")
    print("\n".join(line.rstrip() for line in out.getvalue().splitlines() if line.strip()))
    print("```")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200_000, help="verifications per run (default 200000)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per variant (default 7)")
    parser.add_argument("--profile", action="store_true", help="also print a cost breakdown and cProfile")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="o2o-bench-") as tmp:
        config = Config(
            database_url=f"sqlite:///{Path(tmp) / 'tokens.db'}", secret_keys=(KEY,),
            base_url=ORIGIN, auto_migrate=True, load_entrypoints=False,
        )  # fmt: skip
        with O2O(config) as sdk:
            offer = sdk.offers.create("Benchmark", Discount.percent_off(10))
            voucher = sdk.offers.issue(offer)
            token = voucher.token
            raw = make_itsdangerous_signer(KEY.secret, PURPOSE)
            # Same token, same answer, before anything is timed.
            assert sdk.offers.verify(token).voucher_id == voucher.id
            assert raw.unsign(token) == token.rsplit(".", 1)[0].encode()
            url = sdk.offers.url(voucher)
            qr = sdk.offers.qr(voucher)

            variants: dict[str, tuple[str, dict[str, Any]]] = {
                "raw itsdangerous `Signer.unsign` (baseline)": ("unsign(token)", {"unsign": raw.unsign}),
                "SDK signer `KeyringSigner.verify`": ("verify(token, purpose)", {"verify": sdk.signer.verify}),
                "SDK `sdk.offers.verify`": ("verify(token)", {"verify": sdk.offers.verify}),
            }
            for _, env in variants.values():
                env.update(token=token, purpose=PURPOSE)
            results = measure(variants, args.n, args.repeat)

            base_best = max(results[next(iter(results))])
            sdk_best = max(results["SDK `sdk.offers.verify`"])
            ratio = base_best / sdk_best
            print(f"## Token verification — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
            print(
                f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs visible, one process;"
                f" {args.repeat} runs x {args.n:,} verifications each.\n"
            )
            print("| variant | verifications/s (best) | median | µs/verify (best) | time vs baseline |")
            print("|---|---:|---:|---:|---:|")
            for name, rates in results.items():
                best = max(rates)
                print(
                    f"| {name} | {best:,.0f} | {statistics.median(rates):,.0f} | {1e6 / best:.2f} |"
                    f" {base_best / best:.2f}x |"
                )
            print()
            print(f"Token: {len(token)} characters (`{token}`); link for a 30-character origin: {len(url)} bytes,")
            print(f"QR version {qr.version}, error correction {qr.error}.\n")
            ok_rate = sdk_best >= TARGET_PER_S
            ok_ratio = ratio <= TARGET_RATIO
            print(f"- target ≥ {TARGET_PER_S:,}/s: {'met' if ok_rate else 'MISSED'} ({sdk_best:,.0f}/s)")
            print(f"- target ≤ {TARGET_RATIO}x baseline time: {'met' if ok_ratio else 'MISSED'} ({ratio:.2f}x)")
            if args.profile:
                profile(sdk, token, max(10_000, args.n // 10), args.repeat)
    return 0  # a missed target is a finding, not an error: the table says so


if __name__ == "__main__":
    sys.exit(main())
