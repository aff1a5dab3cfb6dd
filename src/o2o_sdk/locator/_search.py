"""The search: sphere candidates, cheap filters, batched hook filters, exact geodesic order.

Correctness argument (see :mod:`o2o_sdk.geo`): for central angle θ on the unit sphere the WGS84
geodesic distance s satisfies ``R_MIN·θ <= s <= R_MAX·θ``. Candidates arrive in increasing θ.
Once k stores pass every filter, let S be the k-th smallest geodesic distance among them; any
store that could still beat it has ``θ <= S / R_MIN``. So the search keeps pulling candidates
until θ exceeds that cut-off (which only shrinks), computes the exact distance of every
survivor, and orders by ``(distance, store id)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from operator import itemgetter
from typing import TYPE_CHECKING

from ..errors import InvalidInput, PluginError
from ..geo import (
    _E2,
    R_MIN,
    WGS84_A,
    check_coordinates,
    chord_for_angle,
    ecef,
    geodesic_distance_reduced,
    reduced_latitude,
    short_geodesic,
    vincenty,
)
from ..hours import _SHIFT_MARGIN, check_instant, zone
from ._models import StoreMatch, StoreQuery

if TYPE_CHECKING:
    from ..models import Store
    from ._index import Candidate, StoreIndex

__all__ = ["ExcludeFn", "InventoryFn", "RerankFn", "search", "validate_query"]

ExcludeFn = Callable[[StoreQuery, list["Store"]], set[str]]
InventoryFn = Callable[[list["Store"], tuple[str, ...]], dict[str, dict[str, int]]]
RerankFn = Callable[[StoreQuery, list[StoreMatch]], list[StoreMatch] | None]

#: A search never returns more than this many stores (``k=None`` with a huge radius).
MAX_RESULTS = 10_000
# Vincenty is used below 170 degrees of arc; beyond, Karney's algorithm (geographiclib).
_NEAR_ANTIPODAL_CHORD = chord_for_angle(math.radians(170.0))
_ONE_DAY = timedelta(days=1)
_first = itemgetter(0)
_A, _B, _sqrt = WGS84_A, 1 - _E2, math.sqrt
# Wall-clock and real-time order agree within this of an instant when the offset is the same at both ends.
_STEADY = timedelta(minutes=_SHIFT_MARGIN)


def validate_query(query: StoreQuery) -> StoreQuery:
    """Check a query; :class:`InvalidInput` with a clear sentence for each mistake."""
    lat, lon = check_coordinates(query.latitude, query.longitude)
    if query.k is not None and (not isinstance(query.k, int) or query.k < 1):
        raise InvalidInput(f"k must be a whole number of at least 1, got {query.k!r}.")
    if query.radius_m is not None and (not math.isfinite(query.radius_m) or query.radius_m < 0):
        raise InvalidInput(f"The radius must be 0 or more metres, got {query.radius_m!r}.")
    if query.k is None and query.radius_m is None and query.bbox is None:
        raise InvalidInput("Give k, a radius or a bounding box; an unbounded search would return every store.")
    if query.open_for is not None and not timedelta(0) <= query.open_for <= timedelta(days=366):
        raise InvalidInput("open_for must be from 0 to 366 days.")
    if query.open_at is not None:
        check_instant(query.open_at, "open_at")
    if query.min_quantity < 1:
        raise InvalidInput("min_quantity must be at least 1.")
    if (lat, lon) != (query.latitude, query.longitude):
        import attrs

        query = attrs.evolve(query, latitude=lat, longitude=lon)
    return query


class _HoursCheck:
    """Open-at filter with the time-zone work done once per zone per query.

    Per zone it finds the local day and minute, and whether the zone's UTC offset is the same
    three hours either side of the instant. When it is (every instant but those near a
    daylight-saving change), wall-clock time orders like real time there and each store is
    checked against its precompiled weekly spans
    (:meth:`~o2o_sdk.hours.OpeningHours._open_on_steady_clock`); otherwise, or when special
    dates or closures touch the day, by the full rule.
    """

    def __init__(self, at: datetime, open_for: timedelta | None) -> None:
        self.at = at
        self.naive = at.tzinfo is None
        self.open_for = open_for
        self._zones: dict[str, tuple[tzinfo, datetime, datetime, tuple[date, date, date] | None, float]] = {}

    def _zone(self, name: str) -> tuple[tzinfo, datetime, datetime, tuple[date, date, date] | None, float]:
        z = zone(name)
        at = self.at.replace(tzinfo=z) if self.naive else self.at
        local = at.astimezone(z)
        day = local.date()
        around: tuple[date, date, date] | None = (day - _ONE_DAY, day, day + _ONE_DAY)
        before, after = (at - _STEADY).astimezone(z), (at + _STEADY).astimezone(z)
        if not (before.utcoffset() == local.utcoffset() == after.utcoffset()):
            around = None  # a clock change is near: the full rule decides
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        cached = self._zones[name] = (z, at, local, around, minute)
        return cached

    def __call__(self, store: Store) -> bool:
        hours = store.hours
        if hours is None:
            return False  # hours unknown: never claimed open
        cached = self._zones.get(store.timezone)
        if cached is None:
            cached = self._zone(store.timezone)
        z, at, local, around, minute = cached
        is_open = hours._open_on_steady_clock(around, minute) if around is not None else None
        if is_open is None:
            is_open = hours._is_open(at, local, z)
        if not is_open:
            return False
        if self.open_for:
            closing = hours.next_closing(at, z)
            # Subtract in UTC: aware datetimes sharing a tzinfo subtract as wall-clock times.
            return closing is None or closing.astimezone(UTC) - at.astimezone(UTC) >= self.open_for
        return True


class _Filters:
    """Candidates (in chord order) that pass the cheap filters, then the batched hook filters.

    The search lowers :attr:`cutoff` as it finds closer stores; candidates beyond it are never
    filtered (so no hook is called for them). :attr:`stock` collects the inventory levels of the
    stores kept.
    """

    def __init__(
        self, query: StoreQuery, candidates: Iterator[Candidate], hours_ok: _HoursCheck | None,
        exclude: ExcludeFn | None, inventory: InventoryFn | None, batch: int, cutoff: float,
    ) -> None:  # fmt: skip
        self.query, self.candidates, self.hours_ok = query, candidates, hours_ok
        self.exclude, self.inventory, self.batch = exclude, inventory, batch
        self.cutoff = cutoff
        self.stock: dict[str, dict[str, int]] = {}

    def __iter__(self) -> Iterator[Candidate]:
        services, hours_ok = self.query.services, self.hours_ok
        batched = self.exclude is not None or (self.inventory is not None and bool(self.query.skus))
        pending: list[Candidate] = []
        for c in self.candidates:
            if c[0] > self.cutoff:
                break
            store = c[3]
            if services and not all(s in store.services for s in services):
                continue
            if hours_ok is not None and not hours_ok(store):
                continue
            if not batched:
                yield c
                continue
            pending.append(c)
            if len(pending) >= self.batch:
                yield from self._flush(pending)
        if pending:
            yield from self._flush(pending)

    def _flush(self, pending: list[Candidate]) -> list[Candidate]:
        """The pending candidates that the plugin filters and the inventory hook keep (one call each)."""
        query, exclude, inventory, skus = self.query, self.exclude, self.inventory, self.query.skus
        survivors = list(pending)
        pending.clear()
        batch_stores = [c[3] for c in survivors]
        if exclude is not None and batch_stores:
            dropped = exclude(query, batch_stores)
            if dropped:
                survivors = [c for c in survivors if c[3].id not in dropped]
                batch_stores = [c[3] for c in survivors]
        if skus and inventory is not None and batch_stores:
            levels = inventory(batch_stores, skus)
            kept = []
            for c in survivors:
                sid = c[3].id
                have = levels.get(sid, {})
                if all(have.get(sku, 0) >= query.min_quantity for sku in skus):
                    self.stock[sid] = {sku: have.get(sku, 0) for sku in skus}
                    kept.append(c)
            survivors = kept
        return survivors


def search(
    index: StoreIndex,
    query: StoreQuery,
    *,
    exclude: ExcludeFn | None = None,
    inventory: InventoryFn | None = None,
    rerank: RerankFn | None = None,
    rerank_window: int | None = None,
) -> list[StoreMatch]:
    """Run ``query`` against ``index``; the hooks are optional callables (see :mod:`o2o_sdk.hookspecs`)."""
    query = validate_query(query)
    now = query.now or datetime.now(UTC)
    at = query.open_at or now
    lat, lon = query.latitude, query.longitude
    qex, qey, qez, qx, qy, qz = ecef(lat, lon)
    k = query.k
    want = MAX_RESULTS if k is None else k
    if rerank is not None and k is not None:
        want = max(want, rerank_window or 2 * k)
    radius = query.radius_m
    max_chord = chord_for_angle(radius / R_MIN) * (1 + 1e-9) + 1e-12 if radius is not None else math.inf
    services = query.services
    hours_ok = _HoursCheck(query.open_at, query.open_for) if query.open_at is not None else None
    skus = query.skus
    batched = exclude is not None or (inventory is not None and bool(skus))
    if skus and inventory is None:
        raise InvalidInput("Filtering by SKU needs an inventory plugin (o2o_check_inventory); none is installed.")

    candidates: Iterator[Candidate]
    if query.bbox is not None:
        box = query.bbox
        candidates = iter(index.ranked(qx, qy, qz, index.in_bbox(box), max_chord))
    else:
        candidates = index.nearest(qx, qy, qz, max_chord, first=want + 2 if k is not None else 16)

    ilat, ilon, isu, icu = index.lat, index.lon, index.sin_u, index.cos_u
    found: list[tuple[float, int, Store]] = []  # (distance, position, store)
    cutoff = max_chord
    kth = math.inf
    batch = max(2 * want, 16) if k is not None else 256
    qsu: float | None = None  # the query's reduced latitude, for long lines only
    qcu = 0.0

    # Without filters the index's own iterator is read directly: no Python frame per candidate.
    filters = None
    if services or hours_ok is not None or batched:
        filters = _Filters(query, candidates, hours_ok, exclude, inventory, batch, cutoff)
        candidates = iter(filters)
    for chord, i, (x, y, z), store in candidates:
        if chord > cutoff:
            break
        n = _A / _sqrt(1 - _E2 * z * z)  # the store's Earth-centred position, as geo.ecef gives it
        s = short_geodesic(qex, qey, qez, qx, qy, qz, n * x, n * y, n * _B * z, x, y, z)
        if s is None:  # a long line (over 200 km of chord): iterate on the reduced latitudes
            if qsu is None:
                qsu, qcu = reduced_latitude(lat)
            if chord < _NEAR_ANTIPODAL_CHORD:
                s = vincenty(qsu, qcu, lon, isu[i], icu[i], ilon[i])
            if s is None:
                s = geodesic_distance_reduced(lat, lon, qsu, qcu, ilat[i], ilon[i], isu[i], icu[i], math.pi)
        if radius is not None and s > radius:
            continue
        found.append((s, i, store))
        if len(found) >= want:
            if len(found) == want:
                kth = max(found)[0]
            elif s < kth:
                kth = sorted(found)[want - 1][0]
            else:
                continue
            cutoff = min(max_chord, chord_for_angle(kth / R_MIN) * (1 + 1e-9) + 1e-12)
            if filters is not None:
                filters.cutoff = cutoff

    found.sort()  # by distance, then position (never by store: positions differ)
    top = found[: want + 1]
    if len(set(map(_first, top))) < len(top):  # equal distances: by store id, as documented
        found.sort(key=lambda f: (f[0], f[2].id))
    top = found[:want]
    stock = filters.stock if filters is not None else {}
    if services or stock:
        matches = [
            StoreMatch(
                store, dist, at,
                services=tuple(s for s in services if s in store.services),
                stock=stock.get(store.id, {}),
            )
            for dist, _, store in top
        ]  # fmt: skip
    else:
        # All fields positional, the two dicts as literals: ~65 ns less per match than attrs' factories.
        matches = [StoreMatch(store, dist, at, (), {}, {}) for dist, _, store in top]
    if rerank is not None and matches:
        reordered = rerank(query, matches)
        if reordered is not None:
            _check_rerank(matches, reordered)
            matches = list(reordered)
    return matches if k is None else matches[:k]


def _check_rerank(given: Sequence[StoreMatch], returned: Sequence[StoreMatch]) -> None:
    ids = {m.store.id for m in given}
    seen: set[str] = set()
    for m in returned:
        if not isinstance(m, StoreMatch) or m.store.id not in ids or m.store.id in seen:
            raise PluginError("A re-ranking plugin returned a store it was not given (or twice); return a reordering of the candidates.")
        seen.add(m.store.id)
