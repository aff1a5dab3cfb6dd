"""Stores in and out: GeoJSON (FeatureCollection of Points, or one Feature per line) and CSV.

Every row is checked on its own: a bad row is reported with its line (CSV, GeoJSON lines) or
feature number (GeoJSON) and the good rows are kept. See ``docs/locator.md`` for the columns.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TextIO

from ..errors import InvalidInput
from ..geo import check_coordinates
from ..hours import OpeningHours, zone
from ..models import Store
from ._models import RowError

__all__ = [
    "CSV_COLUMNS",
    "parse_csv",
    "parse_geojson",
    "store_from_properties",
    "store_to_feature",
    "write_csv",
    "write_geojson",
]

#: CSV columns, in export order. ``id, name, latitude, longitude, timezone`` are required on import.
CSV_COLUMNS = (
    "id", "name", "latitude", "longitude", "timezone", "address", "services",
    "hours", "checkin_radius_m", "external_ids", "attributes",
)  # fmt: skip
_KNOWN = {"id", "name", "latitude", "longitude", "timezone", "address", "services", "hours",
          "checkin_radius_m", "external_ids", "attributes"}  # fmt: skip

Row = tuple[int, Store | RowError]


def _split_list(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        parts = value.replace("|", ";").split(";")
        return tuple(p.strip() for p in parts if p.strip())
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    raise InvalidInput(f"services must be a list or a ';'-separated string, got {value!r}.")


def _json_field(value: Any, what: str) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{what} is not valid JSON ({exc.msg} at column {exc.colno}).", code="invalid_hours" if what == "hours" else "invalid_input") from None
    return value


def _external_ids(value: Any) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, str) and not value.lstrip().startswith("{"):
        out = {}
        for part in _split_list(value):
            platform, sep, ident = part.partition(":")
            if not sep:
                raise InvalidInput(f"external id {part!r} needs the form platform:id.")
            out[platform.strip()] = ident.strip()
        return out
    value = _json_field(value, "external_ids")
    if not isinstance(value, Mapping):
        raise InvalidInput("external_ids must be an object like {\"shopify\": \"123\"}.")
    return {str(k): str(v) for k, v in value.items()}


def store_from_properties(props: Mapping[str, Any], latitude: Any, longitude: Any) -> Store:
    """A checked :class:`Store` from GeoJSON properties / a CSV row; :class:`InvalidInput` otherwise."""
    store_id = str(props.get("id") or "").strip()
    if not store_id:
        raise InvalidInput("The store has no id.")
    name = str(props.get("name") or "").strip()
    if not name:
        raise InvalidInput(f"Store {store_id}: no name.")
    if latitude in (None, "") or longitude in (None, ""):
        raise InvalidInput(f"Store {store_id}: latitude and longitude are required.", code="invalid_coordinates")
    lat, lon = check_coordinates(latitude, longitude, what=f"Store {store_id}")
    tz = str(props.get("timezone") or "").strip()
    if not tz:
        raise InvalidInput(f"Store {store_id}: no time zone (an IANA name such as Europe/Paris).", code="unknown_timezone")
    try:
        zone(tz)
    except InvalidInput as exc:
        raise InvalidInput(f"Store {store_id}: {exc.message}", code=exc.code) from None
    hours_in = _json_field(props.get("hours"), "hours")
    try:
        hours = OpeningHours.parse(hours_in) if hours_in is not None else None
    except InvalidInput as exc:
        raise InvalidInput(f"Store {store_id}: hours: {exc.message}", code=exc.code) from None
    radius_in = props.get("checkin_radius_m")
    try:
        radius = float(radius_in) if radius_in not in (None, "") else 100.0
    except (TypeError, ValueError):
        raise InvalidInput(f"Store {store_id}: checkin_radius_m {radius_in!r} is not a number.") from None
    if radius < 0:
        raise InvalidInput(f"Store {store_id}: the check-in radius cannot be negative.")
    attributes = _json_field(props.get("attributes"), "attributes") or {}
    if not isinstance(attributes, Mapping):
        raise InvalidInput(f"Store {store_id}: attributes must be an object.")
    attributes = dict(attributes)
    for key, value in props.items():
        if key not in _KNOWN and value not in (None, ""):
            attributes.setdefault(str(key), value)
    return Store(
        id=store_id, name=name, timezone=tz, latitude=lat, longitude=lon,
        address=str(props.get("address") or ""), services=_split_list(props.get("services")),
        hours=hours, checkin_radius_m=radius, external_ids=_external_ids(props.get("external_ids")),
        attributes=attributes,
    )  # fmt: skip


def _row(line: int, make: Callable[[], Store], props: Mapping[str, Any] | None) -> Row:
    try:
        return line, make()
    except InvalidInput as exc:
        sid = str(props.get("id")) if isinstance(props, Mapping) and props.get("id") else None
        return line, RowError(line, exc.message, sid)


def _feature(line: int, feature: Any) -> Row:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        return line, RowError(line, "not a GeoJSON Feature")
    geometry = feature.get("geometry")
    props = dict(feature.get("properties") or {})
    if "id" not in props and feature.get("id") is not None:
        props["id"] = feature["id"]
    if not isinstance(geometry, Mapping) or geometry.get("type") != "Point":
        return _row(line, lambda: _fail(f"Store {props.get('id')}: the geometry must be a Point."), props)
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        return _row(line, lambda: _fail(f"Store {props.get('id')}: a Point needs [longitude, latitude]."), props)
    return _row(line, lambda: store_from_properties(props, coords[1], coords[0]), props)


def _fail(message: str) -> Store:
    raise InvalidInput(message)


def parse_geojson(stream: TextIO) -> tuple[int, Iterator[Row]]:
    """``(row count, rows)`` from a FeatureCollection, or one Feature per line (GeoJSON lines)."""
    text = stream.read()
    stripped = text.lstrip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if stripped.startswith("{") and "\n" in stripped.strip():
            lines = text.splitlines()
            features = [(n, ln) for n, ln in enumerate(lines, 1) if ln.strip()]
            return len(features), _geojson_lines(features)
        raise InvalidInput(f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    if isinstance(data, Mapping) and data.get("type") == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise InvalidInput("The GeoJSON must be a FeatureCollection with a 'features' list.")
    features = data["features"]
    return len(features), (_feature(n, f) for n, f in enumerate(features, 1))


def _geojson_lines(lines: list[tuple[int, str]]) -> Iterator[Row]:
    for n, line in lines:
        try:
            feature = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, RowError(n, f"not valid JSON ({exc.msg})")
            continue
        yield _feature(n, feature)


def parse_csv(stream: TextIO) -> tuple[int, Iterator[Row]]:
    """``(row count, rows)`` from CSV with a header row; rows are numbered by their line in the file."""
    text = stream.read()
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    missing = [c for c in ("id", "name", "latitude", "longitude", "timezone") if c not in fields]
    if missing:
        raise InvalidInput(f"The CSV lacks the column(s) {', '.join(missing)}; the header must name them.")
    total = max(text.count("\n") - 1, 0)

    def rows() -> Iterator[Row]:
        start = reader.line_num + 1
        for record in reader:
            line = start
            start = reader.line_num + 1
            if None in record:
                yield line, RowError(line, "more cells than columns", record.get("id") or None)
                continue
            props = {k: (v.strip() if isinstance(v, str) else v) for k, v in record.items()}
            yield _row(line, lambda p=props: store_from_properties(p, p.get("latitude"), p.get("longitude")), props)  # type: ignore[misc]

    return total, rows()


def store_to_feature(store: Store) -> dict[str, Any]:
    """A GeoJSON Feature for ``store``."""
    props: dict[str, Any] = {
        "id": store.id, "name": store.name, "address": store.address, "timezone": store.timezone,
        "services": list(store.services), "hours": store.hours.to_dict() if store.hours is not None else None,
        "checkin_radius_m": store.checkin_radius_m, "external_ids": dict(store.external_ids),
        "attributes": dict(store.attributes),
    }  # fmt: skip
    return {"type": "Feature", "id": store.id, "geometry": {"type": "Point", "coordinates": [store.longitude, store.latitude]}, "properties": props}


def write_geojson(stores: Iterable[Store], out: TextIO) -> int:
    """Write a FeatureCollection; returns the number of stores."""
    features = [store_to_feature(s) for s in stores]
    json.dump({"type": "FeatureCollection", "features": features}, out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(features)


def write_csv(stores: Iterable[Store], out: TextIO) -> int:
    """Write CSV with :data:`CSV_COLUMNS`; returns the number of stores."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for s in stores:
        writer.writerow([
            s.id, s.name, repr(s.latitude), repr(s.longitude), s.timezone, s.address, ";".join(s.services),
            json.dumps(s.hours.to_dict(), separators=(",", ":")) if s.hours is not None else "",
            repr(s.checkin_radius_m), json.dumps(s.external_ids, separators=(",", ":")) if s.external_ids else "",
            json.dumps(s.attributes, separators=(",", ":"), default=str) if s.attributes else "",
        ])  # fmt: skip
        n += 1
    return n
