"""Delivery channels: the contract channel plugins implement, and their typed errors.

A channel is registered by the hook ``o2o_register_channels``::

    @hookimpl
    def o2o_register_channels(sdk, register):
        register(MyChannel(sdk.config.plugin_settings("mychannel")))

``send(message, idempotency_key)`` either returns a :class:`~o2o_sdk.models.DeliveryResult`
(the provider accepted the message) or raises :class:`TransientDeliveryError` (retried with
backoff) or :class:`PermanentDeliveryError` (dead at once). Any other exception counts as
transient. The same ``idempotency_key`` is passed on every attempt of one follow-up: pass it
to the provider (an ``Idempotency-Key`` header, a ``Message-ID``) so that a retry after a
crash is dropped there.

Error tree::

    O2OError
    └── DeliveryError              code ``delivery_failed``
        ├── TransientDeliveryError code ``delivery_transient``: timeouts, 5xx, 429, SMTP 4xx
        └── PermanentDeliveryError code ``delivery_permanent``: 4xx, SMTP 5xx, bad template
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import O2OError, PluginError

if TYPE_CHECKING:
    from ..models import Contact, DeliveryResult, OutboundMessage
    from ..sdk import O2O

__all__ = ["Channel", "ChannelBase", "DeliveryError", "PermanentDeliveryError", "TransientDeliveryError"]

log = logging.getLogger("o2o_sdk.followups")


class DeliveryError(O2OError):
    """A channel could not deliver a message. ``retry_after`` (seconds) is a provider's hint."""

    code = "delivery_failed"

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: a timeout, a refused connection, 5xx / 408 / 429, an SMTP 4xx reply."""

    code = "delivery_transient"


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: a rejected address or request, an SMTP 5xx reply, a broken template."""

    code = "delivery_permanent"


@runtime_checkable
class Channel(Protocol):
    """What a delivery channel provides. Subclass :class:`ChannelBase` for the defaults."""

    #: The name follow-ups use (``email``, ``sms``, ``webhook``, ``console`` …).
    name: str
    #: Whether marketing messages need the customer's consent for this channel.
    requires_consent: bool
    #: Whether messages are emails (they get a one-click unsubscribe link and RFC 8058 headers).
    is_email: bool

    def address(self, contact: Contact) -> str | None:
        """Where to send to this customer (``None``: the customer cannot be reached here)."""
        ...

    def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
        """Deliver one message; raise :class:`TransientDeliveryError` or :class:`PermanentDeliveryError`."""
        ...

    def close(self) -> None:
        """Release connections (called by ``sdk.close()``)."""
        ...


class ChannelBase:
    """Defaults for channels: consent required, not email, no address, nothing to close."""

    name: str = ""
    requires_consent: bool = True
    is_email: bool = False

    def address(self, contact: Contact) -> str | None:
        """No address by default; override."""
        return None

    def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
        """Override to deliver."""
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release by default."""


class ChannelRegistry:
    """The channels of one SDK instance, collected once from ``o2o_register_channels``."""

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk
        self._channels: dict[str, Channel] | None = None

    def _collect(self) -> dict[str, Channel]:
        found: dict[str, Channel] = {}

        def register(channel: Channel) -> None:
            if not isinstance(channel, Channel) or not isinstance(getattr(channel, "name", None), str) or not channel.name:
                raise PluginError(
                    f"A channel must have a name, requires_consent, is_email, address(), send() and close(); got {type(channel).__name__}."
                )
            if channel.name in found:
                log.info("channel %s registered twice; keeping the first", channel.name)
                return
            found[channel.name] = channel

        self._sdk.plugins.register_channels(self._sdk, register)
        return found

    def all(self) -> dict[str, Channel]:
        """Every channel by name (collected on first use; :meth:`reload` after registering plugins)."""
        if self._channels is None:
            self._channels = self._collect()
        return self._channels

    def get(self, name: str) -> Channel | None:
        """The channel called ``name``, if any plugin registered it."""
        return self.all().get(name)

    def add(self, channel: Channel) -> None:
        """Add a channel in code (replaces one of the same name)."""
        channels = self.all()
        if not isinstance(channel, Channel):
            raise PluginError(f"{type(channel).__name__} is not a channel.")
        channels[channel.name] = channel

    def reload(self) -> None:
        """Collect the channels again (after plugins were registered or removed)."""
        self.close()
        self._channels = None

    def close(self) -> None:
        """Close every channel; a failing one is logged."""
        for channel in (self._channels or {}).values():
            try:
                channel.close()
            except Exception:
                log.exception("channel %s failed to close", channel.name)

