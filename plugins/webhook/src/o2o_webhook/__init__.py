"""Signed webhook channel for o2o-sdk follow-ups.

Each follow-up is POSTed as JSON to one URL (your CRM, a marketing tool, a queue bridge)::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: o2o-fu-…            the same on every attempt of one follow-up
    X-O2O-Timestamp: 1781546400           unix seconds of this attempt
    X-O2O-Signature: v1=<hex>             HMAC-SHA256(secret, "<timestamp>." + body)

A 2xx answer is delivery. 408, 429 and 5xx answers, timeouts and connection errors are
retried (``Retry-After`` is honoured); other 4xx answers are permanent. Receivers check the
signature with :func:`verify_signature`, which rejects timestamps too old *and* too far in
the future, then drop repeated ``Idempotency-Key`` values.

Settings (``O2O_WEBHOOK_<KEY>``): ``url`` (required to send), ``secret``, ``timeout``
(seconds, default 10), ``name`` (channel name, default ``webhook``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from o2o_sdk import (
    ChannelBase,
    Contact,
    DeliveryResult,
    OutboundMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
)

log = logging.getLogger("o2o_webhook")

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "WebhookChannel", "post_store_alert", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-O2O-Signature"
TIMESTAMP_HEADER = "X-O2O-Timestamp"
_RETRY_STATUS = {408, 425, 429}


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value: ``v1=`` + hex HMAC-SHA256 over ``"<timestamp>." + body``."""
    return "v1=" + hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, timestamp: str, body: bytes, signature: str, *, tolerance_s: int = 300,
                     now: float | None = None) -> bool:  # fmt: skip
    """Whether a delivery is authentic and fresh: the signature matches and the timestamp is
    within ``tolerance_s`` of ``now`` on either side (future timestamps are replays too)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature.strip())


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


class WebhookChannel(ChannelBase):
    """POSTs follow-ups as signed JSON. The address of a customer is their customer id."""

    requires_consent = False
    is_email = False

    def __init__(self, url: str | None, secret: str | bytes = b"", *, timeout: float = 10.0, name: str = "webhook",
                 client: httpx.Client | None = None) -> None:  # fmt: skip
        self.name = name
        self.url = url
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self._client = client or httpx.Client(timeout=timeout, headers={"User-Agent": "o2o-webhook/0.1"})

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> WebhookChannel:
        """Build from plugin settings (``url``, ``secret``, ``timeout``, ``name``)."""
        return cls(settings.get("url") or None, settings.get("secret", ""),
                   timeout=float(settings.get("timeout") or 10), name=settings.get("name") or "webhook")  # fmt: skip

    def address(self, contact: Contact) -> str | None:
        """The customer id: the receiving system knows its customers."""
        return contact.customer_id

    def body(self, message: OutboundMessage, idempotency_key: str) -> bytes:
        """The JSON body sent for ``message``."""
        payload = {
            "idempotency_key": idempotency_key, "followup_id": message.followup_id, "flow": message.flow,
            "channel": message.channel, "customer_id": message.customer_id, "to": message.to,
            "subject": message.subject, "text": message.text, "html": message.html,
            "unsubscribe_url": message.unsubscribe_url,
        }  # fmt: skip
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
        """POST the message; raise a transient or permanent delivery error on failure."""
        if not self.url:
            raise TransientDeliveryError("The webhook channel has no URL: set O2O_WEBHOOK_URL.", code="webhook_not_configured")
        body = self.body(message, idempotency_key)
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json", "Idempotency-Key": idempotency_key,
            TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(self.secret, ts, body),
        }  # fmt: skip
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise TransientDeliveryError(f"The webhook at {self.url} timed out.", code="webhook_timeout") from None
        except httpx.TransportError as exc:
            raise TransientDeliveryError(f"The webhook at {self.url} could not be reached: {exc}.", code="webhook_unreachable") from None
        status = response.status_code
        if 200 <= status < 300:
            return DeliveryResult(provider_id=response.headers.get("x-request-id"), detail=f"HTTP {status}")
        text = response.text[:200].strip()
        if status in _RETRY_STATUS or status >= 500:
            raise TransientDeliveryError(f"The webhook answered HTTP {status}: {text}", code=f"http_{status}",
                                         retry_after=_retry_after(response))  # fmt: skip
        raise PermanentDeliveryError(f"The webhook refused the message with HTTP {status}: {text}", code=f"http_{status}")

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


def post_store_alert(sdk: Any, pickup: Any, what: str, *, client: httpx.Client | None = None) -> bool:
    """POST a store alert about a pickup (``{"type": "pickup.arrived", "pickup": {...}}``), signed
    with the webhook secret; the URL is the store's ``attributes["alert_webhook_url"]``, else the
    setting ``store_alert_url`` (``O2O_WEBHOOK_STORE_ALERT_URL``). Returns whether it was delivered;
    a failure is logged (the step it reports stands)."""
    settings = sdk.config.plugin_settings("webhook")
    try:
        store = sdk.stores.get(pickup.store_id)
        url = store.attributes.get("alert_webhook_url") or settings.get("store_alert_url")
    except Exception:  # an unknown store: nowhere to send
        return False
    if not url:
        return False
    payload = {"type": f"pickup.{what}", "store_id": pickup.store_id, "pickup": sdk.converter.unstructure(pickup),
               "pass_url": sdk.pickups.pass_url(pickup)}  # fmt: skip
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    ts = int(time.time())
    secret = (settings.get("secret") or "").encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"{pickup.id}:{what}:{pickup.version}",
               TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, body)}  # fmt: skip
    own = client is None
    http = client or httpx.Client(timeout=float(settings.get("timeout") or 5), headers={"User-Agent": "o2o-webhook/0.1"})
    try:
        response = http.post(str(url), content=body, headers=headers)
        ok = 200 <= response.status_code < 300
        if not ok:
            log.warning("store alert for pickup %s: %s answered HTTP %s", pickup.id, url, response.status_code)
        return ok
    except httpx.HTTPError as exc:
        log.warning("store alert for pickup %s: %s could not be reached: %s", pickup.id, url, exc)
        return False
    finally:
        if own:
            http.close()
