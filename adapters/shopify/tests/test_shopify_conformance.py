"""The SDK's adapter conformance suite, run against the Shopify adapter and the fake shop."""

from __future__ import annotations

import pytest
import respx
from o2o_shopify import ShopifyAdapter
from shopify_fake import ENDPOINT, FakeShopify, delivery, order_payload, require_schema, settings

from o2o_sdk import Money, OrderKind
from o2o_sdk.testing.conformance import AdapterConformance, PlatformScenario


class TestShopifyConformance(AdapterConformance):
    @pytest.fixture
    def o2o_fake_shop(self):
        fake = FakeShopify(require_schema())
        with respx.mock(assert_all_called=False) as router:
            router.post(ENDPOINT).mock(side_effect=fake)
            yield fake

    @pytest.fixture
    def o2o_platform(self, o2o_fake_shop: FakeShopify) -> PlatformScenario:
        fake = o2o_fake_shop
        stock: dict[str, dict[str, int]] = {}
        for sku, levels in fake.stock.items():
            for loc, qty in levels.items():
                stock.setdefault(loc, {})[sku] = qty

        def webhook(kind, *, order_id, delivery_id, location_id, codes, total: Money, customer_email, signed=True):
            payload = order_payload(order_id, source_name="pos" if kind is OrderKind.IN_STORE else "web",
                                    location_id=int(location_id.rsplit("/", 1)[-1]) if location_id else None,
                                    codes=tuple(codes), total=str(total.amount), currency=total.currency,
                                    customer={"id": 5, "email": customer_email} if customer_email else {})  # fmt: skip
            return delivery(payload, event_id=delivery_id, signed=signed)

        return PlatformScenario(
            location_ids=tuple(n["id"] for n in fake.locations), stock=stock,
            customer_email="ada@example.com", customer_id="gid://shopify/Customer/77",
            discount_usage=fake.usage, webhook=webhook, calls=lambda: len(fake.requests),
        )  # fmt: skip

    @pytest.fixture
    def o2o_adapter(self, o2o_fake_shop: FakeShopify) -> ShopifyAdapter:
        adapter = ShopifyAdapter(settings(), sleep=lambda s: None)
        yield adapter
        adapter.close()
