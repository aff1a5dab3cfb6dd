"""``o2o offers``: create offers, issue vouchers, validate / redeem / void at a store."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, RedemptionRefused, Refusal
from ..models import Basket, Caps, Discount, Offer, Validation
from ..money import parse_money
from ._util import Progress, parse_datetime, parse_duration, print_json

if TYPE_CHECKING:
    from ..sdk import O2O


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    offers = sub.add_parser("offers", help="offers and vouchers")
    osub = offers.add_subparsers(dest="offers_command", metavar="COMMAND", required=True)

    p = osub.add_parser("create", help="define an offer")
    p.add_argument("--title", required=True)
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--percent", help="percent off the basket, e.g. 15")
    kind.add_argument("--amount", help="fixed amount off, e.g. '5.00 EUR'")
    kind.add_argument("--free-item", metavar="SKU", help="one free unit of SKU")
    p.add_argument("--starts", help="start, ISO 8601; without an offset it is each store's local time")
    p.add_argument("--ends", help="end, ISO 8601; without an offset it is each store's local time")
    p.add_argument("--stores", help="comma-separated eligible store ids (default: all)")
    p.add_argument("--max-total", type=int, help="cap on total redemptions")
    p.add_argument("--max-per-customer", type=int, help="cap per customer")
    p.add_argument("--budget", help="money budget, e.g. '500 EUR'")
    p.add_argument("--min-basket", help="minimum basket, e.g. '20 EUR'")
    p.add_argument("--id", help="offer id (default: generated)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_create)

    p = osub.add_parser("issue", help="issue signed vouchers for an offer")
    p.add_argument("offer")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--customer", action="append", help="bind to a customer (repeatable)")
    who.add_argument("--count", type=int, help="issue N anonymous vouchers")
    p.add_argument("--expires-in", help="lifetime, e.g. 30d, 12h")
    p.add_argument("--qr", action="append", default=[], metavar="TARGET",
                   help="'terminal', or a file ending .svg or .png (one voucher only)")  # fmt: skip
    p.add_argument("--out", help="write the issued vouchers as CSV to this file (default: stdout)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_issue)

    p = osub.add_parser("show", help="show an offer, or a voucher by its token or link")
    p.add_argument("offer_or_token")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_show)

    for name, helptext in (("validate", "dry run: what would apply at a store"), ("redeem", "redeem a voucher at a store")):
        p = osub.add_parser(name, help=helptext)
        p.add_argument("token", help="voucher token or its full link")
        p.add_argument("--store", required=True)
        p.add_argument("--customer")
        p.add_argument("--basket", help="basket total, e.g. '42.00 EUR'")
        p.add_argument("--json", action="store_true")
        if name == "redeem":
            p.add_argument("--idempotency-key", help="one key per POS transaction; a retry returns the first result")
            p.add_argument("--reservation", help="convert this hold")
            p.set_defaults(func=_redeem)
        else:
            p.set_defaults(func=_validate)

    p = osub.add_parser("void", help="void a redemption (gives caps and budget back)")
    p.add_argument("redemption")
    p.add_argument("--reason", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_void)

    p = osub.add_parser("list", help="list offers with their usage")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)


def token_from(text: str) -> str:
    """Accept a bare token or a voucher link ``…/o/<token>``."""
    text = text.strip()
    if "/o/" in text:
        text = text.rsplit("/o/", 1)[1].split("?", 1)[0].split("#", 1)[0]
    return text


def _int(value: int | None, what: str) -> int | None:
    if value is not None and value < 1:
        raise InvalidInput(f"{what} must be at least 1.")
    return value


def _create(sdk: O2O, args: argparse.Namespace) -> int:
    if args.percent is not None:
        discount = Discount.percent_off(_percent(args.percent))
    elif args.amount is not None:
        discount = Discount.amount_off(parse_money(args.amount))
    else:
        discount = Discount.free_item(args.free_item)
    caps = Caps(
        total=_int(args.max_total, "--max-total"),
        per_customer=_int(args.max_per_customer, "--max-per-customer"),
        budget=parse_money(args.budget) if args.budget else None,
    )
    offer = sdk.offers.create(
        args.title, discount, id=args.id,
        starts_at=parse_datetime(args.starts, what="start") if args.starts else None,
        ends_at=parse_datetime(args.ends, what="end") if args.ends else None,
        stores=[s.strip() for s in args.stores.split(",") if s.strip()] if args.stores else None,
        caps=caps, min_basket=parse_money(args.min_basket) if args.min_basket else None,
    )  # fmt: skip
    if args.json:
        print_json(sdk.converter, offer)
    else:
        print(f"created offer {offer.id}: {offer.title} ({offer.discount.describe()})")
    return 0


def _percent(text: str) -> str:
    from decimal import Decimal, InvalidOperation

    try:
        Decimal(text.rstrip("%"))
    except InvalidOperation:
        raise InvalidInput(f"{text!r} is not a percentage; write it like 15.") from None
    return text.rstrip("%")


def _issue(sdk: O2O, args: argparse.Namespace) -> int:
    offer = sdk.offers.get(args.offer)
    ttl = parse_duration(args.expires_in) if args.expires_in else None
    targets: int | list[str | None]
    if args.count is not None:
        if args.count < 1:
            raise InvalidInput("--count must be at least 1.")
        targets = args.count
    else:
        targets = list(args.customer or [None])
    n = targets if isinstance(targets, int) else len(targets)
    if args.qr and n != 1:
        raise InvalidInput("--qr works for one voucher at a time.")
    for target in args.qr:
        if target != "terminal" and Path(target).suffix.lower() not in (".svg", ".png"):
            raise InvalidInput(f"--qr {target!r}: use 'terminal' or a file ending in .svg or .png.")
    progress = Progress("issuing", n) if n > 1000 else None
    vouchers = sdk.offers.issue_many(offer, targets, ttl=ttl, progress=progress)
    for target in args.qr:
        qr = sdk.offers.qr(vouchers[0])
        if target == "terminal":
            qr.terminal(compact=True)
        else:
            qr.save(target, scale=8, border=4, dark="#111", light="#fff")
            print(f"saved {target}", file=sys.stderr)
    if args.json:
        print_json(sdk.converter, [_voucher_row(sdk, v) for v in vouchers])
        return 0
    if n == 1 and not args.out:
        v = vouchers[0]
        print(f"voucher {v.id} for {offer.title} ({offer.discount.describe()}), expires {v.expires_at:%Y-%m-%d %H:%M} UTC")
        print(sdk.offers.url(v))
        return 0
    out = open(args.out, "w", newline="", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(out)
        writer.writerow(["voucher_id", "customer_id", "expires_at", "url"])
        for v in vouchers:
            writer.writerow([v.id, v.customer_id or "", v.expires_at.isoformat(), sdk.offers.url(v)])
    finally:
        if out is not sys.stdout:
            out.close()
            print(f"wrote {len(vouchers)} vouchers to {args.out}", file=sys.stderr)
    return 0


def _voucher_row(sdk: O2O, v: Any) -> dict[str, Any]:
    row: dict[str, Any] = sdk.converter.unstructure(v)
    row["url"] = sdk.offers.url(v)
    return row


def _looks_like_token(text: str) -> bool:
    return "/o/" in text or ("." in text and len(text) >= 30)


def _show(sdk: O2O, args: argparse.Namespace) -> int:
    if _looks_like_token(args.offer_or_token):
        token = token_from(args.offer_or_token)
        claims = sdk.offers.verify(token)
        voucher = sdk.storage.get_voucher(claims.voucher_id)
        if voucher is None:
            raise InvalidInput("This voucher is not known to this shop.")
        offer = sdk.offers.get(voucher.offer_id)
        if args.json:
            print_json(sdk.converter, {"voucher": voucher, "offer": offer})
        else:
            print(f"voucher {voucher.id} [{voucher.status.value}] for offer {offer.id}: {offer.title}")
            print(f"  customer: {voucher.customer_id or '-'}; expires {voucher.expires_at:%Y-%m-%d %H:%M} UTC")
        return 0
    offer = sdk.offers.get(args.offer_or_token)
    usage = sdk.offers.usage(offer.id)
    if args.json:
        print_json(sdk.converter, {"offer": offer, "usage": usage})
    else:
        _print_offer(offer, usage.redeemed, usage.reserved)
    return 0


def _print_offer(offer: Offer, redeemed: int, reserved: int) -> None:
    caps = offer.caps
    window = f"{offer.starts_at or '…'} → {offer.ends_at or '…'}"
    print(f"{offer.id}  {offer.title}  [{'active' if offer.active else 'inactive'}]")
    print(f"  discount: {offer.discount.describe()}; window: {window}; stores: {', '.join(offer.stores) if offer.stores else 'all'}")
    print(f"  redeemed {redeemed}{f'/{caps.total}' if caps.total else ''}, held {reserved};"
          f" per customer: {caps.per_customer or '-'}; budget: {caps.budget or '-'}; min basket: {offer.min_basket or '-'}")  # fmt: skip


def _basket(args: argparse.Namespace) -> Basket | None:
    return Basket(parse_money(args.basket)) if args.basket else None


def _print_refusals(refusals: tuple[Refusal, ...]) -> None:
    for r in refusals:
        print(f"refused: {r.code.value}: {r.message}")


def _validate(sdk: O2O, args: argparse.Namespace) -> int:
    result: Validation = sdk.offers.validate(token_from(args.token), args.store, customer_id=args.customer, basket=_basket(args))
    if args.json:
        print_json(sdk.converter, result)
    elif result.ok and result.discount is not None:
        amount = f" = {result.discount.amount}" if result.discount.amount else ""
        print(f"valid at {args.store}: {result.discount.description}{amount}")
    else:
        _print_refusals(result.refusals)
    return 0 if result.ok else 1


def _redeem(sdk: O2O, args: argparse.Namespace) -> int:
    try:
        red = sdk.offers.redeem(
            token_from(args.token), args.store, customer_id=args.customer, basket=_basket(args),
            idempotency_key=args.idempotency_key, reservation_id=args.reservation,
        )  # fmt: skip
    except RedemptionRefused as exc:
        if args.json:
            print_json(sdk.converter, {"ok": False, "refusals": exc.refusals})
        else:
            _print_refusals(exc.refusals)
        return 1
    if args.json:
        print_json(sdk.converter, red)
    else:
        amount = f" = {red.discount.amount}" if red.discount.amount else ""
        print(f"redeemed {red.id} at {red.store_id}: {red.discount.description}{amount}")
    return 0


def _void(sdk: O2O, args: argparse.Namespace) -> int:
    red = sdk.offers.void(args.redemption, args.reason)
    if args.json:
        print_json(sdk.converter, red)
    else:
        print(f"voided {red.id} ({red.void_reason}); caps and budget restored")
    return 0


def _list(sdk: O2O, args: argparse.Namespace) -> int:
    offers = sdk.offers.list()
    rows = [(o, sdk.offers.usage(o.id)) for o in offers]
    if args.json:
        print_json(sdk.converter, [{"offer": o, "usage": u} for o, u in rows])
        return 0
    if not rows:
        print("no offers yet; create one with 'o2o offers create'")
    for offer, usage in rows:
        _print_offer(offer, usage.redeemed, usage.reserved)
    return 0
