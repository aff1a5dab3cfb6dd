"""``o2o checkin``: show a store's rotating code, record and list check-ins, customer tokens.

``add_poster_command`` adds ``poster STORE --out FILE`` (SVG or PDF) to any command group;
``o2o stores poster`` and ``o2o checkin poster`` both use it.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..errors import InvalidInput
from ..models import CheckinResult
from ._util import parse_duration, parse_float, print_json

if TYPE_CHECKING:
    from ..sdk import O2O

__all__ = ["add_poster_command", "register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    checkin = sub.add_parser("checkin", help="check-ins: rotating store codes, record, list, customer tokens")
    csub = checkin.add_subparsers(dest="checkin_command", metavar="COMMAND", required=True)

    p = csub.add_parser("code", help="show a store's current rotating check-in code as a terminal QR")
    p.add_argument("store")
    p.add_argument("--watch", action="store_true", help="keep showing the code, renewed every time step (Ctrl-C stops)")
    p.add_argument("--count", type=int, metavar="N", help="with --watch: stop after N codes")
    p.add_argument("--no-qr", action="store_true", help="print the link only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_code)

    p = csub.add_parser("record", help="record a check-in (code link, location, or staff-assisted)")
    p.add_argument("--store", help="the store (required for --location and --staff)")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--customer", help="the customer id (when already authenticated)")
    who.add_argument("--session", help="a customer session token (o2o checkin token CUSTOMER)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--code", metavar="CODE_OR_LINK", help="a rotating code or poster link the customer scanned")
    how.add_argument(
        "--location", nargs=2, type=parse_float, metavar=("LAT", "LON"), help="the device position (needs --accuracy)"
    )
    how.add_argument("--staff", action="store_true", help="staff-assisted at the till (with --token or --customer)")
    p.add_argument("--accuracy", type=parse_float, metavar="M", help="accuracy of --location, metres")
    p.add_argument("--token", help="with --staff: the scanned voucher or member QR (token or link)")
    p.add_argument("--staff-id", help="with --staff: who checked the customer in")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_record)

    p = csub.add_parser("list", help="list check-ins, oldest first")
    p.add_argument("--customer")
    p.add_argument("--store")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)

    p = csub.add_parser("token", help="issue a customer session token (or, with --member, a member QR)")
    p.add_argument("customer")
    p.add_argument("--member", action="store_true", help="a long-lived member token for staff to scan")
    p.add_argument("--expires-in", help="lifetime, e.g. 12h, 365d")
    p.add_argument("--qr", metavar="TARGET", help="also show it as a QR: 'terminal', or a file ending .svg or .png")
    p.set_defaults(func=_token)

    add_poster_command(csub)


def add_poster_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add ``poster STORE --out FILE``: a printable check-in poster (``.svg`` or ``.pdf``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "poster", help="write a printable check-in poster (static QR, trust 'low') as SVG or PDF"
    )
    p.add_argument("store")
    p.add_argument("--out", required=True, help="file ending .svg or .pdf")
    p.set_defaults(func=_poster)
    return p


def _show_code(sdk: O2O, args: argparse.Namespace, out: TextIO) -> datetime:
    code = sdk.checkins.current_code(args.store)
    if args.json:
        print_json(sdk.converter, code, out)
        return code.valid_until
    if not args.no_qr:
        sdk.checkins.qr(code.url).terminal(out=out, compact=True)
    local = code.valid_until.astimezone()
    print(code.url, file=out)
    print(f"{code.store_id}: step {code.step}, shown until {local:%H:%M:%S}", file=out)
    return code.valid_until


def _code(sdk: O2O, args: argparse.Namespace) -> int:
    out = sys.stdout
    if args.count is not None and args.count < 1:
        raise InvalidInput("--count must be at least 1.")
    if not args.watch:
        _show_code(sdk, args, out)
        return 0
    shown = 0
    while True:
        if out.isatty():
            out.write("\033[2J\033[H")
        until = _show_code(sdk, args, out)
        out.flush()
        shown += 1
        if args.count is not None and shown >= args.count:
            return 0
        time.sleep(max((until - sdk.clock.now()).total_seconds(), 0.0) + 0.05)


def _record(sdk: O2O, args: argparse.Namespace) -> int:
    checkins = sdk.checkins
    result: CheckinResult
    if args.code:
        result = checkins.scan(args.code, session=args.session, customer_id=args.customer, store_id=args.store)
    elif args.location:
        if args.store is None or args.accuracy is None:
            raise InvalidInput("--location needs --store and --accuracy.")
        lat, lon = args.location
        result = checkins.with_location(
            args.store, lat, lon, args.accuracy, session=args.session, customer_id=args.customer
        )
    else:
        if args.store is None:
            raise InvalidInput("--staff needs --store.")
        if args.session:
            raise InvalidInput("--staff identifies the customer by --token or --customer, not --session.")
        result = checkins.by_staff(args.store, token=args.token, customer_id=args.customer, staff_id=args.staff_id)
    if args.json:
        print_json(sdk.converter, result)
        return 0
    c = result.checkin
    state = "checked in" if result.created else ("upgraded the check-in" if result.upgraded else "already checked in")
    print(f"{state}: {c.customer_id} at {c.store_id} by {c.method} (trust {c.trust}) — {c.id}")
    return 0


def _list(sdk: O2O, args: argparse.Namespace) -> int:
    found = sdk.checkins.list(customer_id=args.customer, store_id=args.store, limit=args.limit)
    if args.json:
        print_json(sdk.converter, found)
        return 0
    if not found:
        print("no check-ins")
    for c in found:
        print(f"{c.at:%Y-%m-%d %H:%M:%S}Z  {c.store_id:<16} {c.customer_id:<24} {c.method:<9} {c.trust:<8} {c.id}")
    return 0


def _token(sdk: O2O, args: argparse.Namespace) -> int:
    ttl = parse_duration(args.expires_in) if args.expires_in else None
    if args.qr and args.qr != "terminal" and Path(args.qr).suffix.lower() not in (".svg", ".png"):
        raise InvalidInput(f"--qr {args.qr!r}: use 'terminal' or a file ending in .svg or .png.")
    if args.member:
        token = sdk.checkins.member_token(args.customer, **({"ttl": ttl} if ttl else {}))
        text = sdk.checkins.member_url(token)
    else:
        text = token = sdk.checkins.session_token(args.customer, ttl=ttl)
    print(text)
    if args.qr:
        qr = sdk.checkins.qr(text)
        if args.qr == "terminal":
            qr.terminal(compact=True)
        else:
            qr.save(args.qr, scale=8)
    return 0


def _poster(sdk: O2O, args: argparse.Namespace) -> int:
    path = sdk.checkins.save_poster(args.store, args.out)
    print(f"wrote the check-in poster of {args.store} to {path}")
    return 0
