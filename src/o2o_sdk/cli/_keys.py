"""``o2o keys``: store-scoped API keys for the POS / staff web API (shown once, stored hashed)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..models import ApiKey
from ._util import print_json

if TYPE_CHECKING:
    from ..sdk import O2O


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="API keys for the POS / staff web API, one store each")
    ksub = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)

    p = ksub.add_parser("create", help="create a key for one store (shown once)")
    p.add_argument("--store", required=True, help="the store the key acts for; '*' for an admin key (every store)")
    p.add_argument("--name", default="", help="a label, e.g. 'till 2'")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_create)

    p = ksub.add_parser("list", help="list keys (ids and stores, never the keys)")
    p.add_argument("--store", help="only this store's keys")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)

    p = ksub.add_parser("revoke", help="revoke a key by its id")
    p.add_argument("key_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_revoke)


def _row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "store_id": key.store_id,
        "name": key.name,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _create(sdk: O2O, args: argparse.Namespace) -> int:
    from ..web.keys import ApiKeys

    record, secret = ApiKeys(sdk).create(args.store, args.name)
    if args.json:
        print_json(sdk.converter, {**_row(record), "key": secret})
        return 0
    scope = "every store (admin)" if record.store_id == "*" else f"store {record.store_id}"
    print(f"created key {record.id} for {scope}")
    print(secret)
    print("This key is shown once; only its SHA-256 digest is stored.", file=sys.stderr)
    return 0


def _list(sdk: O2O, args: argparse.Namespace) -> int:
    from ..web.keys import ApiKeys

    keys = ApiKeys(sdk).list(args.store)
    if args.json:
        print_json(sdk.converter, [_row(k) for k in keys])
        return 0
    if not keys:
        print("no keys yet; create one with 'o2o keys create --store STORE'")
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        print(f"{k.id}  {k.store_id:<20} {state:<24} {k.name}")
    return 0


def _revoke(sdk: O2O, args: argparse.Namespace) -> int:
    from ..web.keys import ApiKeys

    key = ApiKeys(sdk).revoke(args.key_id)
    if args.json:
        print_json(sdk.converter, _row(key))
    else:
        print(f"revoked key {key.id} ({key.store_id})")
    return 0
