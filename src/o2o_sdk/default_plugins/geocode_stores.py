"""Default geocoder: find what a customer typed among the shop's own store addresses.

No external service is asked. The query (a postcode, a postcode's first half, a city, a
street) is matched, ignoring case, accents, spaces and punctuation, against each store's
``address`` and its ``postcode`` / ``city`` attributes, as a whole word sequence (so ``W1D``
matches ``London W1D 5PL`` but ``W1`` does not). The place is the mean position of the
matching stores, with an accuracy that covers them all; the fewer stores match, the more
precise the answer. Install a geocoding plugin for arbitrary addresses.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import TYPE_CHECKING

from ..geo import geodesic_distance, unit_vector
from ..hookspecs import hookimpl
from ..models import GeoResult, Store

if TYPE_CHECKING:
    from ..sdk import O2O

__all__ = ["find_in_stores"]

#: A single store's address matched: the customer is "around there".
_STORE_ACCURACY_M = 500.0
_MIN_QUERY = 2


def _fold(text: str) -> str:
    """Lower case, accents and punctuation dropped, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("ß", "ss")
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def _haystack(store: Store) -> str:
    parts = [store.address]
    for key in ("postcode", "postal_code", "zip", "city", "town", "district"):
        value = store.attributes.get(key)
        if isinstance(value, str):
            parts.append(value)
    return _fold(" , ".join(parts))


def find_in_stores(stores: list[Store], query: str) -> list[GeoResult]:
    """The place ``query`` names among ``stores``' addresses (at most one result)."""
    folded = _fold(query)
    compact = folded.replace(" ", "")
    if len(compact) < _MIN_QUERY:
        return []
    # Whole word sequence, spaces optional inside: "w1d5pl" finds "w1d 5pl".
    pattern = re.compile(r"(?<!\w)" + r"\s?".join(map(re.escape, compact)) + r"(?!\w)")
    found = [s for s in stores if pattern.search(_haystack(s))]
    if not found:
        return []
    if len(found) == 1:
        s = found[0]
        return [GeoResult(s.latitude, s.longitude, f"{query.strip()} ({s.name})", accuracy_m=_STORE_ACCURACY_M, source="stores")]
    x = y = z = 0.0
    for s in found:
        ux, uy, uz = unit_vector(s.latitude, s.longitude)
        x, y, z = x + ux, y + uy, z + uz
    norm = math.sqrt(x * x + y * y + z * z)
    if norm < 1e-9:  # stores all around the globe: no meaningful centre
        return []
    lat = math.degrees(math.asin(max(-1.0, min(1.0, z / norm))))
    lon = math.degrees(math.atan2(y, x))
    spread = max(geodesic_distance(lat, lon, s.latitude, s.longitude) for s in found)
    return [GeoResult(lat, lon, query.strip(), accuracy_m=max(_STORE_ACCURACY_M, spread), source="stores")]


@hookimpl(trylast=True)
def o2o_geocode(sdk: O2O, query: str) -> list[GeoResult] | None:
    return find_in_stores(sdk.stores.list(), query)
