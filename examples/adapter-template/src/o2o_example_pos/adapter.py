"""The adapter. Example POS API (fictional, JSON over HTTPS, ``Authorization: Bearer <key>``):

==========================================  ==============================================
``GET /locations?page=N``                   ``[{id, name, lat, lon, timezone, address}]``, ``Link: rel="next"``
``POST /inventory/query``                   ``{skus, location_ids}`` -> ``[{location_id, sku, available}]``
``POST /coupons`` (``Idempotency-Key``)     ``{code, percent_off | amount_off, currency}`` -> ``{id, code}``
``GET /coupons/{id}``                       ``{id, code, times_used}``
``GET /customers?email=``                   ``[{id, email, name}]``
webhook ``order.created``                   hex HMAC-SHA256 of the body in ``X-Example-Signature``,
                                            delivery id in ``X-Example-Delivery``
==========================================  ==============================================
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from o2o_sdk import (
    AdapterBase,
    Capability,
    DiscountKind,
    InvalidInput,
    Money,
    Offer,
    OfferMirror,
    OrderEvent,
    OrderKind,
    PlatformCustomer,
    PlatformDiscount,
    Store,
    WebhookRejected,
    WebhookRequest,
    hookimpl,
)
from o2o_sdk.http import PlatformClient, Secret, paginate_links

if TYPE_CHECKING:
    from o2o_sdk import O2O

__all__ = ["ExamplePosAdapter", "ExamplePosSettings", "sign"]


@attrs.frozen
class ExamplePosSettings:
    """Where the platform is and how to authenticate (secrets never show in reprs)."""

    base_url: str
    api_key: Secret = attrs.field(converter=lambda v: v if isinstance(v, Secret) else Secret(str(v)))
    webhook_secret: Secret = attrs.field(default=Secret(""), converter=lambda v: v if isinstance(v, Secret) else Secret(str(v)))


def sign(body: bytes, secret: str) -> str:
    """The platform's webhook signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ExamplePosAdapter(AdapterBase):
    """Stores, inventory, coupons, customers and order webhooks of Example POS."""

    name = "example"
    capabilities = frozenset({Capability.STORES, Capability.INVENTORY, Capability.DISCOUNTS, Capability.CUSTOMERS,
                              Capability.WEBHOOKS})  # fmt: skip

    def __init__(self, settings: ExamplePosSettings, *, sleep: Callable[[float], None] | None = None) -> None:
        self.settings = settings
        client = PlatformClient("example", settings.base_url, secret_headers={"Authorization": f"Bearer {settings.api_key.value}"})
        self.http = client.with_options(sleep=sleep) if sleep is not None else client

    def close(self) -> None:
        self.http.close()

    # stores: the store locator's hook, implemented on the adapter object
    @hookimpl
    def o2o_register_stores(self, sdk: O2O, register: Callable[[Store], None]) -> None:
        for loc in paginate_links(self.http, "/locations", lambda r: r.json()):
            register(Store(f"example-{loc['id']}", loc["name"], loc["timezone"], float(loc["lat"]), float(loc["lon"]),
                           address=loc.get("address", ""), external_ids={self.name: str(loc["id"])}))  # fmt: skip

    # inventory: one request for every store and SKU of the batch
    @hookimpl
    def o2o_check_inventory(self, sdk: O2O, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]] | None:
        ours = {s.external_ids[self.name]: s.id for s in stores if self.name in s.external_ids}
        if not ours or not skus:
            return None
        rows = self.http.post("/inventory/query", json={"skus": skus, "location_ids": sorted(ours)}, idempotent=True).json()
        out: dict[str, dict[str, int]] = {sid: dict.fromkeys(skus, 0) for sid in ours.values()}
        for row in rows:
            if row["location_id"] in ours and row["sku"] in skus:
                out[ours[row["location_id"]]][row["sku"]] = int(row["available"])
        return out

    def mirror_offer(self, sdk: O2O, offer: Offer, code: str) -> PlatformDiscount:
        d = offer.discount
        if d.kind is DiscountKind.PERCENT and d.percent is not None:
            body: dict[str, Any] = {"code": code, "percent_off": str(d.percent)}
        elif d.kind is DiscountKind.AMOUNT and d.amount is not None:
            body = {"code": code, "amount_off": str(d.amount.amount), "currency": d.amount.currency}
        else:
            raise InvalidInput(f"Example POS coupons cannot give {d.describe()}.", code="unsupported_discount")
        # A write with an idempotency key may be retried safely: the offer id keys it.
        made = self.http.post("/coupons", json=body, idempotency_key=f"o2o-mirror-{offer.id}").json()
        return PlatformDiscount(str(made["id"]), made["code"])

    def discount_usage(self, sdk: O2O, mirror: OfferMirror) -> int:
        return int(self.http.get(f"/coupons/{mirror.discount_id}").json()["times_used"])

    def lookup_customer(self, sdk: O2O, email: str) -> PlatformCustomer | None:
        for c in self.http.get("/customers", params={"email": email}).json():
            if c["email"].casefold() == email.casefold():
                return PlatformCustomer(self.name, str(c["id"]), c["email"], c.get("name"))
        return None

    def parse_webhook(self, sdk: O2O, request: WebhookRequest) -> list[OrderEvent]:
        secret = self.settings.webhook_secret.value
        given = request.header("x-example-signature") or ""
        # Verify first, over the raw bytes, in constant time; read nothing before.
        if not secret or not hmac.compare_digest(sign(request.body, secret), given):
            raise WebhookRejected("Example POS webhook: bad signature.", code="bad_signature")
        try:
            data = json.loads(request.body)
            order = data["order"]
            event = OrderEvent(
                platform=self.name, order_id=str(order["id"]),
                kind=OrderKind.IN_STORE if order.get("location_id") else OrderKind.ONLINE,
                occurred_at=datetime.fromisoformat(order["created_at"]),
                total=Money(int(order["total_cents"]), order["currency"]),
                location_id=str(order["location_id"]) if order.get("location_id") else None,
                customer_email=order.get("email"), discount_codes=tuple(order.get("coupons", [])),
                delivery_id=request.header("x-example-delivery"),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"Example POS webhook: unreadable order ({exc}).", code="malformed_payload") from None
        return [event] if data.get("type") == "order.created" else []
