"""The SDK's adapter conformance suite, run against the POS adapter (webhooks only: the other
capabilities are not declared, so their tests skip)."""

from __future__ import annotations

import pytest
from o2o_pos import PosAdapter, PosSettings
from pos_events import SECRET, delivery, event

from o2o_sdk import Money, OrderKind
from o2o_sdk.testing.conformance import AdapterConformance, PlatformScenario


class TestPosConformance(AdapterConformance):
    @pytest.fixture
    def o2o_platform(self) -> PlatformScenario:
        def webhook(kind, *, order_id, delivery_id, location_id, codes, total: Money, customer_email, signed=True):
            payload = event(event_id=delivery_id, sale_id=order_id, store=location_id,
                            channel="in_store" if kind is OrderKind.IN_STORE else "online",
                            items=[{"sku": "conformance-sku", "quantity": 1, "unit_price": str(total.amount)}],
                            total={"amount": str(total.amount), "currency": total.currency},
                            customer={"email": customer_email} if customer_email else None)  # fmt: skip
            if codes:
                code = codes[0]
                payload["voucher"] = {"id": code} if len(code) == 16 else {"token": code}
            return delivery(payload, signed=signed)

        # The POS reports sales only: no stock and no customers to look up (those tests skip).
        return PlatformScenario(
            location_ids=("T01", "T02"), stock={"T01": {"sku-a": 1}, "T02": {"sku-b": 2}},
            customer_email="ada@example.com", customer_id="cust-7", discount_usage=0,
            webhook=webhook, calls=lambda: 0,
        )  # fmt: skip

    @pytest.fixture
    def o2o_adapter(self) -> PosAdapter:
        return PosAdapter(PosSettings(webhook_secrets=[SECRET]))
