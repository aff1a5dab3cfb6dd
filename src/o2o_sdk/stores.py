"""``sdk.stores``: the shop's physical stores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .errors import InvalidInput, NotFound
from .models import Store

if TYPE_CHECKING:
    from .sdk import O2O

__all__ = ["Stores", "check_store"]


def check_store(store: Store) -> None:
    """Raise :class:`~o2o_sdk.errors.InvalidInput` for impossible store data."""
    if not store.id or not store.id.strip():
        raise InvalidInput("A store needs an id.")
    if not -90.0 <= store.latitude <= 90.0:
        raise InvalidInput(f"Store {store.id}: latitude {store.latitude} is outside -90..90.")
    if not -180.0 <= store.longitude <= 180.0:
        raise InvalidInput(f"Store {store.id}: longitude {store.longitude} is outside -180..180.")
    try:
        ZoneInfo(store.timezone)
    except Exception:
        raise InvalidInput(f"Store {store.id}: {store.timezone!r} is not an IANA time zone.") from None
    if store.checkin_radius_m < 0:
        raise InvalidInput(f"Store {store.id}: the check-in radius cannot be negative.")


class Stores:
    """Add, look up and list stores."""

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk

    def add(self, *stores: Store | Iterable[Store]) -> int:
        """Insert or update stores (by id); returns how many were written."""
        flat: list[Store] = []
        for item in stores:
            flat.extend([item] if isinstance(item, Store) else item)
        for store in flat:
            check_store(store)
        return self._sdk.storage.upsert_stores(flat)

    def get(self, store_id: str) -> Store:
        """The store with this id; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        store = self._sdk.storage.get_store(store_id)
        if store is None:
            raise NotFound(f"Unknown store {store_id!r}.")
        return store

    def list(self) -> list[Store]:
        """Every store, by id."""
        return self._sdk.storage.list_stores()

    def remove(self, store_id: str) -> None:
        """Delete a store."""
        if not self._sdk.storage.delete_store(store_id):
            raise NotFound(f"Unknown store {store_id!r}.")
