"""What the adapter sends is what Square's OpenAPI document (Square-Version 2025-08-20) accepts,
and the facts the adapter relies on are the document's."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from o2o_square import DEFAULT_SQUARE_VERSION, FULFILLMENT_STATE, SquareAdapter, catalog
from o2o_square.orders import fulfillment_update
from square_fake import (
    Spec,
    count,
    discount,
    fulfillment_updated_event,
    locations,
    order,
    order_updated_event,
    payment_event,
    pickup_fulfillment,
    settings,
    shipment_fulfillment,
    spec,
    variations,
)

from o2o_sdk import Capability, Caps, Discount, InvalidInput, Money, Offer

__all__ = ["spec"]  # fixture used by name

OFFERS = {
    "percent": Offer("off_pct", "15% off", Discount.percent_off("15.50")),
    "amount": Offer("off_amt", "5 off", Discount.amount_off(Money(500, "EUR")), caps=Caps(total=100, per_customer=1),
                    min_basket=Money(2000, "EUR"), starts_at=datetime(2026, 6, 20, 9, 0), ends_at=datetime(2026, 7, 1, 23, 59)),
}  # fmt: skip


def test_the_pinned_version_is_the_documents(spec: Spec) -> None:
    headers = spec.document["components"]["securitySchemes"]["oauth2"]["x-additional-headers"]
    assert {h["name"]: h["schema"]["default"] for h in headers}["Square-Version"] == DEFAULT_SQUARE_VERSION


def test_the_validator_can_fail(spec: Spec) -> None:
    good = catalog.sku_search(["A"])
    assert spec.errors("SearchCatalogObjectsRequest", good, strict=True) == []
    assert spec.errors("SearchCatalogObjectsRequest", {**good, "object_type": ["ITEM_VARIATION"]}, strict=True)  # misspelt
    assert spec.errors("SearchCatalogObjectsRequest", {**good, "limit": "100"}, strict=True)  # wrong type
    assert spec.errors("BatchUpsertCatalogObjectsRequest", {"batches": []}, strict=True)  # idempotency_key is required
    assert spec.errors("CatalogPricingRule", {"valid_from_date": None}) == []  # nullable


def test_fixtures_are_valid_answers(spec: Spec) -> None:
    assert spec.errors("ListLocationsResponse", {"locations": locations(spec)}) == []
    assert spec.errors("SearchCatalogObjectsResponse", {"objects": variations(spec)}) == []
    tea = variations(spec)[0]["id"]
    assert spec.errors("BatchRetrieveInventoryCountsResponse", {"counts": [count(spec, tea, "L", "2.5")]}) == []
    pickup = order(spec, "O1", location_id="L", discounts=[discount("SPRING", catalog_object_id="D1")],
                   fulfillments=[pickup_fulfillment(curbside=True, car="Red Mini")], customer_id="C1", currency="EUR")  # fmt: skip
    assert spec.errors("RetrieveOrderResponse", {"order": pickup}) == []
    assert spec.errors("RetrieveOrderResponse", {"order": order(spec, "O2", location_id="L", fulfillments=[shipment_fulfillment()])}) == []
    assert spec.errors("PaymentUpdatedEvent", payment_event(spec, "O1", kind="payment.updated")) == []
    assert spec.errors("RetrieveOrderResponse", {"order": {**pickup, "total_money": {"amount": "5.50"}}})  # can fail


def test_cancellation_events_are_squares_shapes(spec: Spec) -> None:
    cancelled = order(spec, "O3", location_id="L", fulfillments=[pickup_fulfillment(state="CANCELED")], state="CANCELED")
    assert spec.errors("RetrieveOrderResponse", {"order": cancelled}) == []
    assert spec.errors("OrderUpdatedEvent", order_updated_event(spec, "O3")) == []
    assert spec.errors("OrderFulfillmentUpdatedEvent", fulfillment_updated_event(spec, "O3")) == []
    # the check can fail: Square spells it CANCELED, and these are its only states
    assert spec.errors("OrderUpdatedEvent", {**order_updated_event(spec, "O3"), "data": {"object": {"order_updated": {"state": "CANCELLED"}}}})
    wrong = fulfillment_updated_event(spec, "O3")
    wrong["data"]["object"]["order_fulfillment_updated"]["fulfillment_update"][0]["new_state"] = "CANCELLED"
    assert spec.errors("OrderFulfillmentUpdatedEvent", wrong)
    assert set(spec.schemas["OrderState"]["enum"]) >= {"CANCELED", "DRAFT"}
    assert "CANCELED" in spec.schemas["FulfillmentState"]["enum"]
    assert {"order.updated", "order.fulfillment.updated"} <= {
        s.get("x-webhook", {}).get("event") for s in spec.schemas.values() if isinstance(s, dict)}


@pytest.mark.parametrize("kind", sorted(OFFERS))
@pytest.mark.parametrize("automatic", [False, True])
def test_discount_batches_are_valid(spec: Spec, kind: str, automatic: bool) -> None:
    objects = catalog.discount_objects(OFFERS[kind], "SUMMER", automatic=automatic, location_ids=["L1", "L2"])
    body = {"idempotency_key": "o2o-mirror-1", "batches": [{"objects": objects}]}
    assert spec.errors("BatchUpsertCatalogObjectsRequest", body, strict=True) == []
    assert all(o["id"].startswith("#") for o in objects)
    assert [o["type"] for o in objects] == (["DISCOUNT", "PRODUCT_SET", "PRICING_RULE"] if automatic else ["DISCOUNT"])
    types = set(spec.schemas["CatalogObjectType"]["enum"])
    assert {o["type"] for o in objects} <= types


def test_discount_values_are_squares_shapes() -> None:
    [pct] = catalog.discount_objects(OFFERS["percent"], "P", automatic=False)
    assert pct["discount_data"] == {"name": "P", "discount_type": "FIXED_PERCENTAGE", "percentage": "15.5", "pin_required": False}
    assert pct["present_at_all_locations"] is True
    amount, products, rule = catalog.discount_objects(OFFERS["amount"], "A", automatic=True, location_ids=["L1"])
    assert amount["discount_data"]["amount_money"] == {"amount": 500, "currency": "EUR"}
    assert amount["present_at_location_ids"] == products["present_at_location_ids"] == rule["present_at_location_ids"] == ["L1"]
    assert products["product_set_data"]["all_products"] is True
    assert rule["pricing_rule_data"] == {
        "name": "A", "discount_id": "#o2o-discount", "match_products_id": "#o2o-all-items",
        "valid_from_date": "2026-06-20", "valid_from_local_time": "09:00:00",
        "valid_until_date": "2026-07-01", "valid_until_local_time": "23:59:00",
        "minimum_order_subtotal_money": {"amount": 2000, "currency": "EUR"},
    }  # fmt: skip


def test_percentages_are_decimal_strings() -> None:
    assert [catalog.percentage(Decimal(v)) for v in ("15", "7.50", "100", "0.25")] == ["15", "7.5", "100", "0.25"]


def test_an_absolute_window_is_seen_in_the_configured_zone() -> None:
    from zoneinfo import ZoneInfo

    offer = Offer("o", "t", Discount.percent_off(5), starts_at=datetime(2026, 6, 20, 7, 30, tzinfo=UTC))
    assert catalog.window(offer, ZoneInfo("Europe/Paris")) == {"valid_from_date": "2026-06-20", "valid_from_local_time": "09:30:00"}
    assert catalog.window(offer) == {"valid_from_date": "2026-06-20", "valid_from_local_time": "07:30:00"}


def test_free_item_offers_cannot_be_mirrored() -> None:
    with pytest.raises(InvalidInput) as caught:
        catalog.discount_objects(Offer("o", "Free tea", Discount.free_item("TEA")), "FREE", automatic=False)
    assert caught.value.code == "unsupported_discount"


def test_searches_are_valid(spec: Spec) -> None:
    assert spec.errors("SearchCatalogObjectsRequest", catalog.sku_search(["A"] * 250), strict=True) == []
    assert spec.errors("SearchCatalogObjectsRequest", catalog.discount_search("SUMMER"), strict=True) == []
    assert spec.errors("BatchRetrieveCatalogObjectsRequest", catalog.variations_by_id(["V1", "V2"]), strict=True) == []
    with pytest.raises(ValueError):
        catalog.sku_search(["A"] * 251)  # Square's set query takes at most 250 values


def test_pickup_updates_are_valid_and_use_squares_states(spec: Spec) -> None:
    states = set(spec.schemas["FulfillmentState"]["enum"])
    assert set(FULFILLMENT_STATE.values()) <= states
    placed = order(spec, "O1", location_id="L", fulfillments=[pickup_fulfillment()], version=3)
    body = fulfillment_update(placed, placed["fulfillments"][0], "CANCELED", idempotency_key="o2o-pickup-1", cancel_reason="x" * 300)
    assert spec.errors("UpdateOrderRequest", body, strict=True) == []
    assert body["order"] == {"location_id": "L", "version": 3, "fulfillments": [
        {"uid": "FULFILL-PICKUP-1", "state": "CANCELED", "pickup_details": {"cancel_reason": "x" * 100}}]}  # fmt: skip


def test_inventory_holds_are_not_declared_because_the_state_is_read_only(spec: Spec) -> None:
    # The brief's hold moves IN_STOCK -> RESERVED_FOR_SALE. The document says the Inventory API
    # cannot move quantities to or from that state, so the adapter does not claim the capability.
    described = {e["name"]: e["description"] for e in spec.schemas["InventoryState"]["x-enum-elements"]}
    assert {"IN_STOCK", "RESERVED_FOR_SALE", "SOLD"} <= set(described)
    assert "READ-ONLY" in described["RESERVED_FOR_SALE"] and "READ-ONLY" not in described["IN_STOCK"]
    assert Capability.INVENTORY_HOLDS not in SquareAdapter(settings()).capabilities


def test_every_path_the_adapter_calls_is_in_the_document(spec: Spec) -> None:
    calls = {("GET", "/v2/locations"), ("POST", "/v2/catalog/search"), ("POST", "/v2/catalog/batch-retrieve"),
             ("POST", "/v2/catalog/batch-upsert"), ("POST", "/v2/inventory/counts/batch-retrieve"),
             ("POST", "/v2/customers/search"), ("GET", "/v2/orders/X1"), ("PUT", "/v2/orders/X1"),
             ("POST", "/v2/orders/batch-retrieve"), ("POST", "/v2/orders/search")}  # fmt: skip
    found = {(m, p): spec.operation(m, p) for m, p in calls}
    assert all(found.values()), [k for k, v in found.items() if v is None]
    assert {op.id for op in found.values() if op} == {
        "ListLocations", "SearchCatalogObjects", "BatchRetrieveCatalogObjects", "BatchUpsertCatalogObjects",
        "BatchRetrieveInventoryCounts", "SearchCustomers", "RetrieveOrder", "UpdateOrder", "BatchRetrieveOrders", "SearchOrders"}  # fmt: skip
    assert spec.operation("POST", "/v2/orders/X1/pickup") is None
