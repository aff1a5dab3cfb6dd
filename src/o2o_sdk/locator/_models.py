"""What the locator takes and gives: a query, its matches, import reports."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import attrs

from ..geo import BBox
from ..hours import HoursStatus
from ..models import Store

__all__ = ["ImportReport", "RowError", "StoreMatch", "StoreQuery", "SyncReport"]


@attrs.frozen(slots=False)  # one is made per search: attrs builds a dict class ~0.3 µs faster
class StoreQuery:
    """A store search, as plugins see it (``o2o_exclude_stores``, ``o2o_rerank_stores``).

    ``open_at`` is the instant the store must be open (now, or the expected arrival); a naive
    value is wall-clock time in each store's own zone. ``open_for``: and stay open at least
    this long after it. ``skus``: every SKU in stock (``min_quantity`` units) per the
    ``o2o_check_inventory`` hook.
    """

    latitude: float
    longitude: float
    k: int | None = 10
    radius_m: float | None = None
    bbox: BBox | None = None
    open_at: datetime | None = None
    open_for: timedelta | None = None
    services: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    min_quantity: int = 1
    #: The instant the search runs at (the SDK clock); hours status is reported for ``open_at or now``.
    now: datetime | None = None


@attrs.frozen(slots=False)
class StoreMatch:
    """One store found by a search.

    ``distance_m`` is the WGS84 geodesic distance from the query point. ``status`` (open or
    not at ``at``, and the next change in the store's local time) is computed on first access;
    it is ``None`` when the store's hours are unknown.
    """

    store: Store
    distance_m: float
    #: The instant the status refers to: the requested arrival, or the time of the search.
    at: datetime
    #: The requested services this store offers.
    services: tuple[str, ...] = ()
    #: Quantities of the requested SKUs, as the inventory hook reported them.
    stock: dict[str, int] = attrs.field(factory=dict, hash=False)
    #: Data attached by plugins (e.g. ``travel_time_s`` from a re-ranking plugin).
    extra: dict[str, Any] = attrs.field(factory=dict, hash=False)

    @functools.cached_property
    def status(self) -> HoursStatus | None:
        """Open or closed at :attr:`at` and the next change (store-local); ``None``: hours unknown."""
        hours = self.store.hours
        return None if hours is None else hours.status(self.at, self.store.timezone)

    @property
    def is_open(self) -> bool | None:
        """Whether the store is open at :attr:`at`; ``None`` when its hours are unknown."""
        status = self.status
        return None if status is None else status.open

    @property
    def next_change(self) -> datetime | None:
        """The next opening (if closed) or closing (if open), in the store's local time."""
        status = self.status
        return None if status is None else status.next_change

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``o2o stores near --json``)."""
        s = self.store
        change = self.next_change
        return {
            "id": s.id,
            "name": s.name,
            "address": s.address,
            "latitude": s.latitude,
            "longitude": s.longitude,
            "timezone": s.timezone,
            "distance_m": round(self.distance_m, 3),
            "open": self.is_open,
            "next_change": change.isoformat() if change is not None else None,
            "services": list(self.services),
            "stock": dict(self.stock),
            **({"extra": self.extra} if self.extra else {}),
        }


@attrs.frozen
class RowError:
    """One input row that was not imported."""

    line: int
    message: str
    store_id: str | None = None


@attrs.frozen
class ImportReport:
    """What an import did: stores written, bad rows (with line or feature numbers)."""

    imported: int
    errors: tuple[RowError, ...] = ()

    @property
    def ok(self) -> bool:
        """No row was rejected."""
        return not self.errors


@attrs.frozen
class SyncReport:
    """What :meth:`~o2o_sdk.stores.Stores.sync` did."""

    upserted: int
    rejected: tuple[RowError, ...] = ()
