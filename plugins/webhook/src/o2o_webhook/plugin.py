"""Entry point of o2o-webhook: registers the channel (thin; httpx loads on use)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from o2o_sdk import hookimpl

if TYPE_CHECKING:
    from o2o_sdk import O2O


@hookimpl
def o2o_register_channels(sdk: O2O, register: Callable[[Any], None]) -> None:
    from . import WebhookChannel

    register(WebhookChannel.from_settings(sdk.config.plugin_settings("webhook")))


@hookimpl
def o2o_pickup_alert(sdk: O2O, pickup: Any, what: str) -> None:
    """Store-facing alerts: POST ``pickup.<what>`` (signed like follow-ups) to the store's
    ``attributes["alert_webhook_url"]``, else to ``O2O_WEBHOOK_STORE_ALERT_URL``; nothing if neither is set."""
    from . import post_store_alert

    post_store_alert(sdk, pickup, what)
