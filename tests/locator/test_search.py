"""Exact nearest-store search on both index backends, checked against brute force."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
from geographiclib.geodesic import Geodesic

from o2o_sdk import BBox, InvalidInput, OpeningHours, Store, StoreQuery
from o2o_sdk.geo import R_MAX, R_MIN, SHORT_LINE_MAX, ecef, geodesic_distance, short_geodesic, unit_vector
from o2o_sdk.locator import GridIndex, StoreIndex, build_index, search

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
BACKENDS = ["grid", "kdtree"]


def exact(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2)["s12"])


def store(sid: str, lat: float, lon: float, **kw: object) -> Store:
    return Store(sid, sid, kw.pop("timezone", "UTC"), lat, lon, **kw)  # type: ignore[arg-type]


def near(index: StoreIndex, lat: float, lon: float, **kw: object) -> list[tuple[str, float]]:
    return [(m.store.id, m.distance_m) for m in search(index, StoreQuery(lat, lon, now=NOW, **kw))]  # type: ignore[arg-type]


def brute(stores: list[Store], lat: float, lon: float, k: int | None, radius: float | None = None) -> list[tuple[str, float]]:
    ranked = sorted((exact(lat, lon, s.latitude, s.longitude), s.id) for s in stores)
    if radius is not None:
        ranked = [r for r in ranked if r[0] <= radius]
    return [(sid, d) for d, sid in ranked[:k]]


def random_point(rnd: random.Random) -> tuple[float, float]:
    return math.degrees(math.asin(rnd.uniform(-1, 1))), rnd.uniform(-180, 180)


def assert_same(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    assert [g[0] for g in got] == [w[0] for w in want]
    for (_, dg), (_, dw) in zip(got, want, strict=True):
        assert dg == pytest.approx(dw, abs=1e-3)  # Vincenty vs Karney: well below a millimetre


@pytest.mark.parametrize("backend", BACKENDS)
def test_antimeridian_store_11_km_east_beats_206_km_west(backend: str) -> None:
    # Query on Taveuni, Fiji (179.95 E): one store across 180 degrees, one far west on Viti Levu.
    stores = [store("east", -16.85, -179.945), store("west", -16.85, 178.02)]
    index = build_index(stores, backend)
    got = near(index, -16.85, 179.95, k=2)
    assert [sid for sid, _ in got] == ["east", "west"]
    assert got[0][1] == pytest.approx(exact(-16.85, 179.95, -16.85, -179.945), abs=1e-3)
    assert 10_000 < got[0][1] < 12_000 and 200_000 < got[1][1] < 210_000


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("pole", [90.0, -90.0])
def test_stores_near_the_poles(backend: str, pole: float) -> None:
    sign = 1 if pole > 0 else -1
    stores = [store(f"p{i}", sign * (89.9 + 0.01 * (i % 10)), -180 + 37 * i) for i in range(10)]
    stores.append(store("pole", pole, 0.0))
    index = build_index(stores, backend)
    for lon in (-170.0, 0.0, 45.0, 179.9):
        assert_same(near(index, sign * 89.95, lon, k=5), brute(stores, sign * 89.95, lon, 5))
    assert near(index, pole, 123.0, k=1) == [("pole", 0.0)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_identical_coordinates_are_ordered_by_store_id(backend: str) -> None:
    ids = ["d", "b", "e", "a", "c"]
    index = build_index([store(i, 48.8566, 2.3522) for i in ids], backend)
    assert [sid for sid, _ in near(index, 48.86, 2.35, k=3)] == ["a", "b", "c"]
    assert [sid for sid, _ in near(index, 48.86, 2.35, k=10)] == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_ties_spanning_several_index_batches_come_once_each_in_store_id_order(backend: str) -> None:
    # More identical stores than the kd-tree's first batch (k + 2, then four times as many).
    ids = [f"t{(i * 37) % 90:02d}" for i in range(90)]
    index = build_index([store(i, 48.8566, 2.3522) for i in ids] + [store("far", 48.9, 2.4)], backend)
    assert [sid for sid, _ in near(index, 48.86, 2.35, k=30)] == sorted(ids)[:30]
    assert [sid for sid, _ in near(index, 48.8566, 2.3522, k=None, radius_m=0.0)] == sorted(ids)
    assert [sid for sid, _ in near(index, 48.86, 2.35, k=95)] == [*sorted(ids), "far"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_radius_zero_returns_only_stores_exactly_at_the_point(backend: str) -> None:
    index = build_index([store("here", 40.0, -74.0), store("close", 40.00001, -74.0)], backend)
    assert near(index, 40.0, -74.0, k=None, radius_m=0.0) == [("here", 0.0)]
    assert near(index, 40.0, -74.0, k=10, radius_m=0.0) == [("here", 0.0)]
    assert near(index, 40.0, -74.1, k=None, radius_m=0.0) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_k_larger_than_the_number_of_stores_returns_them_all(backend: str) -> None:
    stores = [store("a", 0, 0), store("b", 10, 10), store("c", -30, 170)]
    index = build_index(stores, backend)
    assert_same(near(index, 1, 1, k=50), brute(stores, 1, 1, None))
    assert near(build_index([], backend), 1, 1, k=5) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_nearest_k_matches_brute_force_geodesic_on_random_stores(backend: str) -> None:
    rnd = random.Random(20260615)
    stores = [store(f"u{i:04d}", *random_point(rnd)) for i in range(500)]
    # A dense cluster (a city) where the sphere and the ellipsoid disagree most often.
    stores += [store(f"c{i:04d}", 60 + rnd.gauss(0, 0.3), 25 + rnd.gauss(0, 0.6)) for i in range(300)]
    index = build_index(stores, backend)
    for n in range(32):
        lat, lon = random_point(rnd) if n % 2 else (60 + rnd.gauss(0, 0.5), 25 + rnd.gauss(0, 1))
        k = (1, 5, 10, 25)[n % 4]
        assert_same(near(index, lat, lon, k=k), brute(stores, lat, lon, k))
    for _ in range(6):
        lat, lon = 60 + rnd.gauss(0, 0.5), 25 + rnd.gauss(0, 1)
        radius = rnd.uniform(1_000, 50_000)
        assert_same(near(index, lat, lon, k=None, radius_m=radius), brute(stores, lat, lon, None, radius))


def test_sphere_bound_holds_for_random_pairs() -> None:
    """The candidate margin rests on R_MIN·θ <= s <= R_MAX·θ; check it, near poles and antipodes too."""
    rnd = random.Random(7)
    for n in range(3000):
        a = random_point(rnd)
        b = random_point(rnd) if n % 3 else (max(-90, min(90, a[0] + rnd.gauss(0, 0.5))), a[1] + rnd.gauss(0, 0.5))
        va, vb = unit_vector(*a), unit_vector(*b)
        theta = 2 * math.asin(min(math.dist(va, vb) / 2, 1.0))
        s = exact(*a, *b)
        assert R_MIN * theta * (1 - 1e-12) <= s <= R_MAX * theta * (1 + 1e-12) + 1e-6


def test_vincenty_agrees_with_karney_including_nearly_antipodal_points() -> None:
    rnd = random.Random(11)
    for _ in range(500):
        a, b = random_point(rnd), random_point(rnd)
        assert geodesic_distance(*a, *b) == pytest.approx(exact(*a, *b), abs=1e-3)
    assert geodesic_distance(0, 0, 0.5, 179.7) == pytest.approx(exact(0, 0, 0.5, 179.7), abs=1e-6)


def test_short_lines_agree_with_karney_to_a_hundredth_of_a_millimetre() -> None:
    """The closed form the search uses up to SHORT_LINE_MAX of chord, on random lines from 1 cm
    to 200 km in every direction, a tenth of them starting within a degree of a pole."""
    rnd = random.Random(31)
    measured = 0
    for n in range(4000):
        lat, lon = random_point(rnd)
        if n % 10 == 0:
            lat = math.copysign(rnd.uniform(89.0, 90.0), lat)
        line = Geodesic.WGS84.Direct(lat, lon, rnd.uniform(0, 360), 10 ** rnd.uniform(-2, math.log10(SHORT_LINE_MAX)))
        s = short_geodesic(*ecef(lat, lon), *ecef(line["lat2"], line["lon2"]))
        if s is None:  # a chord just over the limit: the search uses Vincenty
            continue
        measured += 1
        assert s == pytest.approx(exact(lat, lon, line["lat2"], line["lon2"]), abs=1e-5, rel=1e-9)
    assert measured > 3900
    # Longer lines are left to Vincenty / Karney; the same point is 0.
    assert short_geodesic(*ecef(0, 0), *ecef(0, 2)) is None
    assert short_geodesic(*ecef(51.5, -0.1), *ecef(51.5, -0.1)) == 0.0
    assert short_geodesic(*ecef(90, 0), *ecef(90, 120)) == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_filters_keep_exact_order_and_skip_closed_unknown_and_missing_services(backend: str) -> None:
    rnd = random.Random(5)
    day = OpeningHours.parse({"weekly": {"mon-sun": ["09:00-17:00"]}})
    night = OpeningHours.parse({"weekly": {"mon-sun": ["20:00-04:00"]}})
    stores = []
    for i in range(800):
        lat, lon = 51.5 + rnd.gauss(0, 0.2), -0.1 + rnd.gauss(0, 0.3)
        hours = (day, night, None)[i % 3]
        services = ("pickup",) if i % 2 else ("returns",)
        stores.append(store(f"s{i:03d}", lat, lon, timezone="Europe/London", hours=hours, services=services))
    index = build_index(stores, backend)
    at = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)  # 12:00 in London: the day stores are open
    eligible = [s for s in stores if s.hours is day and "pickup" in s.services]
    got = near(index, 51.5, -0.1, k=10, open_at=at, services=("pickup",))
    assert_same(got, brute(eligible, 51.5, -0.1, 10))
    matches = search(index, StoreQuery(51.5, -0.1, k=3, open_at=at, services=("pickup",), now=NOW))
    assert all(m.is_open and m.services == ("pickup",) for m in matches)
    # Without an opening-time filter, stores with unknown hours are included (status None).
    unfiltered = search(index, StoreQuery(51.5, -0.1, k=30, now=NOW))
    assert any(m.is_open is None for m in unfiltered)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bounding_box_across_the_antimeridian(backend: str) -> None:
    stores = [store("w", -17, 179.5), store("e", -17, -179.5), store("out", -17, 170), store("north", 5, 179.9)]
    index = build_index(stores, backend)
    box = BBox(-20, 179, -10, -179)
    assert box.crosses_antimeridian and box.center() == (-15.0, 180.0)
    got = near(index, -17, 179.9, k=None, bbox=box)
    assert [sid for sid, _ in got] == ["w", "e"]
    assert [sid for sid, _ in near(index, -17, 170, k=1, bbox=box)] == ["w"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_bounding_box_of_many_stores_matches_brute_force(backend: str) -> None:
    rnd = random.Random(11)
    stores = [store(f"b{i:04d}", 48 + rnd.uniform(-1, 1), 2 + rnd.uniform(-1.5, 1.5)) for i in range(600)]
    stores += [store("twin-b", 48.2, 2.2), store("twin-a", 48.2, 2.2)]  # an exact tie: by id
    index = build_index(stores, backend)
    box = BBox(47.6, 1.2, 48.5, 2.8)
    inside = [s for s in stores if 47.6 <= s.latitude <= 48.5 and 1.2 <= s.longitude <= 2.8]
    assert 150 < len(inside) < 600
    assert_same(near(index, 48.1, 2.0, k=None, bbox=box), brute(inside, 48.1, 2.0, None))
    assert_same(near(index, 48.1, 2.0, k=7, bbox=box, radius_m=20_000), brute(inside, 48.1, 2.0, 7, 20_000))


def test_grid_falls_back_to_best_first_for_far_queries_on_clustered_data() -> None:
    rnd = random.Random(3)
    stores = [store(f"c{i}", 48.1 + rnd.gauss(0, 0.05), 11.5 + rnd.gauss(0, 0.05)) for i in range(3000)]
    index = GridIndex(stores)
    # The antipode of Munich: every store is ~20,000 km away.
    assert_same(near(index, -48.1, -168.5, k=5), brute(stores, -48.1, -168.5, 5))


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"latitude": 91.0}, "invalid_coordinates"),
        ({"longitude": float("nan")}, "invalid_coordinates"),
        ({"k": 0}, "invalid_input"),
        ({"radius_m": -1.0}, "invalid_input"),
        ({"k": None}, "invalid_input"),
    ],
)
def test_bad_queries_are_typed_errors(kwargs: dict[str, object], code: str) -> None:
    index = build_index([store("a", 0, 0)], "grid")
    args: dict[str, object] = {"latitude": 0.0, "longitude": 0.0, "now": NOW} | kwargs
    with pytest.raises(InvalidInput) as info:
        search(index, StoreQuery(**args))  # type: ignore[arg-type]
    assert info.value.code == code
    assert info.value.message.endswith(".")


def test_bad_bounding_box_is_a_typed_error() -> None:
    with pytest.raises(InvalidInput, match="south edge"):
        BBox(10, 0, 5, 1)
    with pytest.raises(InvalidInput, match="south,west,north,east"):
        BBox.parse("1,2,3")
