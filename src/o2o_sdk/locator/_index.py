"""In-memory spatial indexes over stores: nearest-first iteration on the unit sphere.

Two backends answer the same question — "yield stores in increasing chord distance from this
unit vector" — so the search on top of them is shared:

* :class:`GridIndex` (default, pure Python): a uniform 3-D grid over the unit vectors, searched
  in growing cubic shells; when shells would visit more cells than are occupied it switches to
  best-first over the occupied cells, so sparse data and far-away queries stay bounded.
* :class:`KDTreeIndex` (``o2o-sdk[fast]``): scipy's cKDTree over the same vectors.

Both keep per-store columns as ``array('d')`` so the search reads plain floats: latitude and
longitude, the unit vector (x, y, z, also the surface normal), the Earth-centred position in
metres (ex, ey, ez) for :func:`~o2o_sdk.geo.short_geodesic`, and the reduced latitude for
Vincenty.
"""

from __future__ import annotations

import heapq
import itertools
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..geo import WGS84_A, WGS84_F, BBox, ecef, reduced_latitude
from ..models import Store

__all__ = ["GridIndex", "KDTreeIndex", "StoreIndex", "build_index", "fast_index_available"]


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
        self.x, self.y, self.z = array("d"), array("d"), array("d")
        self.ex, self.ey, self.ez = array("d"), array("d"), array("d")
        self.sin_u = array("d")
        self.cos_u = array("d")
        self._lat_order: list[int] | None = None
        self._lat_sorted: list[float] | None = None

    def __len__(self) -> int:
        return len(self.stores)

    def nearest(self, x: float, y: float, z: float, max_chord: float = math.inf) -> Iterator[tuple[float, int]]:
        """``(chord, position)`` in non-decreasing chord order, up to ``max_chord``."""
        raise NotImplementedError

    def chord(self, x: float, y: float, z: float, i: int) -> float:
        """The chord from the unit vector (x, y, z) to store ``i``."""
        return math.sqrt((self.x[i] - x) ** 2 + (self.y[i] - y) ** 2 + (self.z[i] - z) ** 2)

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
        n = len(self.stores)
        # About `per_cell` stores per occupied cell if they were spread evenly over the sphere.
        self.h = h = min(max(math.sqrt(4 * math.pi * per_cell / max(n, 1)), 1e-5), 0.5)
        self._off = off = int(1 / h) + 2
        self._m = m = 2 * off + 1
        xs, ys, zs = self.x, self.y, self.z
        exs, eys, ezs = self.ex, self.ey, self.ez
        cells: dict[int, list[int]] = {}
        floor = math.floor
        for i, s in enumerate(self.stores):
            ex, ey, ez, x, y, z = ecef(s.latitude, s.longitude)
            su, cu = reduced_latitude(s.latitude)
            xs.append(x)
            ys.append(y)
            zs.append(z)
            exs.append(ex)
            eys.append(ey)
            ezs.append(ez)
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

    def nearest(self, x: float, y: float, z: float, max_chord: float = math.inf) -> Iterator[tuple[float, int]]:
        h, off, m, cells = self.h, self._off, self._m, self._cells
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
                yield math.sqrt(d2), i
            if b2 > max2:
                return
            r += 1
        while heap:
            d2, i = pop(heap)
            yield math.sqrt(d2), i

    def _best_first(
        self, x: float, y: float, z: float, cx: int, cy: int, cz: int, r: int,
        heap: list[tuple[float, int]], max2: float,
    ) -> Iterator[tuple[float, int]]:  # fmt: skip
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
        xs, ys, zs, cells = self.x, self.y, self.z, self._cells
        for lb, key in order:
            while heap and heap[0][0] <= lb:
                d2, i = heapq.heappop(heap)
                yield math.sqrt(d2), i
            for i in cells[key]:
                d2 = (xs[i] - x) ** 2 + (ys[i] - y) ** 2 + (zs[i] - z) ** 2
                if d2 <= max2:
                    heapq.heappush(heap, (d2, i))
        while heap:
            d2, i = heapq.heappop(heap)
            yield math.sqrt(d2), i


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
        e2 = WGS84_F * (2 - WGS84_F)
        big_n = WGS84_A / np.sqrt(1 - e2 * sphi * sphi)  # prime vertical radius: see geo.ecef
        with np.errstate(over="ignore", invalid="ignore"):
            tan_u = (1 - WGS84_F) * np.tan(phi)
            cos_u = 1 / np.sqrt(1 + tan_u * tan_u)
            sin_u = tan_u * cos_u
        poles = np.abs(lat) >= 90.0
        sin_u[poles] = np.sign(lat[poles])
        cos_u[poles] = 0.0
        self.lat.frombytes(lat.tobytes())
        self.lon.frombytes(lon.tobytes())
        for column, values in ((self.x, pts[:, 0]), (self.y, pts[:, 1]), (self.z, pts[:, 2]),
                               (self.ex, big_n * pts[:, 0]), (self.ey, big_n * pts[:, 1]),
                               (self.ez, big_n * (1 - e2) * sphi)):  # fmt: skip
            column.frombytes(np.ascontiguousarray(values).tobytes())
        self.sin_u.frombytes(sin_u.tobytes())
        self.cos_u.frombytes(cos_u.tobytes())
        self._tree: Any = cKDTree(pts) if n else None

    def nearest(self, x: float, y: float, z: float, max_chord: float = math.inf) -> Iterator[tuple[float, int]]:
        # Batches of 16, 64, 256 … nearest; each batch's new part is handed on as a zip, so the
        # caller's loop runs without resuming a Python generator per store.
        return itertools.chain.from_iterable(self._batches(x, y, z, max_chord))

    def _batches(self, x: float, y: float, z: float, max_chord: float) -> Iterator[Iterable[tuple[float, int]]]:
        n = len(self.stores)
        if not n:
            return
        k = min(16, n)
        upper = max_chord * (1 + 1e-12) + 1e-15 if math.isfinite(max_chord) else math.inf
        seen: set[int] | None = None
        while True:
            d, idx = self._tree.query((x, y, z), k=k, distance_upper_bound=upper)
            if k == 1:
                d, idx = [float(d)], [int(idx)]
            else:
                d, idx = d.tolist(), idx.tolist()
            # Sorted by distance; a missing neighbour (fewer than k within the bound) is inf.
            m = bisect_right(d, max_chord)
            if seen is None:
                yield zip(d[:m], idx[:m], strict=True)
            else:
                yield [(dist, i) for dist, i in zip(d[:m], idx[:m], strict=True) if i not in seen]
            if m < k or k >= n:
                return
            seen = set(idx)  # ties may come back in another order: skip by identity, not position
            k = min(k * 4, n)


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
