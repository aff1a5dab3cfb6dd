"""The SDK's adapter conformance suite, run against the WooCommerce adapter and the fake site.

WooCommerce core has no stores, locations or per-store stock, so the adapter declares neither
``stores`` nor ``inventory`` and the suite skips those tests. The scenario's locations are the
keys an order names in its ``_o2o_store_id`` meta field (a POS plugin's outlet, say), which
``Store.external_ids["woocommerce"]`` maps to our stores; its stock is never asked for.
"""

from __future__ import annotations

import pytest
import respx
from o2o_woocommerce import WooCommerceAdapter
from woo_fake import FakeWooCommerce, delivery, meta, order_payload, settings

from o2o_sdk import Money, OrderKind
from o2o_sdk.testing.conformance import AdapterConformance, PlatformScenario


class TestWooCommerceConformance(AdapterConformance):
    @pytest.fixture
    def o2o_fake_site(self):
        fake = FakeWooCommerce()
        with respx.mock(assert_all_called=False) as router:
            router.route(host="shop.example").mock(side_effect=fake)
            yield fake

    @pytest.fixture
    def o2o_platform(self, o2o_fake_site: FakeWooCommerce) -> PlatformScenario:
        fake = o2o_fake_site

        def webhook(kind, *, order_id, delivery_id, location_id, codes, total: Money, customer_email, signed=True):
            in_store = kind is OrderKind.IN_STORE
            payload = order_payload(int(order_id), created_via="pos-rest-api" if in_store else "checkout", codes=tuple(codes),
                                    total=str(total.amount), currency=total.currency, email=customer_email,
                                    meta_data=[meta("_o2o_store_id", location_id)] if location_id else [],
                                    shipping_lines=[] if in_store else None)  # fmt: skip
            return delivery(payload, delivery_id=delivery_id, signed=signed)

        return PlatformScenario(
            location_ids=("outlet-soho", "outlet-camden"),
            stock={"outlet-soho": {"MUG-BLUE": 0}, "outlet-camden": {"MUG-RED": 0}},  # not asked: no inventory capability
            customer_email="ada@example.com", customer_id="77", discount_usage=fake.usage,
            webhook=webhook, calls=lambda: len(fake.requests),
        )  # fmt: skip

    @pytest.fixture
    def o2o_adapter(self, o2o_fake_site: FakeWooCommerce) -> WooCommerceAdapter:
        adapter = WooCommerceAdapter(settings(), sleep=lambda s: None)
        yield adapter
        adapter.close()
