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
