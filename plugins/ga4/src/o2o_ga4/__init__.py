"""o2o-sdk analytics sink: Google Analytics 4 Measurement Protocol.

Settings (``O2O_GA4_<KEY>``): ``measurement_id`` and ``api_secret`` (both required),
``send_user_id`` (``1`` to send the customer id as ``user_id``), ``endpoint`` (default the
GA4 collect URL; the EU endpoint is ``https://region1.google-analytics.com/mp/collect``).
See the README for the event mapping. Delivery is at-least-once from a stored cursor.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from o2o_sdk import JournalEvent, O2OError, hookimpl
from o2o_sdk.http import PlatformClient, RetryPolicy

if TYPE_CHECKING:
    from o2o_sdk import O2O

__all__ = ["ENDPOINT", "STREAM", "flush", "to_ga4"]

log = logging.getLogger("o2o_ga4")

ENDPOINT = "https://www.google-analytics.com/mp/collect"
STREAM = "ga4"
#: GA4 takes at most 25 events per request.
MAX_EVENTS = 25
_MAX_AGE = timedelta(hours=72)

_NAMES = {
    "issued": "o2o_voucher_issued", "voucher_viewed": "o2o_voucher_viewed", "store_searched": "o2o_store_search",
    "checked_in": "o2o_check_in", "redeemed": "o2o_redeem", "followup_sent": "o2o_followup_delivered",
    "followup_clicked": "o2o_followup_click", "order_in_store": "purchase", "order_online": "purchase",
    "order_cancelled": "refund",
}  # fmt: skip


def _client_id(secret: str, event: JournalEvent) -> str:
    key = event.customer_id or f"anon-{event.seq}"
    return "o2o." + hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()[:24]


def to_ga4(event: JournalEvent, *, now: datetime) -> dict[str, Any] | None:
    """The GA4 event for a journal event, or ``None`` for types not forwarded."""
    name = _NAMES.get(event.type)
    if name is None:
        return None
    d = event.data
    params: dict[str, Any] = {"engagement_time_msec": 1}
    for key in ("offer_id", "store_id"):
        if getattr(event, key):
            params[key] = getattr(event, key)
    if event.type == "store_searched":
        params["results"] = d.get("results", 0)
    elif event.type == "checked_in":
        params["method"] = d.get("method", "")
    elif event.type == "redeemed" and d.get("discount_minor") is not None:
        params["value"], params["currency"] = int(d["discount_minor"]) / 100, d.get("currency", "")
    elif event.type == "followup_sent":
        params["flow"], params["channel"] = d.get("flow", ""), d.get("channel", "")
    elif event.type == "followup_clicked":
        params["followup_id"] = d.get("followup_id", "")
    elif name in ("purchase", "refund"):  # a refund names the purchase's transaction: GA4 takes its revenue back
        params["transaction_id"] = f"{d.get('platform', 'o2o')}:{d.get('order_id', event.seq)}"
        in_store = event.type == "order_in_store" or (name == "refund" and d.get("kind") == "in_store")
        params["affiliation"] = "in_store" if in_store else "online"
        if d.get("total_minor") is not None:
            params["value"], params["currency"] = int(d["total_minor"]) / 100, d.get("currency", "")
        if event.offer_id:
            params["coupon"] = event.offer_id
    out: dict[str, Any] = {"name": name, "params": params}
    if now - event.at <= _MAX_AGE:
        out["timestamp_micros"] = int(event.at.timestamp() * 1_000_000)
    return out


def flush(sdk: O2O, *, max_batches: int = 100, start_after: int | None = None, transport: httpx.BaseTransport | None = None) -> int:
    """Send pending events to GA4; returns how many journal events were consumed."""
    s = sdk.config.plugin_settings("ga4")
    mid, secret = s.get("measurement_id"), s.get("api_secret")
    if not mid or not secret:
        return 0
    send_user = s.get("send_user_id", "0").lower() in ("1", "true", "yes")
    stream = sdk.analytics.stream(STREAM, types=sorted(_NAMES), start_after=start_after)
    endpoint = s.get("endpoint", ENDPOINT)
    client = PlatformClient("ga4", endpoint, retry=RetryPolicy(max_retries=1),
                            timeout=float(s.get("timeout", "5")), transport=transport)  # fmt: skip
    now = sdk.clock.now()
    try:

        def send(events: list[JournalEvent]) -> None:
            by_client: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
            for e in events:
                g = to_ga4(e, now=now)
                if g is not None:
                    by_client.setdefault((_client_id(secret, e), e.customer_id if send_user else None), []).append(g)
            for (client_id, user_id), items in by_client.items():
                for i in range(0, len(items), MAX_EVENTS):
                    body: dict[str, Any] = {"client_id": client_id, "events": items[i : i + MAX_EVENTS]}
                    if user_id:
                        body["user_id"] = user_id
                    client.request("POST", endpoint, params={"measurement_id": mid, "api_secret": secret}, json=body, idempotent=True)

        return stream.drain(send, batch=100, max_batches=max_batches)
    finally:
        client.close()


@hookimpl
def o2o_journal_event(sdk: O2O, event: JournalEvent) -> None:
    """Forward promptly after each append; failures stay pending for the next flush."""
    if event.type not in _NAMES:
        return
    try:
        flush(sdk, max_batches=1, start_after=(event.seq or 1) - 1)
    except (O2OError, httpx.HTTPError) as exc:
        log.warning("GA4: %s (events stay pending, seq > %s)", exc, event.seq)
