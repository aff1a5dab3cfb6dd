"""Sale events and signed deliveries as an in-house POS sends them, for the o2o-pos tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from o2o_pos import SIGNATURE_HEADER, sign

from o2o_sdk import Store, WebhookRequest
from o2o_sdk.testing import FROZEN_AT

SECRET = "pos-test-secret-0123456789abcdef"
OLD_SECRET = "pos-old-secret-fedcba9876543210"
#: ``o2o_clock``'s instant as unix seconds: a delivery signed "now".
NOW = int(FROZEN_AT.timestamp())

#: Two stores known by their POS codes, one by its SDK id only.
STORES = [
    Store("lon-soho", "Soho", "Europe/London", 51.5136, -0.1365, external_ids={"pos": "T01"}),
    Store("par-marais", "Marais", "Europe/Paris", 48.8575, 2.3620, external_ids={"pos": "T02"}),
    Store("ber-mitte", "Mitte", "Europe/Berlin", 52.5200, 13.4050),
]

SALE: dict[str, Any] = {
    "type": "sale.completed",
    "event_id": "evt-0001",
    "sale_id": "T01-000950",
    "store": "T01",
    "occurred_at": "2026-06-15T13:05:00+01:00",
    "items": [
        {"sku": "flat-white", "quantity": 2, "unit_price": "3.20", "name": "Flat white"},
        {"sku": "cardamom-bun", "quantity": 1, "unit_price": "2.60"},
    ],
    "total": {"amount": "9.00", "currency": "GBP"},
    "customer": {"id": "cust-7", "email": "ada@example.com"},
}


def event(**changes: Any) -> dict[str, Any]:
    """A valid sale event with ``changes`` applied (a value of ``None`` removes the field)."""
    out = copy.deepcopy(SALE)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def delivery(payload: Any = None, *, raw: bytes | None = None, secret: str | list[str] = SECRET,
             timestamp: int = NOW, signed: bool = True, header: str | None = None) -> WebhookRequest:  # fmt: skip
    """One POST as the POS sends it: the body, ``O2O-Signature`` over it, JSON content type."""
    body = raw if raw is not None else body_of(event() if payload is None else payload)
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[SIGNATURE_HEADER] = header
    elif signed:
        headers[SIGNATURE_HEADER] = sign(body, secret, timestamp)
    return WebhookRequest(body, headers, "https://shop.example/webhooks/pos")
