"""``o2o shopify …`` commands (loaded only when such a command runs)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from o2o_sdk import InvalidInput

if TYPE_CHECKING:
    from o2o_sdk import O2O

    from .adapter import ShopifyAdapter

__all__ = ["ProgressBar", "run"]


class ProgressBar:
    """A one-line progress bar on a terminal stream (quiet when ``enabled`` is false)."""

    def __init__(self, label: str, total: int | None, stream: TextIO, *, enabled: bool = True, width: int = 30) -> None:
        self.label, self.total, self.stream, self.enabled, self.width = label, total, stream, enabled, width
        self.done = 0

    def advance(self, step: int = 1) -> None:
        self.done += step
        if not self.enabled:
            return
        if self.total:
            filled = min(self.width, self.width * self.done // self.total)
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
        else:
            self.stream.write(f"\r{self.label} {self.done}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _adapter(sdk: O2O) -> ShopifyAdapter:
    from .adapter import ShopifyAdapter

    adapter = sdk.adapters.get("shopify")
    if not isinstance(adapter, ShopifyAdapter):  # pragma: no cover - another plugin took the name
        raise InvalidInput("The 'shopify' adapter registered here is not o2o-shopify's.")
    return adapter


def run(sdk: O2O, args: argparse.Namespace) -> int:
    """Run one ``o2o shopify`` action."""
    adapter = _adapter(sdk)
    action = args.shopify_command
    if action == "sync-stores":
        bar = ProgressBar("locations", adapter.count_locations(), sys.stderr, enabled=not args.no_progress and sys.stderr.isatty())
        nodes = []
        for node in adapter.iter_locations():
            nodes.append(node)
            bar.advance()
        bar.finish()
        stores = adapter.stores(sdk, nodes)
        written = sdk.stores.add(stores)
        skipped = len(nodes) - len(stores)
        print(f"synced {written} store(s) from {len(nodes)} Shopify location(s)"
              + (f"; {skipped} skipped without coordinates (set O2O_SHOPIFY_LOCATIONS)" if skipped else ""))  # fmt: skip
        return 0
    if action == "mirror-offer":
        mirror = sdk.adapters.mirror_offer("shopify", args.offer, args.code)
        print(f"offer {mirror.offer_id} is Shopify discount code {mirror.code} ({mirror.discount_id})")
        return 0
    if action == "sync-usage":
        for m in sdk.adapters.sync_usage("shopify", args.offer):
            print(f"{m.offer_id}\t{m.code}\tused {m.usage_count}")
        return 0
    found = sdk.adapters.lookup_customer("shopify", args.email)
    if found is None:
        print(f"no Shopify customer with email {args.email}")
        return 1
    print(f"{found.id}\t{found.email}\t{' '.join(filter(None, [found.first_name, found.last_name]))}")
    return 0
