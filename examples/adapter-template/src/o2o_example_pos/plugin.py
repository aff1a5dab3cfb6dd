"""Entry point module: keep it thin, import the adapter only when it is configured."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from o2o_sdk import hookimpl

if TYPE_CHECKING:
    from o2o_sdk import O2O, Adapter


@hookimpl
def o2o_register_adapters(sdk: O2O, register: Callable[[Adapter], None]) -> None:
    """The adapter, when ``O2O_EXAMPLE_BASE_URL`` and ``O2O_EXAMPLE_API_KEY`` are set."""
    settings = sdk.config.plugin_settings("example")
    if settings.get("base_url") and settings.get("api_key"):
        from .adapter import ExamplePosAdapter, ExamplePosSettings

        register(ExamplePosAdapter(ExamplePosSettings(settings["base_url"], settings["api_key"],
                                                      settings.get("webhook_secret", ""))))  # fmt: skip


@hookimpl
def o2o_register_routes(sdk: O2O, register: Callable[..., None]) -> None:
    """Receive the platform's webhooks at ``POST /webhooks/example``."""
    if "example" in sdk.adapters:
        from o2o_sdk.adapters import webhook_endpoint

        register("/webhooks/example", webhook_endpoint(sdk, "example"), methods=["POST"], name="example_webhooks")
