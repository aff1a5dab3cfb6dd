"""Default check-in method ``geofence``: a device position with its accuracy (trust ``verified``).

Accepted only when the store's check-in circle (``store.checkin_radius_m``) contains the
whole uncertainty circle of the fix: exact WGS84 geodesic distance plus accuracy at most the
radius. A fix less precise than the radius is refused (``location_too_imprecise``), never
guessed; so is a fix without an accuracy.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..errors import InvalidInput
from ..hookspecs import hookimpl
from ..models import CheckinMethod, CheckinReason, CheckinRequest, CheckinVerdict, TrustLevel

if TYPE_CHECKING:
    from ..sdk import O2O


def _coordinate(value: float | None, limit: float, name: str) -> float:
    if value is None:
        raise InvalidInput("A location check-in needs a latitude and a longitude.", code="invalid_coordinates")
    number = float(value)
    if not math.isfinite(number) or abs(number) > limit:
        raise InvalidInput(f"The {name} {value!r} is outside -{limit:g}..{limit:g}.", code="invalid_coordinates")
    return number


@hookimpl(trylast=True)
def o2o_verify_checkin(sdk: O2O, request: CheckinRequest) -> CheckinVerdict | None:
    if request.method != CheckinMethod.GEOFENCE:
        return None
    if request.store_id is None:
        raise InvalidInput("A location check-in needs the store.")
    lat = _coordinate(request.latitude, 90.0, "latitude")
    lon = _coordinate(request.longitude, 180.0, "longitude")
    store = sdk.stores.get(request.store_id)
    radius = store.checkin_radius_m
    accuracy = request.accuracy_m
    who = {"store_id": store.id, "customer_id": request.customer_id}
    if accuracy is None:
        return CheckinVerdict.refuse(CheckinReason.LOCATION_TOO_IMPRECISE,
                                     "The location comes without its accuracy, so it cannot prove you are here.", **who)  # fmt: skip
    if not math.isfinite(accuracy) or accuracy < 0:
        raise InvalidInput("The location's accuracy must be a distance in metres, 0 or more.")
    if accuracy > radius:
        return CheckinVerdict.refuse(
            CheckinReason.LOCATION_TOO_IMPRECISE,
            f"The location is too imprecise (±{accuracy:.0f} m) for the check-in area of {store.name}"
            f" ({radius:.0f} m); scan the store's code instead.", **who,
        )  # fmt: skip
    from geographiclib.geodesic import Geodesic

    distance = float(Geodesic.WGS84.Inverse(store.latitude, store.longitude, lat, lon)["s12"])
    if distance + accuracy > radius:
        return CheckinVerdict.refuse(CheckinReason.OUTSIDE_GEOFENCE,
                                     f"You are not at {store.name} yet ({distance:.0f} m ± {accuracy:.0f} m away).", **who)  # fmt: skip
    return CheckinVerdict.accept(store.id, request.customer_id, TrustLevel.VERIFIED,
                                 evidence={"distance_m": round(distance, 2), "accuracy_m": accuracy, "radius_m": radius})  # fmt: skip
