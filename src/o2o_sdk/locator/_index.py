"""In-memory spatial indexes over stores: nearest-first iteration on the unit sphere.

Two backends answer the same question — "yield stores in increasing chord distance from this
unit vector" — so the search on top of them is shared:

* :class:`GridIndex` (default, pure Python): a uniform 3-D grid over the unit vectors, searched
  in growing cubic shells; when shells would visit more cells than are occupied it switches to
  best-first over the occupied cells, so sparse data and far-away queries stay bounded.
* :class:`KDTreeIndex` (``o2o-sdk[fast]``): scipy's cKDTree over the same vectors.

Both keep per-store columns as ``array('d')`` so the search reads plain floats: latitude and
longitude and the reduced latitude (for Vincenty). Candidates come with their unit vector
(x, y, z, also the surface normal), from which the search derives the Earth-centred position
for :func:`~o2o_sdk.geo.short_geodesic`: reading one store's three coordinates together costs
one memory access where separate columns cost one each (at a million stores nearly every
candidate is a cache miss).
"""

from __future__ import annotations

import heapq
import itertools
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from ..geo import WGS84_F, BBox, ecef, reduced_latitude
from ..models import Store

__all__ = ["Candidate", "GridIndex", "KDTreeIndex", "StoreIndex", "build_index", "fast_index_available"]

#: What an index yields per store: ``(chord, position, (x, y, z), store)``.
Candidate = tuple[float, int, Sequence[float], Store]


def fast_index_available() -> bool:
    """Whether numpy and scipy are importable (the ``o2o-sdk[fast]`` extra)."""
    try:
        import numpy  # noqa: F401
        import scipy.spatial  # noqa: F401
    except ImportError:
        return False
    return True


class StoreIndex:
    """Stores and their per-store columns; subclasses add the spatial structure."""

    #: Short backend name shown by benchmarks and ``o2o stores near --json``.
    kind = "base"

    def __init__(self, stores: Sequence[Store]) -> None:
        self.stores: list[Store] = list(stores)
        self.lat = array("d")
        self.lon = array("d")
        self.sin_u = array("d")
        self.cos_u = array("d")
        self._lat_order: list[int] | None = None
        self._lat_sorted: list[float] | None = None

    def __len__(self) -> int:
        return len(self.stores)

    def nearest(self, x: float, y: float, z: float, max_chord: float = math.inf, *,
                first: int = 16) -> Iterator[Candidate]:  # fmt: skip
        """``(chord, position, unit vector, store)`` in non-decreasing chord order, up to
        ``max_chord``; ``first``: how many the caller expects to read (a hint)."""
        raise NotImplementedError

    def unit(self, i: int) -> Sequence[float]:
        """Store ``i``'s unit vector ``(x, y, z)``."""
        raise NotImplementedError

    def ranked(self, x: float, y: float, z: float, positions: Sequence[int], max_chord: float) -> list[Candidate]:
        """The stores at ``positions`` within ``max_chord`` of (x, y, z), nearest first (a
        bounding-box search)."""
        out = []
        for i in positions:
            unit = self.unit(i)
            chord = math.sqrt((unit[0] - x) ** 2 + (unit[1] - y) ** 2 + (unit[2] - z) ** 2)
            if chord <= max_chord:
                out.append((chord, i, unit, self.stores[i]))
        out.sort(key=lambda c: (c[0], c[1]))
        return out

    def in_bbox(self, box: BBox) -> list[int]:
        """Positions of the stores inside ``box``."""
        if self._lat_order is None:
            lat = self.lat
            self._lat_order = sorted(range(len(lat)), key=lat.__getitem__)
            self._lat_sorted = [lat[i] for i in self._lat_order]
        assert self._lat_sorted is not None
        lo = bisect_left(self._lat_sorted, box.south)
        hi = bisect_right(self._lat_sorted, box.north)
        lon = self.lon
        w, e = box.west, box.east
        if box.crosses_antimeridian:
            return [i for i in self._lat_order[lo:hi] if lon[i] >= w or lon[i] <= e]
        return [i for i in self._lat_order[lo:hi] if w <= lon[i] <= e]


