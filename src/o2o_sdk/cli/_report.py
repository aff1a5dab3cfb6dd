"""``o2o report``: the O2O2O funnel and attribution."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ._util import parse_datetime

if TYPE_CHECKING:
    from ..sdk import O2O


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser("report", help="measurement: funnel, attribution")
    rsub = report.add_subparsers(dest="report_command", metavar="COMMAND", required=True)

    p = rsub.add_parser("funnel", help="issued → viewed → searched → checked in → redeemed → follow-up → returned")
    p.add_argument("--offer", help="only this offer's vouchers")
    p.add_argument("--store", help="only customers whose visit was at this store")
    p.add_argument("--since", help="from this date (ISO 8601, UTC unless an offset is given)")
    p.add_argument("--until", help="before this date (ISO 8601)")
    p.add_argument("--by-offer", action="store_true", help="add vouchers issued, views and redemptions per offer")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the report as JSON")
    out.add_argument("--csv", action="store_true", help="print the steps as CSV")
    p.add_argument("--chart", action="append", default=[], metavar="FILE", help="also draw the charts to FILE.svg or FILE.png")
    p.set_defaults(func=_funnel)

    p = rsub.add_parser("attribute", help="attribute new orders (incremental; --rebuild starts over)")
    p.add_argument("--rebuild", action="store_true", help="drop every attribution and compute them again")
    p.set_defaults(func=_attribute)


def _when(text: str | None, what: str) -> datetime | None:
    if text is None:
        return None
    value = parse_datetime(text, what=what)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _funnel(sdk: O2O, args: argparse.Namespace) -> int:
    from ..analytics import write_chart

    report = sdk.analytics.funnel(offer=args.offer, store=args.store, since=_when(args.since, "--since"), until=_when(args.until, "--until"),
                                  by_offer=args.by_offer)
    for path in args.chart:
        write_chart(report, path)
    if args.json:
        print(report.to_json())
    elif args.csv:
        print(report.to_csv(), end="")
    else:
        print(report.table())
    return 0


def _attribute(sdk: O2O, args: argparse.Namespace) -> int:
    added = sdk.analytics.attribute(rebuild=args.rebuild)
    print(f"attributed {added} order{'s' if added != 1 else ''}")
    return 0
