"""Square webhooks: verify ``x-square-hmacsha256-signature``, read the event envelope.

Square signs ``notification URL + raw body`` with the subscription's signature key
(base64 of HMAC-SHA256). The URL must be the one configured in the subscription, byte for
byte, so configure ``O2O_SQUARE_NOTIFICATION_URL`` when the app runs behind a proxy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

import attrs

from o2o_sdk import WebhookRejected
from o2o_sdk.http import Secret, verify_hmac_sha256_base64

from .orders import UNCOLLECTED_FULFILLMENT_STATES

__all__ = [
    "CANCEL_EVENTS",
    "ORDER_EVENTS",
    "SIGNATURE_HEADER",
    "Notification",
    "parse_notification",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "x-square-hmacsha256-signature"
#: Event types that carry an order to record (payments only once ``COMPLETED``).
ORDER_EVENTS = frozenset({"payment.created", "payment.updated", "order.created"})
#: Event types read only when they say the order, or one of its fulfilments, became ``CANCELED``
#: (or a fulfilment ``FAILED``): the order is then fetched and, if its pickup ended so, its SDK
#: pickup is cancelled.
CANCEL_EVENTS = frozenset({"order.updated", "order.fulfillment.updated"})


def sign(body: bytes, notification_url: str, key: str) -> str:
    """The ``x-square-hmacsha256-signature`` of ``body`` posted to ``notification_url``."""
    digest = hmac.new(key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(body: bytes, header: str | None, notification_url: str, keys: Sequence[Secret]) -> bool:
    """Whether ``header`` signs ``notification_url + body`` with one of ``keys``, every key
    compared in constant time (the time taken does not tell which key matched, or how closely)."""
    if not notification_url:
        return False
    return verify_hmac_sha256_base64(notification_url.encode() + body, header, (k.value.encode() for k in keys))


@attrs.frozen
class Notification:
    """What the adapter reads from a verified event."""

    type: str
    event_id: str
    merchant_id: str | None
    #: The order to fetch, or ``None`` when the event carries none worth recording.
    order_id: str | None
    #: ``payment.status`` for payment events.
    payment_status: str | None = None
    payment_id: str | None = None
    #: An ``order.updated`` / ``order.fulfillment.updated`` saying the order or a fulfilment
    #: became ``CANCELED``: ``order_id`` is fetched only to learn whether its pickup is cancelled.
    cancellation: bool = False


def _malformed(message: str) -> WebhookRejected:
    return WebhookRejected(f"Square webhook: {message}", code="malformed_payload")


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    obj = data.get("object")
    inner = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(inner, dict):
        raise _malformed(f"data.object.{key} is missing.")
    return inner


def parse_notification(body: bytes) -> Notification:
    """The event envelope of a verified body; :class:`~o2o_sdk.WebhookRejected`
    (``malformed_payload``) for a body that is not a Square event."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise _malformed("the body is not JSON.") from None
    if not isinstance(payload, dict):
        raise _malformed("the body is not a JSON object.")
    kind, event_id = payload.get("type"), payload.get("event_id")
    if not isinstance(kind, str) or not kind:
        raise _malformed("the event has no type.")
    if not isinstance(event_id, str) or not event_id:
        raise _malformed("the event has no event_id.")
    merchant = payload.get("merchant_id")
    merchant_id = str(merchant) if merchant else None
    if kind not in ORDER_EVENTS and kind not in CANCEL_EVENTS:
        return Notification(kind, event_id, merchant_id, None)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise _malformed("the event has no data.")
    if kind in CANCEL_EVENTS:
        return _cancellation(kind, event_id, merchant_id, data)
    if kind.startswith("payment."):
        payment = _object(data, "payment")
        order_id = payment.get("order_id")
        if not isinstance(order_id, str) or not order_id:
            raise _malformed("the payment has no order_id.")
        status = str(payment.get("status") or "")
        return Notification(kind, event_id, merchant_id, order_id if status == "COMPLETED" else None, status,
                            str(payment.get("id") or data.get("id") or "") or None)  # fmt: skip
    created = _object(data, "order_created")
    order_id = created.get("order_id") or data.get("id")
    if not isinstance(order_id, str) or not order_id:
        raise _malformed("the order event has no order_id.")
    return Notification(kind, event_id, merchant_id, None if created.get("state") == "DRAFT" else order_id)


def _cancellation(kind: str, event_id: str, merchant_id: str | None, data: dict[str, Any]) -> Notification:
    """``order.updated`` (``order_updated.state``) or ``order.fulfillment.updated`` (the order's
    state, or a ``fulfillment_update[].new_state``): a cancellation when one says ``CANCELED``
    (or a fulfilment ``FAILED``)."""
    key = "order_updated" if kind == "order.updated" else "order_fulfillment_updated"
    changed = _object(data, key)
    cancelled = changed.get("state") == "CANCELED"
    if key == "order_fulfillment_updated":
        updates = changed.get("fulfillment_update") or []
        if not isinstance(updates, list):
            raise _malformed("fulfillment_update is not a list.")
        cancelled = cancelled or any(isinstance(u, dict) and u.get("new_state") in UNCOLLECTED_FULFILLMENT_STATES for u in updates)
    if not cancelled:
        return Notification(kind, event_id, merchant_id, None)
    order_id = changed.get("order_id") or data.get("id")
    if not isinstance(order_id, str) or not order_id:
        raise _malformed("the order event has no order_id.")
    return Notification(kind, event_id, merchant_id, order_id, cancellation=True)
