"""``o2o pickups``: order or reserve online, collect in store — the counter's commands."""

from __future__ import annotations

import argparse
from datetime import UTC
from typing import TYPE_CHECKING

from ..errors import InvalidInput
from ..models import OrderLine, Pickup, PickupKind, PickupState
from ._util import parse_datetime, print_json

if TYPE_CHECKING:
    from ..sdk import O2O


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pk = sub.add_parser("pickups", help="pickups and reservations: list them, take their steps at the counter")
    psub = pk.add_subparsers(dest="pickups_command", metavar="COMMAND", required=True)

    p = psub.add_parser("list", help="pickups, oldest first (filter by store, state, customer)")
    p.add_argument("--store")
    p.add_argument("--state", action="append", choices=[s.value for s in PickupState], help="repeatable")
    p.add_argument("--customer")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)

    p = psub.add_parser("create", help="place a pickup or a reservation (shops without platform support)")
    p.add_argument("store")
    p.add_argument("items", nargs="+", metavar="SKU[:QTY]")
    p.add_argument("--kind", choices=[k.value for k in PickupKind], default="order")
    p.add_argument("--customer")
    p.add_argument("--email")
    p.add_argument("--slot", help="slot start, ISO 8601 with offset (see 'o2o pickups slots')")
    p.add_argument("--deadline", help="collect by, ISO 8601 with offset")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_create)

    for name, helptext in (("accept", "the store accepts the pickup"), ("ready", "ready for pickup: the customer gets the pass"),
                           ("arrived", "the customer is here"), ("cancel", "cancel the pickup")):  # fmt: skip
        p = psub.add_parser(name, help=helptext)
        p.add_argument("pickup", help="pickup id")
        if name == "ready":
            p.add_argument("--deadline", help="collect by, ISO 8601 with offset")
        if name == "arrived":
            p.add_argument("--note", help="e.g. the parking spot")
        if name == "cancel":
            p.add_argument("--reason", default="cancelled by the shop")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=_step, step=name)

    p = psub.add_parser("handover", help="hand over at the counter after scanning the pickup pass")
    p.add_argument("pass_", metavar="PASS", help="the pass token or link (or a pickup id)")
    p.add_argument("--store", required=True, help="the store whose counter this is")
    p.add_argument("--staff")
    outcome = p.add_mutually_exclusive_group()
    outcome.add_argument("--bought", dest="bought", action="store_true", default=None, help="reservation: the customer bought")
    outcome.add_argument("--not-bought", dest="bought", action="store_false", help="reservation: the customer did not buy")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_handover)

    p = psub.add_parser("slots", help="a store's pickup slots on a day, with what is booked")
    p.add_argument("store")
    p.add_argument("day", help="YYYY-MM-DD (the store's local date)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_slots)

    p = psub.add_parser("sweep", help="release pickups past their deadline (run it periodically)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_sweep)

    p = psub.add_parser("pass", help="a pickup's pass link (and its QR in the terminal)")
    p.add_argument("pickup")
    p.add_argument("--qr", action="store_true", help="print the QR code in the terminal")
    p.set_defaults(func=_pass)


def _line(p: Pickup) -> str:
    parts = [f"{p.id}  {p.state.value:<11} {p.kind.value:<11} {p.store_id:<14} {p.customer_id or '-':<20}"]
    parts.append(", ".join(f"{i.quantity}x {i.sku}" for i in p.items))
    if p.deadline:
        parts.append(f"by {p.deadline.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    if p.arrival_note:
        parts.append(f"[{p.arrival_note}]")
    if p.platform:
        parts.append(f"({p.platform} {p.order_id})")
    return "  ".join(parts)


def _show(sdk: O2O, args: argparse.Namespace, pickup: Pickup) -> int:
    if args.json:
        print_json(sdk.converter, pickup)
    else:
        print(_line(pickup))
    return 0


def _list(sdk: O2O, args: argparse.Namespace) -> int:
    rows = sdk.pickups.list(store_id=args.store, state=args.state or None, customer_id=args.customer, limit=args.limit)
    if args.json:
        print_json(sdk.converter, rows)
        return 0
    if not rows:
        print("no pickups")
    for p in rows:
        print(_line(p))
    return 0


def _item(text: str) -> OrderLine:
    sku, _, qty = text.partition(":")
    try:
        return OrderLine(sku.strip(), int(qty) if qty else 1)
    except ValueError:
        raise InvalidInput(f"{text!r} is not SKU or SKU:QTY.", code="invalid_item") from None


def _when(text: str | None, what: str) -> object:
    if text is None:
        return None
    value = parse_datetime(text, what=what)
    if value.tzinfo is None:
        raise InvalidInput(f"The {what} needs a UTC offset, e.g. {text}+01:00.", code="naive_datetime")
    return value


def _create(sdk: O2O, args: argparse.Namespace) -> int:
    pickup = sdk.pickups.create(
        args.store, [_item(t) for t in args.items], kind=args.kind, customer_id=args.customer, customer_email=args.email,
        slot_start=_when(args.slot, "slot"), deadline=_when(args.deadline, "deadline"),  # type: ignore[arg-type]
    )  # fmt: skip
    return _show(sdk, args, pickup)


def _step(sdk: O2O, args: argparse.Namespace) -> int:
    if args.step == "accept":
        pickup = sdk.pickups.accept(args.pickup)
    elif args.step == "ready":
        pickup = sdk.pickups.ready(args.pickup, deadline=_when(args.deadline, "deadline"))  # type: ignore[arg-type]
    elif args.step == "arrived":
        pickup = sdk.pickups.arrived(args.pickup, method="staff", note=args.note)
    else:
        pickup = sdk.pickups.cancel(args.pickup, reason=args.reason)
    return _show(sdk, args, pickup)


def _handover(sdk: O2O, args: argparse.Namespace) -> int:
    return _show(sdk, args, sdk.pickups.handover(args.pass_, store_id=args.store, staff_id=args.staff, bought=args.bought))


def _slots(sdk: O2O, args: argparse.Namespace) -> int:
    day = parse_datetime(args.day, what="day").date()
    slots = sdk.pickups.slots(args.store, day)
    if args.json:
        print_json(sdk.converter, [{"start": s.start, "end": s.end, "capacity": s.capacity, "booked": s.booked,
                                    "available": s.available} for s in slots])  # fmt: skip
        return 0
    if not slots:
        print(f"no pickup slots at {args.store} on {day} (closed, or all in the past)")
    tz = sdk.stores.get(args.store).timezone
    from ..hours import zone

    for s in slots:
        print(f"{s.start.astimezone(zone(tz)):%H:%M}-{s.end.astimezone(zone(tz)):%H:%M}  {s.available}/{s.capacity} free")
    return 0


def _sweep(sdk: O2O, args: argparse.Namespace) -> int:
    released = sdk.pickups.release_due()
    if args.json:
        print_json(sdk.converter, {"released": [p.id for p in released]})
    else:
        print(f"released {len(released)} pickup(s) not collected in time")
    return 0


def _pass(sdk: O2O, args: argparse.Namespace) -> int:
    pickup = sdk.pickups.get(args.pickup)
    print(sdk.pickups.pass_url(pickup))
    if args.qr:
        sdk.pickups.pass_qr(pickup).terminal(compact=True)
    return 0
