"""Geofence check-in: the whole uncertainty circle of the fix must lie in the store's circle.

Positions are placed at exact WGS84 geodesic distances from the store (geographiclib's
``Direct``), so the edge cases are the real edge, to a millimetre.
"""

from __future__ import annotations

import math

import pytest
from geographiclib.geodesic import Geodesic

from o2o_sdk import O2O, CheckinReason, CheckinRefused, CheckinRequest, InvalidInput, Store, TrustLevel

SOHO = Store("lon-soho", "London Soho", "Europe/London", 51.5136, -0.1365)  # radius 100 m
# On Taveuni the 180th meridian runs through the island; this store sits just west of it.
TAVEUNI = Store("fj-taveuni", "Taveuni", "Pacific/Fiji", -16.8, 179.9999, checkin_radius_m=60.0)
ADA = "ada@example.com"


def at(store: Store, metres: float, bearing: float = 45.0) -> tuple[float, float]:
    """The point ``metres`` from the store along ``bearing`` (degrees from north)."""
    g = Geodesic.WGS84.Direct(store.latitude, store.longitude, bearing, metres)
    return g["lat2"], g["lon2"]


def refusal(sdk: O2O, store: Store, point: tuple[float, float], accuracy: float) -> str:
    with pytest.raises(CheckinRefused) as err:
        sdk.checkins.with_location(store.id, *point, accuracy, customer_id=ADA)
    return err.value.reason


@pytest.fixture
def geo_sdk(sdk: O2O) -> O2O:
    sdk.stores.add(TAVEUNI)
    return sdk


def test_a_precise_fix_inside_the_circle_checks_in_with_verified_trust(geo_sdk: O2O) -> None:
    result = geo_sdk.checkins.with_location("lon-soho", *at(SOHO, 40), 15, customer_id=ADA)
    c = result.checkin
    assert result.created and (c.method, c.trust) == ("geofence", TrustLevel.VERIFIED)
    assert c.evidence["accuracy_m"] == 15 and c.evidence["radius_m"] == 100
    assert c.evidence["distance_m"] == pytest.approx(40, abs=0.01)


@pytest.mark.parametrize("bearing", [0, 90, 180, 270])
def test_without_uncertainty_the_edge_is_inside_and_just_beyond_is_outside(geo_sdk: O2O, bearing: float) -> None:
    assert geo_sdk.checkins.with_location("lon-soho", *at(SOHO, 99.999, bearing), 0, customer_id=ADA).created
    assert refusal(geo_sdk, SOHO, at(SOHO, 100.001, bearing), 0) == CheckinReason.OUTSIDE_GEOFENCE


def test_at_the_edge_the_accuracy_decides(geo_sdk: O2O) -> None:
    # 90 m away: inside the circle, but only a fix good to 10 m proves it.
    assert refusal(geo_sdk, SOHO, at(SOHO, 90.001), 10) == CheckinReason.OUTSIDE_GEOFENCE
    assert refusal(geo_sdk, SOHO, at(SOHO, 60), 45) == CheckinReason.OUTSIDE_GEOFENCE
    assert geo_sdk.checkins.with_location("lon-soho", *at(SOHO, 89.999), 10, customer_id=ADA).created


def test_a_fix_less_precise_than_the_radius_is_refused_even_at_the_centre(geo_sdk: O2O) -> None:
    centre = (SOHO.latitude, SOHO.longitude)
    assert refusal(geo_sdk, SOHO, centre, 100.5) == CheckinReason.LOCATION_TOO_IMPRECISE
    assert refusal(geo_sdk, SOHO, centre, 5000) == CheckinReason.LOCATION_TOO_IMPRECISE
    assert geo_sdk.checkins.with_location("lon-soho", *centre, 100, customer_id=ADA).created


def test_a_fix_without_accuracy_is_refused_not_guessed(geo_sdk: O2O) -> None:
    request = CheckinRequest("geofence", "lon-soho", ADA, latitude=SOHO.latitude, longitude=SOHO.longitude)
    with pytest.raises(CheckinRefused) as err:
        geo_sdk.checkins.check_in(request)
    assert err.value.reason == CheckinReason.LOCATION_TOO_IMPRECISE


def test_the_fence_follows_the_store_radius(geo_sdk: O2O) -> None:
    geo_sdk.stores.add(Store("kiosk", "Kiosk", "Europe/London", 51.5, -0.12, checkin_radius_m=25.0))
    kiosk = geo_sdk.stores.get("kiosk")
    assert refusal(geo_sdk, kiosk, at(kiosk, 10), 30) == CheckinReason.LOCATION_TOO_IMPRECISE
    assert refusal(geo_sdk, kiosk, at(kiosk, 20), 6) == CheckinReason.OUTSIDE_GEOFENCE
    assert geo_sdk.checkins.with_location("kiosk", *at(kiosk, 20), 5, customer_id=ADA).created


def test_a_store_on_the_antimeridian_measures_across_it(geo_sdk: O2O) -> None:
    east = at(TAVEUNI, 40, 90)  # 40 m east: longitude wraps to about -179.9997
    assert east[1] < -179.999
    result = geo_sdk.checkins.with_location("fj-taveuni", *east, 15, customer_id=ADA)
    assert result.checkin.evidence["distance_m"] == pytest.approx(40, abs=0.01)
    west = at(TAVEUNI, 20, 270)
    assert geo_sdk.checkins.with_location("fj-taveuni", *west, 15, customer_id="bob").created
    assert refusal(geo_sdk, TAVEUNI, at(TAVEUNI, 50, 90), 15) == CheckinReason.OUTSIDE_GEOFENCE


@pytest.mark.parametrize(("lat", "lon", "accuracy"), [
    (91.0, 0.0, 5.0), (0.0, 180.5, 5.0), (math.nan, 0.0, 5.0), (51.5, -0.13, -1.0), (51.5, -0.13, math.inf),
])  # fmt: skip
def test_impossible_positions_are_caller_mistakes(geo_sdk: O2O, lat: float, lon: float, accuracy: float) -> None:
    with pytest.raises(InvalidInput):
        geo_sdk.checkins.with_location("lon-soho", lat, lon, accuracy, customer_id=ADA)


def test_an_unknown_store_is_a_caller_mistake(geo_sdk: O2O) -> None:
    with pytest.raises(InvalidInput) as err:
        geo_sdk.checkins.with_location("nowhere", 0.0, 0.0, 5, customer_id=ADA)
    assert err.value.code == "not_found"


def test_a_refused_fix_is_journaled_with_its_reason(geo_sdk: O2O) -> None:
    refusal(geo_sdk, SOHO, at(SOHO, 500), 10)
    [event] = geo_sdk.journal.read(types=["checkin_refused"])
    assert (event.store_id, event.customer_id) == ("lon-soho", ADA)
    assert event.data == {"reason": "outside_geofence", "method": "geofence"}
