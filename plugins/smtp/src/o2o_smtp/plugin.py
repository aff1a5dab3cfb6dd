"""Entry point of o2o-smtp: registers the channel (thin; smtplib connects on first send)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from o2o_sdk import hookimpl

if TYPE_CHECKING:
    from o2o_sdk import O2O


@hookimpl
def o2o_register_channels(sdk: O2O, register: Callable[[Any], None]) -> None:
    from . import SmtpChannel

    register(SmtpChannel.from_settings(sdk.config.plugin_settings("smtp")))
