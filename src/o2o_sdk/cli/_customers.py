"""``o2o customers``: erase personal data (right to be forgotten, retention)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ._util import parse_duration

if TYPE_CHECKING:
    from ..sdk import O2O


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    customers = sub.add_parser("customers", help="customers' personal data")
    csub = customers.add_subparsers(dest="customers_command", metavar="COMMAND", required=True)

    p = csub.add_parser("forget", help="erase a customer's personal data everywhere (anonymous counts stay)")
    p.add_argument("customer", help="the customer's id")
    p.add_argument("--email", action="append", default=[], help="also erase this e-mail address (repeatable)")
    p.set_defaults(func=_forget)

    p = csub.add_parser("purge", help="anonymise personal data older than the retention")
    p.add_argument("--older-than", help="e.g. 400d (default: $O2O_RETENTION)")
    p.set_defaults(func=_purge)


def _forget(sdk: O2O, args: argparse.Namespace) -> int:
    done = sdk.analytics.forget(args.customer, emails=args.email)
    tables = ", ".join(f"{t} {n}" for t, n in done.rows.items()) or "nothing stored"
    print(f"forgot {args.customer}: now {done.anonymous_id} ({tables})")
    return 0


def _purge(sdk: O2O, args: argparse.Namespace) -> int:
    done = sdk.analytics.purge(parse_duration(args.older_than) if args.older_than else None)
    tables = ", ".join(f"{t} {n}" for t, n in done.rows.items()) or "nothing to purge"
    print(f"purged: {tables}")
    return 0
