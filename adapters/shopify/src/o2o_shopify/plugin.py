"""The ``shopify`` entry point: registers the adapter when configured, its CLI commands and
its webhook route. Kept thin: the adapter itself is imported only when it is needed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from o2o_sdk import hookimpl

if TYPE_CHECKING:
    from o2o_sdk import O2O, Adapter

#: Where the web app receives Shopify webhooks (subscribe every topic to this URL).
WEBHOOK_PATH = "/webhooks/shopify"


@hookimpl
def o2o_register_adapters(sdk: O2O, register: Callable[[Adapter], None]) -> None:
    """The adapter configured by ``O2O_SHOPIFY_*`` settings, if any."""
    from .client import ShopifySettings

    settings = ShopifySettings.from_mapping(sdk.config.plugin_settings("shopify"))
    if settings is not None:
        from .adapter import ShopifyAdapter

        register(ShopifyAdapter(settings))


@hookimpl
def o2o_register_routes(sdk: O2O, register: Callable[..., None]) -> None:
    """``POST /webhooks/shopify`` when a Shopify adapter is registered."""
    if "shopify" in sdk.adapters:
        from o2o_sdk.adapters import webhook_endpoint

        register(WEBHOOK_PATH, webhook_endpoint(sdk, "shopify"), methods=["POST"], name="shopify_webhooks")


@hookimpl
def o2o_register_commands(register: Callable[..., None]) -> None:
    """``o2o shopify sync-stores | mirror-offer OFFER | sync-usage [OFFER] | customer EMAIL``."""
    register("shopify", "Shopify: sync stores, mirror offers as discount codes, usage, customers", _configure, _run)


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="shopify_command", metavar="ACTION", required=True)
    sync = sub.add_parser("sync-stores", help="import the shop's active locations as stores")
    sync.add_argument("--no-progress", action="store_true", help="no progress bar")
    mirror = sub.add_parser("mirror-offer", help="create the offer's discount code on Shopify")
    mirror.add_argument("offer", metavar="OFFER", help="offer id")
    mirror.add_argument("--code", help="discount code (default: the offer's metadata code, or its id)")
    usage = sub.add_parser("sync-usage", help="read discount-code usage back from Shopify")
    usage.add_argument("offer", metavar="OFFER", nargs="?", help="one offer (default: every mirrored offer)")
    customer = sub.add_parser("customer", help="look a customer up by email")
    customer.add_argument("email", metavar="EMAIL")


def _run(sdk: O2O, args: argparse.Namespace) -> Any:
    from .cli import run

    return run(sdk, args)
