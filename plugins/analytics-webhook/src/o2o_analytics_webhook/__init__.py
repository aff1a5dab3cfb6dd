"""o2o-sdk analytics sink: the journal as a signed webhook event stream.

Settings (``O2O_EVENTHOOK_<KEY>``, or ``Config(plugin_config={"eventhook": {...}})``):
``url`` (required), ``secret`` (HMAC key; required), ``types`` (comma-separated event types,
default all), ``batch`` (events per POST, default 100), ``timeout`` (seconds, default 5).

Delivery is at-least-once from a cursor stored in the database (see the README); every
event has a stable ``id`` for dedupe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import httpx

from o2o_sdk import JournalEvent, O2OError, hookimpl
from o2o_sdk.http import PlatformClient, RetryPolicy

if TYPE_CHECKING:
    from o2o_sdk import O2O

__all__ = ["DELIVERY_HEADER", "SETTINGS", "SIGNATURE_HEADER", "STREAM", "TIMESTAMP_HEADER", "flush", "sign",
           "verify_signature"]  # fmt: skip

log = logging.getLogger("o2o_analytics_webhook")

SETTINGS = "eventhook"
STREAM = "eventhook"
SIGNATURE_HEADER = "X-O2O-Signature"
TIMESTAMP_HEADER = "X-O2O-Timestamp"
DELIVERY_HEADER = "X-O2O-Delivery-Id"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 over ``"<timestamp>." + body``."""
    return "v1=" + hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, timestamp: str, body: bytes, signature: str, *, tolerance_s: int = 300,
                     now: float | None = None) -> bool:  # fmt: skip
    """For receivers: the signature matches and the timestamp is within ``tolerance_s`` of now."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def _event(stream_id: str, e: JournalEvent) -> dict[str, Any]:
    return {"id": f"{stream_id}:{e.seq}", "seq": e.seq, "type": e.type, "at": e.at.isoformat(), "offer_id": e.offer_id,
            "voucher_id": e.voucher_id, "store_id": e.store_id, "customer_id": e.customer_id, "data": e.data}  # fmt: skip


def flush(sdk: O2O, *, max_batches: int = 100, start_after: int | None = None) -> int:
    """Send every pending event; returns how many were sent. Raises
    :class:`~o2o_sdk.O2OError` (``PlatformError``) when the endpoint fails; the batch stays pending."""
    settings = sdk.config.plugin_settings(SETTINGS)
    url, secret = settings.get("url"), settings.get("secret")
    if not url or not secret:
        return 0
    types = [t.strip() for t in settings.get("types", "").split(",") if t.strip()] or None
    stream = sdk.analytics.stream(STREAM, types=types, start_after=start_after)
    client = PlatformClient("eventhook", url, timeout=float(settings.get("timeout", "5")), retry=RetryPolicy(max_retries=1))
    try:

        def send(events: list[JournalEvent]) -> None:
            prefix = stream.event_id(events[0]).rsplit(":", 1)[0]
            body = json.dumps({"events": [_event(prefix, e) for e in events]}, separators=(",", ":"), default=str).encode()
            ts = int(time.time())
            client.request("POST", url, content=body, idempotent=True, headers={
                "Content-Type": "application/json", TIMESTAMP_HEADER: str(ts),
                SIGNATURE_HEADER: sign(secret.encode(), ts, body),
                DELIVERY_HEADER: f"{prefix}:{events[0].seq}-{events[-1].seq}",
            })  # fmt: skip

        return stream.drain(send, batch=int(settings.get("batch", "100")), max_batches=max_batches)
    finally:
        client.close()


@hookimpl
def o2o_journal_event(sdk: O2O, event: JournalEvent) -> None:
    """Deliver promptly after each append; failures stay pending for the next flush."""
    try:
        flush(sdk, max_batches=1, start_after=(event.seq or 1) - 1)
    except (O2OError, httpx.HTTPError) as exc:
        log.warning("analytics webhook: %s (events stay pending, seq > %s)", exc, event.seq)
