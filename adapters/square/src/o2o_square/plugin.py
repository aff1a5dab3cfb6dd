"""The ``square`` entry point: registers the adapter when configured, its CLI commands and its
webhook route. Kept thin: the adapter itself is imported only when it is needed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from o2o_sdk import hookimpl

if TYPE_CHECKING:
    from o2o_sdk import O2O, Adapter

#: Where the web app receives Square notifications (the subscription's notification URL ends with it).
WEBHOOK_PATH = "/webhooks/square"


@hookimpl
def o2o_register_adapters(sdk: O2O, register: Callable[[Adapter], None]) -> None:
    """The adapter configured by ``O2O_SQUARE_*`` settings, if an access token is set."""
    from .client import SquareSettings

    settings = SquareSettings.from_mapping(sdk.config.plugin_settings("square"))
    if settings is not None:
        from .adapter import SquareAdapter

        register(SquareAdapter(settings))


@hookimpl
def o2o_register_routes(sdk: O2O, register: Callable[..., None]) -> None:
    """``POST /webhooks/square`` when a Square adapter is registered."""
    if "square" in sdk.adapters:
        from o2o_sdk.adapters import webhook_endpoint

        register(WEBHOOK_PATH, webhook_endpoint(sdk, "square"), methods=["POST"], name="square_webhooks")


@hookimpl
def o2o_register_commands(register: Callable[..., None]) -> None:
    """``o2o square sync-stores | mirror-offer OFFER | sync-usage [OFFER] | customer EMAIL``."""
    register("square", "Square: sync locations, mirror offers as catalog discounts, usage, customers", _configure, _run)


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="square_command", metavar="ACTION", required=True)
    sub.add_parser("sync-stores", help="import the seller's active locations as stores (hours, time zones)")
    mirror = sub.add_parser("mirror-offer", help="create the offer as a Square catalog discount")
    mirror.add_argument("offer", metavar="OFFER", help="offer id")
    mirror.add_argument("--code", help="discount name (default: the offer's metadata code, or its id)")
    usage = sub.add_parser("sync-usage", help="count completed Square orders that used mirrored discounts")
    usage.add_argument("offer", metavar="OFFER", nargs="?", help="one offer (default: every mirrored offer)")
    customer = sub.add_parser("customer", help="look a customer up by email")
    customer.add_argument("email", metavar="EMAIL")


def _run(sdk: O2O, args: argparse.Namespace) -> Any:
    from .cli import run

    return run(sdk, args)
