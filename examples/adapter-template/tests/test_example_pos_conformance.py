"""Run the SDK's adapter conformance suite against this adapter, with the platform mocked by respx."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from o2o_example_pos import ExamplePosAdapter, ExamplePosSettings, sign

from o2o_sdk import WebhookRequest
from o2o_sdk.testing.conformance import AdapterConformance, PlatformScenario

BASE = "https://api.example-pos.test/v1"
SECRET = "whsec-example"
LOCATIONS = [
    {"id": "L1", "name": "Soho", "lat": 51.513, "lon": -0.136, "timezone": "Europe/London", "address": "1 Old Compton St"},
    {"id": "L2", "name": "Camden", "lat": 51.539, "lon": -0.142, "timezone": "Europe/London", "address": "2 High St"},
]
STOCK = {"L1": {"MUG": 4, "TEE": 0}, "L2": {"TEE": 9}}


class TestExamplePosConformance(AdapterConformance):
    @pytest.fixture
    def o2o_mock(self):
        """The platform's API, mocked with respx (no network)."""
        coupons: dict[str, dict] = {}
        with respx.mock(base_url=BASE, assert_all_called=False) as api:
            # page 1 links to page 2 (respx matches params as a subset: the specific route first)
            api.get("/locations", params={"page": "2"}).respond(json=LOCATIONS[1:])
            api.get("/locations").respond(json=LOCATIONS[:1], headers={"Link": f'<{BASE}/locations?page=2>; rel="next"'})

            def inventory(request: httpx.Request) -> httpx.Response:
                asked = json.loads(request.content)
                rows = [{"location_id": loc, "sku": sku, "available": STOCK.get(loc, {}).get(sku, 0)}
                        for loc in asked["location_ids"] for sku in asked["skus"] if sku in STOCK.get(loc, {})]  # fmt: skip
                return httpx.Response(200, json=rows)

            def create_coupon(request: httpx.Request) -> httpx.Response:
                body = json.loads(request.content)
                coupon = coupons.setdefault(request.headers["Idempotency-Key"], {"id": f"C{len(coupons) + 1}", "code": body["code"]})
                return httpx.Response(201, json=coupon)

            api.post("/inventory/query").mock(side_effect=inventory)
            api.post("/coupons").mock(side_effect=create_coupon)
            api.get(url__regex=r"/coupons/C\d+$").respond(json={"times_used": 2})
            api.get("/customers", params={"email": "ada@example.com"}).respond(json=[{"id": 7, "email": "ada@example.com"}])
            api.get("/customers").respond(json=[])
            yield api

    @pytest.fixture
    def o2o_platform(self, o2o_mock: respx.Router) -> PlatformScenario:
        def webhook(kind, *, order_id, delivery_id, location_id, codes, total, customer_email, signed=True):
            body = json.dumps({"type": "order.created", "order": {
                "id": order_id, "location_id": location_id, "created_at": "2026-06-15T12:00:00+00:00",
                "total_cents": total.minor, "currency": total.currency, "email": customer_email, "coupons": list(codes)}}).encode()  # fmt: skip
            signature = sign(body, SECRET if signed else "not-the-secret")
            return WebhookRequest(body, {"X-Example-Signature": signature, "X-Example-Delivery": delivery_id}, "https://shop.example/webhooks/example")

        return PlatformScenario(location_ids=("L1", "L2"), stock=STOCK, customer_email="ada@example.com", customer_id="7",
                                discount_usage=2, webhook=webhook, calls=lambda: len(o2o_mock.calls))  # fmt: skip

    @pytest.fixture
    def o2o_adapter(self, o2o_mock: respx.Router):
        adapter = ExamplePosAdapter(ExamplePosSettings(BASE, "key-123", SECRET), sleep=lambda s: None)
        yield adapter
        adapter.close()
