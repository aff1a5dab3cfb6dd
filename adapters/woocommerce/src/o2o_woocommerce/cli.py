"""``o2o woocommerce …`` commands (loaded only when such a command runs)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from o2o_sdk import InvalidInput

if TYPE_CHECKING:
    from o2o_sdk import O2O

    from .adapter import WooCommerceAdapter

__all__ = ["run"]


def _adapter(sdk: O2O) -> WooCommerceAdapter:
    from .adapter import WooCommerceAdapter

    adapter = sdk.adapters.get("woocommerce")
    if not isinstance(adapter, WooCommerceAdapter):  # pragma: no cover - another plugin took the name
        raise InvalidInput("The 'woocommerce' adapter registered here is not o2o-woocommerce's.")
    return adapter


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--after {text!r} is not an ISO 8601 time like 2026-06-01T00:00:00Z.") from None
    if value.tzinfo is None:
        raise InvalidInput(f"--after {text!r} needs a time zone (e.g. Z or +02:00).")
    return value


def run(sdk: O2O, args: argparse.Namespace) -> int:
    """Run one ``o2o woocommerce`` action."""
    action = args.woocommerce_command
    if action == "mirror-offer":
        mirror = sdk.adapters.mirror_offer("woocommerce", args.offer, args.code)
        print(f"offer {mirror.offer_id} is WooCommerce coupon {mirror.code} (id {mirror.discount_id})")
        return 0
    if action == "sync-usage":
        for m in sdk.adapters.sync_usage("woocommerce", args.offer):
            print(f"{m.offer_id}\t{m.code}\tused {m.usage_count}")
        return 0
    if action == "customer":
        found = sdk.adapters.lookup_customer("woocommerce", args.email)
        if found is None:
            print(f"no WooCommerce customer with email {args.email}")
            return 1
        print(f"{found.id}\t{found.email}\t{' '.join(filter(None, [found.first_name, found.last_name]))}")
        return 0
    adapter = _adapter(sdk)
    if action == "import-orders":
        after = _when(args.after) if args.after else None
        show = not args.no_progress and sys.stderr.isatty()
        count = 0

        def tick() -> None:
            nonlocal count
            count += 1
            if show:
                sys.stderr.write(f"\rorders {count}")
                sys.stderr.flush()

        report = adapter.import_orders(sdk, after=after, status=args.status, progress=tick)
        if show:
            sys.stderr.write("\n")
        print(f"read {report.seen} order(s): {report.recorded} recorded, {report.duplicates} already recorded, "
              f"{report.skipped} not a sale (status)")  # fmt: skip
        return 0
    for topic, webhook_id, created in adapter.subscribe_webhooks(args.url):
        print(f"{topic}\twebhook {webhook_id}\t{'created' if created else 'already there'}")
    return 0
