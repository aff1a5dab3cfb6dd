"""``sdk.stores``: the shop's physical stores."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from .errors import InvalidInput, NotFound
from .geo import BBox
from .hours import OpeningHours
from .models import Store

if TYPE_CHECKING:
    from .locator import ImportReport, StoreIndex, StoreMatch, SyncReport
    from .sdk import O2O

__all__ = ["Stores", "check_store"]


def check_store(store: Store) -> None:
    """Raise :class:`~o2o_sdk.errors.InvalidInput` for impossible store data."""
    if not store.id or not store.id.strip():
        raise InvalidInput("A store needs an id.")
    if not -90.0 <= store.latitude <= 90.0:
        raise InvalidInput(f"Store {store.id}: latitude {store.latitude} is outside -90..90.", code="invalid_coordinates")
    if not -180.0 <= store.longitude <= 180.0:
        raise InvalidInput(f"Store {store.id}: longitude {store.longitude} is outside -180..180.", code="invalid_coordinates")
    try:
        ZoneInfo(store.timezone)
    except Exception:
        raise InvalidInput(f"Store {store.id}: {store.timezone!r} is not an IANA time zone.", code="unknown_timezone") from None
    if store.hours is not None and not isinstance(store.hours, OpeningHours):
        raise InvalidInput(f"Store {store.id}: hours must be OpeningHours (use OpeningHours.parse).", code="invalid_hours")
    if store.checkin_radius_m < 0:
        raise InvalidInput(f"Store {store.id}: the check-in radius cannot be negative.")


class Stores:
    """Add, look up and list stores."""

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk
        # The locator's in-memory index; dropped whenever stores change through this object.
        self._index: StoreIndex | None = None
        self._index_backend = "auto"

    def add(self, *stores: Store | Iterable[Store]) -> int:
        """Insert or update stores (by id); returns how many were written."""
        flat: list[Store] = []
        for item in stores:
            flat.extend([item] if isinstance(item, Store) else item)
        for store in flat:
            check_store(store)
        written = self._sdk.storage.upsert_stores(flat)
        self._index = None
        return written

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
        self._index = None
        if not self._sdk.storage.delete_store(store_id):
            raise NotFound(f"Unknown store {store_id!r}.")

    # --- store locator
    def index(self) -> StoreIndex:
        """The in-memory search index, built from storage on first use after a change.

        Stores changed by another process are not seen until :meth:`rebuild_index`.
        """
        if self._index is None:
            from .locator import build_index

            self._index = build_index(self._sdk.storage.list_stores(), self._index_backend)
        return self._index

    def rebuild_index(self, backend: str | None = None) -> StoreIndex:
        """Reload stores from storage into a new index; ``backend``: ``auto``, ``grid`` or ``kdtree``."""
        if backend is not None:
            if backend not in ("auto", "grid", "kdtree"):
                raise InvalidInput(f"Unknown index backend {backend!r}; use auto, grid or kdtree.")
            self._index_backend = backend
        self._index = None
        return self.index()

    def near(
        self,
        latitude: float,
        longitude: float,
        *,
        k: int | None = 10,
        radius_m: float | None = None,
        bbox: BBox | tuple[float, float, float, float] | None = None,
        open_now: bool = False,
        open_at: datetime | None = None,
        open_for: timedelta | int | None = None,
        services: Iterable[str] | str = (),
        skus: Iterable[str] | str = (),
        min_quantity: int = 1,
        customer_id: str | None = None,
    ) -> builtins.list[StoreMatch]:
        """The nearest stores to a point, nearest first, by exact WGS84 geodesic distance.

        :param k: how many stores at most (``None``: all within ``radius_m`` / ``bbox``).
        :param radius_m: only stores within this many metres.
        :param bbox: only stores inside ``(south, west, north, east)``; ``west > east`` crosses
            the antimeridian.
        :param open_now: only stores open now (in their own time zone; unknown hours excluded).
        :param open_at: only stores open at this instant (e.g. the expected arrival); a naive
            datetime is wall-clock time in each store's zone.
        :param open_for: and still open this long after (a timedelta, or minutes).
        :param services: only stores offering every one of these (e.g. ``"pickup"``).
        :param skus: only stores with every SKU in stock (``min_quantity`` units) according to
            the ``o2o_check_inventory`` hook, asked in batches.
        :param customer_id: who searched, for measurement (journal ``store_searched``; without
            it the search is journaled anonymously, and never with the position).
        :return: :class:`~o2o_sdk.locator.StoreMatch` objects with distance, open status and next
            change (store-local), matched services and stock. Ties are ordered by store id.
        """
        from .locator import StoreQuery, search

        if open_now and open_at is not None:
            raise InvalidInput("Give open_now or open_at, not both.")
        now = self._sdk.clock.now()
        if isinstance(open_for, int):
            open_for = timedelta(minutes=open_for)
        if open_for is not None and open_at is None:
            open_now = True
        if isinstance(bbox, tuple):
            bbox = BBox(*bbox)
        query = StoreQuery(
            latitude, longitude, k, radius_m, bbox,
            open_at=now if open_now else open_at, open_for=open_for,
            services=(services,) if isinstance(services, str) else tuple(services),
            skus=(skus,) if isinstance(skus, str) else tuple(skus),
            min_quantity=min_quantity, now=now,
        )  # fmt: skip
        plugins, sdk = self._sdk.plugins, self._sdk
        found = search(
            self.index(), query,
            exclude=(lambda q, batch: plugins.exclude_stores(sdk, q, batch)) if plugins.has_impls("o2o_exclude_stores") else None,
            inventory=(lambda batch, wanted: plugins.check_inventory(sdk, batch, list(wanted))) if plugins.has_impls("o2o_check_inventory") else None,
            rerank=(lambda q, matches: plugins.rerank_stores(sdk, q, matches)) if plugins.has_impls("o2o_rerank_stores") else None,
        )  # fmt: skip
        sdk.analytics.record_search(results=len(found), customer_id=customer_id, filters={"services": list(query.services), "skus": list(query.skus)})
        return found

    def within_radius(self, latitude: float, longitude: float, radius_m: float, **filters: object) -> builtins.list[StoreMatch]:
        """Every store within ``radius_m`` metres, nearest first (filters as in :meth:`near`)."""
        return self.near(latitude, longitude, k=None, radius_m=radius_m, **filters)  # type: ignore[arg-type]

    def within_bbox(self, bbox: BBox | tuple[float, float, float, float], **filters: object) -> builtins.list[StoreMatch]:
        """Every store inside the box, nearest to its centre first (filters as in :meth:`near`)."""
        box = bbox if isinstance(bbox, BBox) else BBox(*bbox)
        lat, lon = box.center()
        return self.near(lat, lon, k=None, bbox=box, **filters)  # type: ignore[arg-type]

    def import_file(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = 1000,
    ) -> ImportReport:
        """Import stores from GeoJSON or CSV (``format`` from the file extension if not given).

        Bad rows are reported with their line (CSV) or feature number (GeoJSON) and skipped;
        good rows are written in batches of ``batch_size``, insert-or-update by id.
        """
        path = Path(path)
        fmt = format or {".csv": "csv", ".geojson": "geojson", ".json": "geojson", ".geojsonl": "geojson",
                         ".ndjson": "geojson", ".jsonl": "geojson"}.get(path.suffix.lower())  # fmt: skip
        if fmt is None:
            raise InvalidInput(f"Cannot tell the format of {path.name}; name it .geojson or .csv, or pass the format.")
        try:
            with path.open(encoding="utf-8-sig", newline="") as stream:
                return self.import_stream(stream, fmt, progress=progress, batch_size=batch_size)
        except FileNotFoundError:
            raise InvalidInput(f"No such file: {path}.") from None
        except UnicodeDecodeError:
            raise InvalidInput(f"{path.name} is not UTF-8 text.") from None

    def import_stream(
        self,
        stream: TextIO,
        format: str,
        *,
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = 1000,
    ) -> ImportReport:
        """Import from an open text stream; ``format`` is ``geojson`` or ``csv``."""
        from .locator import ImportReport, RowError, parse_csv, parse_geojson

        if format not in ("geojson", "csv"):
            raise InvalidInput(f"Unknown store file format {format!r}; use geojson or csv.")
        total, rows = (parse_csv if format == "csv" else parse_geojson)(stream)
        errors: builtins.list[RowError] = []
        seen: dict[str, int] = {}
        batch: builtins.list[Store] = []
        imported = done = 0
        for line, row in rows:
            done += 1
            if isinstance(row, RowError):
                errors.append(row)
            elif row.id in seen:
                errors.append(RowError(line, f"duplicate id {row.id!r} (first at {seen[row.id]}); kept the first", row.id))
            else:
                seen[row.id] = line
                batch.append(row)
                if len(batch) >= batch_size:
                    imported += self.add(batch)
                    batch = []
            if progress is not None:
                progress(done, max(total, done))
        if batch:
            imported += self.add(batch)
        if progress is not None:
            progress(done, done)
        return ImportReport(imported, tuple(errors))

    def export(self, out: TextIO, format: str = "geojson") -> int:
        """Write every store as GeoJSON (FeatureCollection) or CSV; returns how many."""
        from .locator import write_csv, write_geojson

        if format not in ("geojson", "csv"):
            raise InvalidInput(f"Unknown store file format {format!r}; use geojson or csv.")
        return (write_csv if format == "csv" else write_geojson)(self.list(), out)

    def sync(self) -> SyncReport:
        """Insert or update the stores that adapters supply through ``o2o_register_stores``."""
        from .locator import RowError, SyncReport

        collected: dict[str, Store] = {}
        rejected: builtins.list[RowError] = []

        def register(store: Store) -> None:
            if not isinstance(store, Store):
                rejected.append(RowError(len(collected) + len(rejected) + 1, f"not a Store: {store!r}"))
                return
            try:
                check_store(store)
            except InvalidInput as exc:
                rejected.append(RowError(len(collected) + len(rejected) + 1, exc.message, store.id))
                return
            collected.setdefault(store.id, store)

        self._sdk.plugins.register_stores(self._sdk, register)
        written = self.add(builtins.list(collected.values())) if collected else 0
        return SyncReport(written, tuple(rejected))
