"""``o2o stores``: import, export, find the nearest stores, show a store and its hours."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidInput
from ..geo import BBox
from ..hours import DAYS
from ._util import Progress, parse_datetime, parse_float, print_json

if TYPE_CHECKING:
    from ..sdk import O2O


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    stores = sub.add_parser("stores", help="stores: import, export, nearest, hours")
    ssub = stores.add_subparsers(dest="stores_command", metavar="COMMAND", required=True)

    p = ssub.add_parser("import", help="import stores from GeoJSON or CSV (insert or update by id)")
    p.add_argument("file")
    p.add_argument("--format", choices=("geojson", "csv"), help="default: from the file extension")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_import)

    p = ssub.add_parser("export", help="export every store as GeoJSON or CSV")
    p.add_argument("--format", choices=("geojson", "csv"), default="geojson")
    p.add_argument("--out", help="write to this file (default: stdout)")
    p.set_defaults(func=_export)

    p = ssub.add_parser("near", help="the nearest stores to a point (exact WGS84 distance)")
    p.add_argument("lat", type=parse_float, metavar="LAT")
    p.add_argument("lon", type=parse_float, metavar="LON")
    p.add_argument("--k", type=int, default=10, help="how many stores (default 10)")
    p.add_argument("--radius", type=parse_float, metavar="M", help="only within this many metres")
    p.add_argument("--bbox", metavar="S,W,N,E", help="only inside this box (west > east crosses 180°)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--open-now", action="store_true", help="only stores open now (their local time)")
    when.add_argument("--open-at", metavar="ISO", help="only stores open then; without an offset it is each store's local time")
    p.add_argument("--open-for", type=int, metavar="MIN", help="and open at least this many minutes after")
    p.add_argument("--service", action="append", default=[], metavar="S", help="required service (repeatable)")
    p.add_argument("--sku", action="append", default=[], metavar="SKU", help="required in stock (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_near)

    p = ssub.add_parser("show", help="show one store")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_show)

    p = ssub.add_parser("hours", help="a store's opening hours and whether it is open")
    p.add_argument("id")
    p.add_argument("--at", metavar="ISO", help="evaluate at this time (default: now)")
    p.add_argument("--days", type=int, default=7, help="list the actual hours of the next N days (default 7)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_hours)

    p = ssub.add_parser("sync", help="pull stores from adapters (o2o_register_stores)")
    p.set_defaults(func=_sync)

    from ._checkin import add_poster_command

    add_poster_command(ssub)


def _import(sdk: O2O, args: argparse.Namespace) -> int:
    path = Path(args.file)
    progress = Progress(f"importing {path.name}", 1)
    report = sdk.stores.import_file(path, format=args.format, progress=progress)
    if args.json:
        print(json.dumps({"imported": report.imported, "errors": [{"line": e.line, "id": e.store_id, "message": e.message} for e in report.errors]}, indent=2))
    else:
        print(f"imported {report.imported} store(s); {len(report.errors)} row(s) rejected")
        for e in report.errors:
            print(f"{path.name}:{e.line}: {e.message}", file=sys.stderr)
    return 0 if report.ok else 1


def _export(sdk: O2O, args: argparse.Namespace) -> int:
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as out:
            n = sdk.stores.export(out, args.format)
        print(f"exported {n} store(s) to {args.out}", file=sys.stderr)
    else:
        sdk.stores.export(sys.stdout, args.format)
    return 0


def _near(sdk: O2O, args: argparse.Namespace) -> int:
    if args.k is not None and args.k < 1:
        raise InvalidInput("--k must be at least 1.")
    matches = sdk.stores.near(
        args.lat, args.lon, k=args.k, radius_m=args.radius,
        bbox=BBox.parse(args.bbox) if args.bbox else None,
        open_now=args.open_now, open_at=parse_datetime(args.open_at, what="arrival time") if args.open_at else None,
        open_for=timedelta(minutes=args.open_for) if args.open_for is not None else None,
        services=args.service, skus=args.sku,
    )  # fmt: skip
    if args.json:
        print(json.dumps([m.to_dict() for m in matches], indent=2, ensure_ascii=False))
        return 0
    if not matches:
        print("no store matches")
        return 0
    for n, m in enumerate(matches, 1):
        status = "hours unknown" if m.is_open is None else ("open" if m.is_open else "closed")
        change = m.next_change
        if change is not None:
            status += f", {'closes' if m.is_open else 'opens'} {change:%a %H:%M} {change.tzname()}"
        extra = f"  [{', '.join(m.services)}]" if m.services else ""
        if m.stock:
            extra += "  stock " + ", ".join(f"{sku}={q}" for sku, q in m.stock.items())
        print(f"{n:>3}. {_km(m.distance_m):>9}  {m.store.id}  {m.store.name} — {status}{extra}")
    return 0


def _km(metres: float) -> str:
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.2f} km"


def _show(sdk: O2O, args: argparse.Namespace) -> int:
    store = sdk.stores.get(args.id)
    if args.json:
        print_json(sdk.converter, store)
        return 0
    print(f"{store.id}  {store.name}")
    if store.address:
        print(f"  address   {store.address}")
    print(f"  location  {store.latitude}, {store.longitude}  ({store.timezone})")
    print(f"  services  {', '.join(store.services) or '-'}")
    print(f"  check-in  {store.checkin_radius_m:g} m")
    for platform, ident in sorted(store.external_ids.items()):
        print(f"  {platform:<9} {ident}")
    print(f"  hours     {'unknown' if store.hours is None else 'see: o2o stores hours ' + store.id}")
    return 0


def _hours(sdk: O2O, args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    store = sdk.stores.get(args.id)
    tz = ZoneInfo(store.timezone)
    at = parse_datetime(args.at, what="time") if args.at else sdk.clock.now()
    at = at.replace(tzinfo=tz) if at.tzinfo is None else at
    hours = store.hours
    if args.json:
        status = hours.status(at, tz) if hours is not None else None
        print(json.dumps({
            "id": store.id, "timezone": store.timezone, "at": at.astimezone(tz).isoformat(),
            "hours": hours.to_dict() if hours is not None else None,
            "open": None if status is None else status.open,
            "next_change": None if status is None or status.next_change is None else status.next_change.isoformat(),
        }, indent=2))  # fmt: skip
        return 0
    print(f"{store.id}  {store.name}  ({store.timezone}; times are local)")
    if hours is None:
        print("  hours unknown")
        return 0
    for i, day in enumerate(DAYS):
        print(f"  {day}  {', '.join(map(str, hours.weekly[i])) or 'closed'}")
    for d, ivs in sorted(hours.special.items()):
        print(f"  {d}  {', '.join(map(str, ivs)) or 'closed'} (special)")
    for c in hours.closures:
        print(f"  closed {c.start} .. {c.end}{' — ' + c.reason if c.reason else ''}")
    status = hours.status(at, tz)
    local = at.astimezone(tz)
    line = f"  at {local:%a %Y-%m-%d %H:%M %Z}: {'open' if status.open else 'closed'}"
    if status.next_change is not None:
        line += f", {'closes' if status.open else 'opens'} {status.next_change:%a %Y-%m-%d %H:%M %Z}"
    print(line)
    if args.days > 0:
        print(f"  next {args.days} day(s):")
        day0 = local.date()
        for n in range(args.days):
            d = day0 + timedelta(days=n)
            spans = hours._day_spans(d)
            text = ", ".join(_span_text(s, e) for s, e in spans) or "closed"
            print(f"    {d:%a %Y-%m-%d}  {text}")
    return 0


def _span_text(start: int, end: int) -> str:
    base = (start // 1440) * 1440
    e = end - base
    suffix = " (+1 day)" if e > 1440 else ""
    e = e % 1440 if e != 1440 else 1440
    return f"{(start - base) // 60:02d}:{(start - base) % 60:02d}-{e // 60:02d}:{e % 60:02d}{suffix}"


def _sync(sdk: O2O, args: argparse.Namespace) -> int:
    report = sdk.stores.sync()
    print(f"synced {report.upserted} store(s); {len(report.rejected)} rejected")
    for e in report.rejected:
        print(f"  {e.store_id or '?'}: {e.message}", file=sys.stderr)
    return 0 if not report.rejected else 1
