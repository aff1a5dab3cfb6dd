"""The SDK's adapter conformance suite, run against the Square adapter and the fake Square."""

from __future__ import annotations

from decimal import Decimal

import pytest
import respx
from o2o_square import SquareAdapter
from square_fake import (
    FakeSquare,
    delivery,
    discount,
    order,
    payment_event,
    require_spec,
    settings,
    shipment_fulfillment,
)

from o2o_sdk import Money, OrderKind
from o2o_sdk.testing.conformance import AdapterConformance, PlatformScenario


class TestSquareConformance(AdapterConformance):
    @pytest.fixture
    def o2o_fake_square(self):
        fake = FakeSquare(require_spec())
        with respx.mock(assert_all_called=False) as router:
            router.route(host="connect.squareup.com").mock(side_effect=fake)
            yield fake

    @pytest.fixture
    def o2o_platform(self, o2o_fake_square: FakeSquare) -> PlatformScenario:
        fake = o2o_fake_square
        sku_of = {v["id"]: v["item_variation_data"]["sku"] for v in fake.variations}
        stock: dict[str, dict[str, int]] = {}
        for c in fake.counts:
            if c["state"] == "IN_STOCK":
                held = stock.setdefault(c["location_id"], {})
                held[sku_of[c["catalog_object_id"]]] = max(0, int(Decimal(c["quantity"])))

        def webhook(kind, *, order_id, delivery_id, location_id, codes, total: Money, customer_email, signed=True):
            online = kind is OrderKind.ONLINE
            fake.orders[order_id] = order(
                fake.spec, order_id, location_id=location_id or fake.locations[0]["id"], total=total.minor, currency=total.currency,
                discounts=[discount(c, uid=f"d{n}") for n, c in enumerate(codes)],
                fulfillments=[shipment_fulfillment(customer_email)] if online else [],
            )  # fmt: skip
            return delivery(payment_event(fake.spec, order_id, event_id=delivery_id), signed=signed)

        active = [loc["id"] for loc in fake.locations if loc.get("status") == "ACTIVE"]
        return PlatformScenario(
            location_ids=tuple(active), stock=stock, customer_email="ada@example.com",
            customer_id=fake.customers[0]["id"], discount_usage=fake.usage, webhook=webhook, calls=lambda: len(fake.requests),
        )  # fmt: skip

    @pytest.fixture
    def o2o_adapter(self, o2o_fake_square: FakeSquare) -> SquareAdapter:
        adapter = SquareAdapter(settings(), sleep=lambda s: None)
        yield adapter
        adapter.close()
