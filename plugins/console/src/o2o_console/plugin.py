"""Entry point of o2o-console: registers the channel (thin; the channel loads on use)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from o2o_sdk import hookimpl

if TYPE_CHECKING:
    from o2o_sdk import O2O


@hookimpl
def o2o_register_channels(sdk: O2O, register: Callable[[Any], None]) -> None:
    from . import ConsoleChannel

    register(ConsoleChannel.from_settings(sdk.config.plugin_settings("console")))


@hookimpl
def o2o_pickup_alert(sdk: O2O, pickup: Any, what: str) -> None:
    """Store-facing alerts on the console's stderr (or appended to ``O2O_CONSOLE_PATH`` as JSON lines)."""
    from . import store_alert

    store_alert(sdk, pickup, what)
