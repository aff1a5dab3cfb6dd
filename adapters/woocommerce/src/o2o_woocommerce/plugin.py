"""The ``woocommerce`` entry point: registers the adapter when configured, its CLI commands and
its webhook route. Kept thin: the adapter itself is imported only when it is needed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from o2o_sdk import hookimpl

if TYPE_CHECKING:
    from o2o_sdk import O2O, Adapter

#: Where the web app receives WooCommerce webhooks (the delivery URL of every webhook).
WEBHOOK_PATH = "/webhooks/woocommerce"


@hookimpl
def o2o_register_adapters(sdk: O2O, register: Callable[[Adapter], None]) -> None:
    """The adapter configured by ``O2O_WOOCOMMERCE_*`` settings, if any."""
    from .client import WooCommerceSettings

    settings = WooCommerceSettings.from_mapping(sdk.config.plugin_settings("woocommerce"))
    if settings is not None:
        from .adapter import WooCommerceAdapter

        register(WooCommerceAdapter(settings))


@hookimpl
def o2o_register_routes(sdk: O2O, register: Callable[..., None]) -> None:
    """``POST /webhooks/woocommerce`` when a WooCommerce adapter is registered."""
    if "woocommerce" in sdk.adapters:
        from o2o_sdk.adapters import webhook_endpoint

        register(WEBHOOK_PATH, webhook_endpoint(sdk, "woocommerce"), methods=["POST"], name="woocommerce_webhooks")


@hookimpl
def o2o_register_commands(register: Callable[..., None]) -> None:
    """``o2o woocommerce mirror-offer | sync-usage | customer | import-orders | subscribe-webhooks``."""
    register("woocommerce", "WooCommerce: mirror offers as coupons, usage, customers, import orders, webhooks",
             _configure, _run)  # fmt: skip


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="woocommerce_command", metavar="ACTION", required=True)
    mirror = sub.add_parser("mirror-offer", help="create the offer's coupon on WooCommerce")
    mirror.add_argument("offer", metavar="OFFER", help="offer id")
    mirror.add_argument("--code", help="coupon code (default: the offer's metadata code, or its id)")
    usage = sub.add_parser("sync-usage", help="read coupon usage back from WooCommerce")
    usage.add_argument("offer", metavar="OFFER", nargs="?", help="one offer (default: every mirrored offer)")
    customer = sub.add_parser("customer", help="look a customer up by email")
    customer.add_argument("email", metavar="EMAIL")
    imports = sub.add_parser("import-orders", help="record past orders (a backfill), each once")
    imports.add_argument(
        "--after", metavar="ISO", help="only orders created after this time (e.g. 2026-06-01T00:00:00Z)"
    )
    imports.add_argument("--status", help="only orders with this status (default: every status; non-sales are skipped)")
    imports.add_argument("--no-progress", action="store_true", help="no progress counter")
    hooks = sub.add_parser("subscribe-webhooks", help="create the order.created and order.updated webhooks")
    hooks.add_argument("url", metavar="URL", help="delivery URL, e.g. https://o2o.example/webhooks/woocommerce")


def _run(sdk: O2O, args: argparse.Namespace) -> Any:
    from .cli import run

    return run(sdk, args)