class GridIndex(StoreIndex):
    """Pure-Python nearest-neighbour index: a uniform grid over 3-D unit vectors."""

    kind = "grid"

    def __init__(self, stores: Sequence[Store], *, per_cell: float = 4.0) -> None:
        super().__init__(stores)
        self.x, self.y, self.z = array("d"), array("d"), array("d")
        n = len(self.stores)
        # About `per_cell` stores per occupied cell if they were spread evenly over the sphere.
        self.h = h = min(max(math.sqrt(4 * math.pi * per_cell / max(n, 1)), 1e-5), 0.5)
        self._off = off = int(1 / h) + 2
        self._m = m = 2 * off + 1
        xs, ys, zs = self.x, self.y, self.z
        cells: dict[int, list[int]] = {}
        floor = math.floor
        for i, s in enumerate(self.stores):
            _, _, _, x, y, z = ecef(s.latitude, s.longitude)
            su, cu = reduced_latitude(s.latitude)
            xs.append(x)
            ys.append(y)
            zs.append(z)
            self.lat.append(s.latitude)
            self.lon.append(s.longitude)
            self.sin_u.append(su)
            self.cos_u.append(cu)
            key = ((floor(x / h) + off) * m + floor(y / h) + off) * m + floor(z / h) + off
            bucket = cells.get(key)
            if bucket is None:
                cells[key] = [i]
            else:
                bucket.append(i)
        self._cells = cells
        self._coords: list[tuple[int, int, int, int]] | None = None

    def unit(self, i: int) -> tuple[float, float, float]:
        return self.x[i], self.y[i], self.z[i]

    def nearest(self, x: float, y: float, z: float, max_chord: float = math.inf, *,
                first: int = 16) -> Iterator[Candidate]:  # fmt: skip
        h, off, m, cells = self.h, self._off, self._m, self._cells
        stores = self.stores
        xs, ys, zs = self.x, self.y, self.z
        cx, cy, cz = math.floor(x / h), math.floor(y / h), math.floor(z / h)
        lo_c, hi_c = -off, off  # valid cell indices
        max_r = max(cx - lo_c, hi_c - cx, cy - lo_c, hi_c - cy, cz - lo_c, hi_c - cz)
        max2 = max_chord * max_chord
        heap: list[tuple[float, int]] = []
        push, pop = heapq.heappush, heapq.heappop
        budget = 4 * len(cells) + 64  # dict probes allowed before best-first over occupied cells
        r = 0
        while r <= max_r:
            probes = 1 if r == 0 else 24 * r * r + 2
            if probes > budget:
                yield from self._best_first(x, y, z, cx, cy, cz, r, heap, max2)
                return
            budget -= probes
            for dx in range(-r, r + 1):
                ix = cx + dx
                if ix < lo_c or ix > hi_c:
                    continue
                edge_x = dx == -r or dx == r
                for dy in range(-r, r + 1):
                    iy = cy + dy
                    if iy < lo_c or iy > hi_c:
                        continue
                    base = ((ix + off) * m + iy + off) * m + off
                    dzs: Sequence[int] = range(-r, r + 1) if edge_x or dy == -r or dy == r else ((-r, r) if r else (0,))
                    for dz in dzs:
                        iz = cz + dz
                        if iz < lo_c or iz > hi_c:
                            continue
                        bucket = cells.get(base + iz)
                        if bucket is None:
                            continue
                        for i in bucket:
                            d2 = (xs[i] - x) ** 2 + (ys[i] - y) ** 2 + (zs[i] - z) ** 2
                            if d2 <= max2:
                                push(heap, (d2, i))
            # Every store not seen yet lies outside the cube of shells 0..r around the query.
            bound = min(x - (cx - r) * h, (cx + r + 1) * h - x, y - (cy - r) * h,
                        (cy + r + 1) * h - y, z - (cz - r) * h, (cz + r + 1) * h - z)  # fmt: skip
            b2 = bound * bound
            while heap and heap[0][0] <= b2:
                d2, i = pop(heap)
                yield math.sqrt(d2), i, (xs[i], ys[i], zs[i]), stores[i]
            if b2 > max2:
                return
            r += 1
        while heap:
            d2, i = pop(heap)
            yield math.sqrt(d2), i, (xs[i], ys[i], zs[i]), stores[i]

    def _best_first(
        self, x: float, y: float, z: float, cx: int, cy: int, cz: int, r: int,
        heap: list[tuple[float, int]], max2: float,
    ) -> Iterator[Candidate]:  # fmt: skip
        """Continue a shell search by visiting the occupied cells outside shell ``r - 1`` by distance."""
        h, off, m = self.h, self._off, self._m
        if self._coords is None:
            coords = []
            for key in self._cells:
                rest, iz = divmod(key, m)
                ix, iy = divmod(rest, m)
                coords.append((key, ix - off, iy - off, iz - off))
            self._coords = coords
        order: list[tuple[float, int]] = []
        for key, ix, iy, iz in self._coords:
            if max(abs(ix - cx), abs(iy - cy), abs(iz - cz)) < r:
                continue  # already visited
            d2 = 0.0
            for q, c in ((x, ix), (y, iy), (z, iz)):
                lo = c * h
                if q < lo:
                    d2 += (lo - q) ** 2
                elif q > lo + h:
                    d2 += (q - lo - h) ** 2
            if d2 <= max2:
                order.append((d2, key))
        order.sort()
        xs, ys, zs, cells, stores = self.x, self.y, self.z, self._cells, self.stores
        for lb, key in order:
            while heap and heap[0][0] <= lb:
                d2, i = heapq.heappop(heap)
                yield math.sqrt(d2), i, (xs[i], ys[i], zs[i]), stores[i]
            for i in cells[key]:
                d2 = (xs[i] - x) ** 2 + (ys[i] - y) ** 2 + (zs[i] - z) ** 2
                if d2 <= max2:
                    heapq.heappush(heap, (d2, i))
        while heap:
            d2, i = heapq.heappop(heap)
            yield math.sqrt(d2), i, (xs[i], ys[i], zs[i]), stores[i]


