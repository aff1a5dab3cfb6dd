"""SMS channel for o2o-sdk follow-ups through a Twilio-style HTTP API.

One form POST per message::

    POST <api_base>/2010-04-01/Accounts/<account_sid>/Messages.json
    Authorization: Basic <account_sid>:<auth_token>
    I-Twilio-Idempotency-Token: o2o-fu-…
    To=+447700900123&From=<from>&Body=<text>

A 2xx answer with the message ``sid`` is delivery. 408/429/5xx and network errors are
retried (``Retry-After`` honoured); other 4xx are permanent — e.g. Twilio error 21610, a
recipient who replied STOP. SMS is a marketing channel: consent is required, and the text
is the template's ``text`` (keep it short; US marketing texts are for 08:00-21:00 local,
which the default quiet hours respect).

Settings (``O2O_SMS_<KEY>``): ``account_sid``, ``auth_token``, ``from`` (sender number or
messaging service), ``api_base`` (default ``https://api.twilio.com``), ``timeout``, ``name``.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from o2o_sdk import (
    ChannelBase,
    Contact,
    DeliveryResult,
    OutboundMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = ["SmsChannel"]

_RETRY_STATUS = {408, 429}


class SmsChannel(ChannelBase):
    """Sends the template's text to the customer's phone (E.164)."""

    requires_consent = True
    is_email = False

    def __init__(self, account_sid: str, auth_token: str, sender: str, *, api_base: str = "https://api.twilio.com",
                 timeout: float = 10.0, name: str = "sms", client: httpx.Client | None = None) -> None:  # fmt: skip
        self.name = name
        self.account_sid = account_sid
        self.sender = sender
        self.endpoint = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._client = client or httpx.Client(timeout=timeout, auth=(account_sid, auth_token))

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> SmsChannel:
        """Build from plugin settings (``account_sid``, ``auth_token``, ``from``, ``api_base``, ``timeout``, ``name``)."""
        return cls(settings.get("account_sid", ""), settings.get("auth_token", ""), settings.get("from", ""),
                   api_base=settings.get("api_base") or "https://api.twilio.com",
                   timeout=float(settings.get("timeout") or 10), name=settings.get("name") or "sms")  # fmt: skip

    def address(self, contact: Contact) -> str | None:
        """The customer's phone number."""
        return contact.phone

    def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
        """POST the message to the provider."""
        if not self.account_sid or not self.sender:
            raise TransientDeliveryError("The SMS channel is not configured: set O2O_SMS_ACCOUNT_SID and O2O_SMS_FROM.",
                                         code="sms_not_configured")  # fmt: skip
        form = {"To": message.to, "From": self.sender, "Body": message.text.strip()}
        try:
            response = self._client.post(self.endpoint, data=form, headers={"I-Twilio-Idempotency-Token": idempotency_key})
        except httpx.TimeoutException:
            raise TransientDeliveryError("The SMS provider timed out.", code="sms_timeout") from None
        except httpx.TransportError as exc:
            raise TransientDeliveryError(f"The SMS provider could not be reached: {exc}.", code="sms_unreachable") from None
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if 200 <= status < 300:
            return DeliveryResult(provider_id=payload.get("sid"), detail=str(payload.get("status", "")))
        detail = f"HTTP {status}, error {payload.get('code', '-')}: {payload.get('message', response.text[:200])}"
        if status in _RETRY_STATUS or status >= 500:
            retry_after = response.headers.get("retry-after")
            raise TransientDeliveryError(f"The SMS provider answered {detail}", code=f"http_{status}",
                                         retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)  # fmt: skip
        raise PermanentDeliveryError(f"The SMS provider refused the message: {detail}", code=f"sms_{payload.get('code', status)}")

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()
