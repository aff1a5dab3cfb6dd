"""The ``inhouse_pos`` entry point (``pos`` is too common a plugin name to claim): registers the
adapter when a webhook secret is configured, its webhook route and the ``o2o pos`` commands.
Kept thin: the rest loads only when needed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from o2o_sdk import hookimpl

if TYPE_CHECKING:
    from o2o_sdk import O2O, Adapter

#: Where the web app receives the POS's sale events.
WEBHOOK_PATH = "/webhooks/pos"


@hookimpl
def o2o_register_adapters(sdk: O2O, register: Callable[[Adapter], None]) -> None:
    """The adapter configured by ``O2O_POS_WEBHOOK_SECRETS`` (and ``O2O_POS_REPLAY_WINDOW``), if any."""
    from .settings import PosSettings

    settings = PosSettings.from_mapping(sdk.config.plugin_settings("pos"))
    if settings is not None:
        from .adapter import PosAdapter

        register(PosAdapter(settings))


@hookimpl
def o2o_register_routes(sdk: O2O, register: Callable[..., None]) -> None:
    """``POST /webhooks/pos`` when a POS adapter is registered."""
    if "pos" in sdk.adapters:
        from o2o_sdk.adapters import webhook_endpoint

        register(WEBHOOK_PATH, webhook_endpoint(sdk, "pos"), methods=["POST"], name="pos_webhooks")


@hookimpl
def o2o_register_commands(register: Callable[..., None]) -> None:
    """``o2o pos import FILE --mapping M | sign FILE | check FILE``."""
    register("pos", "in-house POS: import sales from CSV, sign and check webhook events", _configure, _run)


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="pos_command", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="import sales from a CSV export through a column mapping")
    imp.add_argument("file", metavar="FILE", help="the CSV file")
    imp.add_argument("--mapping", required=True, metavar="TOML", help="the column mapping (mapping.toml)")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    sign = sub.add_parser("sign", help="print the O2O-Signature header for a request body (to test a webhook)")
    sign.add_argument("file", metavar="FILE", help="the exact body to send ('-' for stdin)")
    sign.add_argument("--secret", help="the secret (default: the first of $O2O_POS_WEBHOOK_SECRETS)")
    sign.add_argument("--timestamp", type=int, metavar="UNIX", help="unix seconds (default: now)")
    sign.set_defaults(func_nosdk=_sign)
    check = sub.add_parser("check", help="check a sale event (JSON) against the contract")
    check.add_argument("file", metavar="FILE", help="the event ('-' for stdin)")
    check.set_defaults(func_nosdk=_check)


def _run(sdk: O2O, args: argparse.Namespace) -> Any:
    from .cli import run_import

    return run_import(sdk, args)


def _sign(args: argparse.Namespace) -> int:
    from .cli import run_sign

    return run_sign(args)


def _check(args: argparse.Namespace) -> int:
    from .cli import run_check

    return run_check(args)