class KDTreeIndex(StoreIndex):
    """scipy cKDTree over 3-D unit vectors (``pip install 'o2o-sdk[fast]'``)."""

    kind = "kdtree"

    def __init__(self, stores: Sequence[Store]) -> None:
        import numpy as np
        from scipy.spatial import cKDTree

        super().__init__(stores)
        n = len(self.stores)
        lat = np.fromiter((s.latitude for s in self.stores), dtype=np.float64, count=n)
        lon = np.fromiter((s.longitude for s in self.stores), dtype=np.float64, count=n)
        phi, lam = np.radians(lat), np.radians(lon)
        cphi, sphi = np.cos(phi), np.sin(phi)
        cphi[np.abs(lat) == 90.0] = 0.0  # as geo.ecef: one point at each pole
        pts = np.empty((n, 3))
        pts[:, 0] = cphi * np.cos(lam)
        pts[:, 1] = cphi * np.sin(lam)
        pts[:, 2] = sphi
        with np.errstate(over="ignore", invalid="ignore"):
            tan_u = (1 - WGS84_F) * np.tan(phi)
            cos_u = 1 / np.sqrt(1 + tan_u * tan_u)
            sin_u = tan_u * cos_u
        poles = np.abs(lat) >= 90.0
        sin_u[poles] = np.sign(lat[poles])
        cos_u[poles] = 0.0
        self.lat.frombytes(lat.tobytes())
        self.lon.frombytes(lon.tobytes())
        self.sin_u.frombytes(sin_u.tobytes())
        self.cos_u.frombytes(cos_u.tobytes())
        # The tree keeps `pts` as its data (no copy): a store's unit vector is one row of it, and
        # the rows of a query's neighbours are still in the cache when the query returns.
        self._points: Any = pts
        self._tree: Any = cKDTree(pts) if n else None

    def unit(self, i: int) -> list[float]:
        row: list[float] = self._points[i].tolist()
        return row

    def ranked(self, x: float, y: float, z: float, positions: Sequence[int], max_chord: float) -> list[Candidate]:
        # One numpy pass instead of a row conversion per store: a box may hold thousands.
        import numpy as np

        if not positions:
            return []
        idx = np.asarray(positions, dtype=np.intp)
        rows = self._points[idx]
        chords = np.sqrt(((rows - (x, y, z)) ** 2).sum(axis=1))
        keep = np.flatnonzero(chords <= max_chord)
        order = keep[np.lexsort((idx[keep], chords[keep]))]
        stores = self.stores
        return [(c, i, row, stores[i]) for c, i, row in
                zip(chords[order].tolist(), idx[order].tolist(), rows[order].tolist(), strict=True)]  # fmt: skip

    def nearest(self, x: float, y: float, z: float, max_chord: float = math.inf, *,
                first: int = 16) -> Iterator[Candidate]:  # fmt: skip
        # Batches of `first`, then four times as many … nearest. Each batch is handed on as a zip,
        # so the caller's loop runs without resuming a Python generator per store; the first is
        # queried now, and the next ones only if the caller reads past it.
        n = len(self.stores)
        if not n:
            return iter(())
        k = min(max(first, 1), n)
        upper = max_chord * (1 + 1e-12) + 1e-15 if math.isfinite(max_chord) else math.inf
        batch, positions = self._batch(x, y, z, k, upper, max_chord)
        if len(positions) < k or k >= n:
            return batch
        return itertools.chain(batch, itertools.chain.from_iterable(self._more(x, y, z, k, upper, max_chord, positions)))

    def _more(self, x: float, y: float, z: float, k: int, upper: float, max_chord: float,
              seen: list[int]) -> Iterator[Iterable[Candidate]]:  # fmt: skip
        n = len(self.stores)
        while k < n:
            k = min(k * 4, n)
            batch, positions = self._batch(x, y, z, k, upper, max_chord)
            # Ties may come back in another order: skip by identity, not by position in the batch.
            known = set(seen)
            yield (c for c in batch if c[1] not in known)
            if len(positions) < k:
                return
            seen = positions

    def _batch(self, x: float, y: float, z: float, k: int, upper: float,
               max_chord: float) -> tuple[Iterator[Candidate], list[int]]:  # fmt: skip
        """The ``k`` nearest within ``max_chord``, nearest first, and their positions."""
        d, idx = self._tree.query((x, y, z), k=[k] if k == 1 else k, distance_upper_bound=upper)
        dist = d.tolist()
        # Sorted by distance; a missing neighbour (fewer than k within the bound) is inf.
        m = k if dist[-1] <= max_chord else bisect_right(dist, max_chord)
        if m < k:
            if not m:
                return iter(()), []
            dist, idx = dist[:m], idx[:m]
        positions: list[int] = idx.tolist()
        rows = self._points.take(idx, axis=0).tolist()  # take: ~1.5 µs less than fancy indexing
        # The stores too are gathered in one C loop: with a million of them nearly each is a
        # cache miss, and there the misses overlap instead of waiting one by one.
        found = itemgetter(*positions)(self.stores) if m > 1 else (self.stores[positions[0]],)
        return zip(dist, positions, rows, found, strict=True), positions


def build_index(stores: Sequence[Store], backend: str = "auto") -> StoreIndex:
    """An index over ``stores``: ``"kdtree"`` (needs numpy+scipy), ``"grid"``, or ``"auto"``."""
    if backend == "auto":
        backend = "kdtree" if fast_index_available() else "grid"
    if backend == "kdtree":
        return KDTreeIndex(stores)
    if backend == "grid":
        return GridIndex(stores)
    from ..errors import InvalidInput

    raise InvalidInput(f"Unknown index backend {backend!r}; use auto, grid or kdtree.")
