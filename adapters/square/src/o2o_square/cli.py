"""``o2o square …`` commands (loaded only when such a command runs)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from o2o_sdk import InvalidInput

if TYPE_CHECKING:
    from o2o_sdk import O2O

    from .adapter import SquareAdapter

__all__ = ["run"]


def _adapter(sdk: O2O) -> SquareAdapter:
    from .adapter import SquareAdapter

    adapter = sdk.adapters.get("square")
    if not isinstance(adapter, SquareAdapter):  # pragma: no cover - another plugin took the name
        raise InvalidInput("The 'square' adapter registered here is not o2o-square's.")
    return adapter


def run(sdk: O2O, args: argparse.Namespace) -> int:
    """Run one ``o2o square`` action."""
    adapter = _adapter(sdk)
    action = args.square_command
    if action == "sync-stores":
        locations = adapter.list_locations()
        active = [loc for loc in locations if (loc.get("status") or "ACTIVE") == "ACTIVE"]
        stores = adapter.stores(sdk, active)
        written = sdk.stores.add(stores)
        skipped = len(active) - len(stores)
        print(f"synced {written} store(s) from {len(active)} active Square location(s)"
              + (f"; {skipped} skipped without coordinates (set O2O_SQUARE_LOCATIONS)" if skipped else ""))  # fmt: skip
        return 0
    if action == "mirror-offer":
        mirror = sdk.adapters.mirror_offer("square", args.offer, args.code)
        print(f"offer {mirror.offer_id} is the Square discount {mirror.code!r} ({mirror.discount_id})")
        return 0
    if action == "sync-usage":
        for m in sdk.adapters.sync_usage("square", args.offer):
            print(f"{m.offer_id}\t{m.code}\tused {m.usage_count}")
        return 0
    found = sdk.adapters.lookup_customer("square", args.email)
    if found is None:
        print(f"no Square customer with email {args.email}")
        return 1
    print(f"{found.id}\t{found.email}\t{' '.join(filter(None, [found.first_name, found.last_name]))}")
    return 0
