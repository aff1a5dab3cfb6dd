"""A POS simulator: an in-house till using ``o2o_sdk.web.client.POSClient`` against ``o2o serve``.

    o2o serve                                   # terminal 1: demo shop on http://127.0.0.1:8000
    python examples/pos-simulator/simulate.py   # terminal 2: reads o2o-web-demo/demo.json

or give everything explicitly::

    python simulate.py --base-url http://127.0.0.1:8000 --key o2o_… --voucher http://…/o/…

The till scans the voucher, checks it against the basket, redeems it (and retries the same
sale, as a till does after a network hiccup: same redemption), tries the voucher again
(refused), then voids the sale (refund) and redeems it in a new sale.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from o2o_sdk import Basket, BasketItem, Money, RedemptionRefused
from o2o_sdk.web.client import POSClient


def run(base_url: str, key: str, voucher: str, *, out: list[str] | None = None) -> int:
    """Play one customer's visit; lines go to ``out`` (default: printed). Returns an exit code."""
    lines = out if out is not None else []

    def say(text: str) -> None:
        lines.append(text)
        if out is None:
            print(text)

    basket = Basket(Money.of("8.40", "GBP"), (BasketItem("flat-white", 2, Money.of("3.20", "GBP")),
                                              BasketItem("cardamom-bun", 1, Money.of("2.00", "GBP"))))  # fmt: skip
    with POSClient(base_url, key) as pos:
        me = pos.me()
        say(f"till of store {me.store_id} (key {me.key_id})")
        check = pos.validate(voucher, basket=basket)
        if not check.ok or check.discount is None:
            say("refused: " + ", ".join(r.code.value for r in check.refusals))
            return 1
        say(f"valid: {check.discount.description} = {check.discount.amount}")
        sale = f"sale-{uuid.uuid4().hex[:12]}"
        first = pos.redeem(voucher, basket=basket, idempotency_key=sale)
        retry = pos.redeem(voucher, basket=basket, idempotency_key=sale)
        say(f"redeemed {first.id}; retry of {sale} returned {'the same redemption' if retry.id == first.id else retry.id}")
        try:
            pos.redeem(voucher, basket=basket, idempotency_key=f"sale-{uuid.uuid4().hex[:12]}")
        except RedemptionRefused as exc:
            say("second use refused: " + ", ".join(r.value for r in exc.reasons))
        else:
            say("second use was NOT refused")
            return 1
        voided = pos.void(first.id, "customer returned the items")
        say(f"voided {voided.id}: {voided.void_reason}")
        again = pos.redeem(voucher, basket=basket, idempotency_key=f"sale-{uuid.uuid4().hex[:12]}")
        say(f"redeemed again after the refund: {again.id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default="o2o-web-demo/demo.json", help="demo.json written by o2o serve")
    parser.add_argument("--base-url")
    parser.add_argument("--key", help="a store API key (o2o keys create --store S)")
    parser.add_argument("--voucher", help="voucher link or token")
    args = parser.parse_args(argv)
    if not (args.base_url and args.key and args.voucher):
        path = Path(args.demo)
        if not path.exists():
            parser.error(f"{path} not found: start 'o2o serve' first, or give --base-url, --key and --voucher")
        demo = json.loads(path.read_text(encoding="utf-8"))
        args.base_url = args.base_url or demo["base_url"]
        args.key = args.key or demo["store_key"]
        args.voucher = args.voucher or demo["voucher_url"]
    return run(args.base_url, args.key, args.voucher)


if __name__ == "__main__":
    sys.exit(main())
