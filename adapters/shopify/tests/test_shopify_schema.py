"""Every GraphQL document the adapter sends is valid against the real Admin API schema (2025-04),
with the variables the adapter builds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from o2o_shopify import queries
from shopify_fake import require_schema, validate_request

from o2o_sdk import Caps, Discount, Money, Offer

STARTS = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def schema():
    return require_schema()


VARIABLES = {
    "LOCATIONS": {"first": 250, "after": None},
    "LOCATIONS_COUNT": {},
    "SHOP_TIMEZONE": {},
    "INVENTORY_BY_SKU": {"first": 250, "query": 'sku:"A" OR sku:"B"', "levels": 50},
    "INVENTORY_LEVELS_PAGE": {"id": "gid://shopify/InventoryItem/1", "first": 250, "after": "cursor"},
    "CUSTOMER_BY_EMAIL": {"query": 'email:"ada@example.com"'},
    "DISCOUNT_BY_CODE": {"code": "SPRING10"},
    "DISCOUNT_USAGE": {"id": "gid://shopify/DiscountCodeNode/1"},
    "ORDER_FULFILLMENT_ORDERS": {"id": "gid://shopify/Order/1", "first": 50, "lines": queries.MAX_PAGE},
    "PREPARED_FOR_PICKUP": {"input": queries.prepared_for_pickup_input(["gid://shopify/FulfillmentOrder/1",
                                                                        "gid://shopify/FulfillmentOrder/2"])},
    "FULFILL_PICKUP": {"fulfillment": queries.fulfillment_input(["gid://shopify/FulfillmentOrder/1"], notify_customer=False),
                       "message": "Picked up in store"},
    "TAG_ORDER": {"id": "gid://shopify/Order/1", "tags": ["o2o-pickup-released"]},
}  # fmt: skip


def test_every_document_has_variables_under_test() -> None:
    assert set(queries.ALL_DOCUMENTS) == set(VARIABLES) | {"DISCOUNT_CREATE"}


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_document_and_variables_are_valid(schema, name: str) -> None:
    assert validate_request(schema, queries.ALL_DOCUMENTS[name], VARIABLES[name]) == []


def test_the_validator_can_fail(schema) -> None:
    assert validate_request(schema, "query X { locations(first: 1) { nodes { nope } } }", {})
    assert validate_request(schema, queries.DISCOUNT_BY_CODE, {"code": 5})
    assert validate_request(schema, queries.LOCATIONS, {})  # $first is required


OFFERS = {
    "percent": Offer("off_pct", "15% off", Discount.percent_off(15)),
    "amount": Offer("off_amt", "5 off", Discount.amount_off(Money(500, "EUR")), caps=Caps(total=100, per_customer=1),
                    min_basket=Money(2000, "EUR"), ends_at=datetime(2026, 7, 1, tzinfo=UTC)),
}


@pytest.mark.parametrize("kind", sorted(OFFERS))
def test_mirror_mutation_is_valid_in_2025_04(schema, kind: str) -> None:
    variables = {"basicCodeDiscount": queries.discount_input(OFFERS[kind], "CODE1", "2025-04", starts_at=STARTS,
                                                             ends_at=OFFERS[kind].ends_at)}
    assert validate_request(schema, queries.DISCOUNT_CREATE, variables) == []
    assert variables["basicCodeDiscount"]["customerSelection"] == {"all": True}


def test_percentage_is_a_fraction_and_amounts_are_decimal_strings() -> None:
    pct = queries.discount_input(OFFERS["percent"], "C", "2025-04", starts_at=STARTS, ends_at=None)
    assert pct["customerGets"]["value"] == {"percentage": 0.15}
    amt = queries.discount_input(OFFERS["amount"], "C", "2025-04", starts_at=STARTS, ends_at=OFFERS["amount"].ends_at)
    assert amt["customerGets"]["value"] == {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}}
    assert amt["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "20.00"}}
    assert (amt["usageLimit"], amt["appliesOncePerCustomer"], amt["endsAt"]) == (100, True, "2026-07-01T00:00:00Z")


def test_2025_10_input_uses_context(schema) -> None:
    # The 2025-10 shape cannot be validated against the 2025-04 schema we have: it is checked
    # structurally here, and the 2025-04 schema is shown to refuse it (so the switch matters).
    data = queries.discount_input(OFFERS["percent"], "C", "2025-10", starts_at=STARTS, ends_at=None)
    assert data["context"] == {"all": "ALL"}
    assert "customerSelection" not in data
    assert {k for k in data if k != "context"} <= set(
        queries.discount_input(OFFERS["percent"], "C", "2025-04", starts_at=STARTS, ends_at=None))
    errors = validate_request(schema, queries.DISCOUNT_CREATE, {"basicCodeDiscount": data})
    assert errors and "context" in errors[0]


def test_version_switch() -> None:
    assert not queries.uses_context("2025-01") and not queries.uses_context("2025-04")
    assert queries.uses_context("2025-10") and queries.uses_context("2026-01")


def test_free_item_offers_cannot_be_mirrored() -> None:
    from o2o_sdk import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        queries.discount_input(Offer("off_free", "Free", Discount.free_item("SKU")), "C", "2025-04", starts_at=STARTS, ends_at=None)
    assert caught.value.code == "unsupported_discount"


def test_search_values_are_quoted() -> None:
    assert queries.search_value("sku", 'A"B\\C') == 'sku:"A\\"B\\\\C"'


# ------------------------------------------------------------------ local pickup


def _enum(schema, name: str) -> set[str]:
    import graphql

    enum = schema.get_type(name)
    assert isinstance(enum, graphql.GraphQLEnumType), f"{name} is not an enum of the schema"
    return set(enum.values)


def test_pickup_values_are_the_schemas(schema) -> None:
    from o2o_shopify.adapter import NOTHING_TO_PREPARE
    from o2o_shopify.pickups import DONE_STATUSES, PICKUP_METHOD

    assert PICKUP_METHOD == "PICK_UP" and PICKUP_METHOD in _enum(schema, "DeliveryMethodType")
    assert "PICKUP" not in _enum(schema, "DeliveryMethodType")  # the spelling matters
    assert NOTHING_TO_PREPARE in _enum(schema, "FulfillmentOrderLineItemsPreparedForPickupUserErrorCode")
    assert DONE_STATUSES.issubset(_enum(schema, "FulfillmentOrderStatus"))
    assert {"OPEN", "IN_PROGRESS"} <= _enum(schema, "FulfillmentOrderStatus") - DONE_STATUSES


def test_fulfillment_input_fulfils_whole_fulfillment_orders(schema) -> None:
    data = queries.fulfillment_input(["gid://shopify/FulfillmentOrder/1", "gid://shopify/FulfillmentOrder/2"])
    assert data == {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1"},
                                                    {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/2"}],
                    "notifyCustomer": False}  # fmt: skip
    # the schema would refuse a misspelt or missing id (so the checks above mean something)
    assert validate_request(schema, queries.FULFILL_PICKUP, {"fulfillment": {"lineItemsByFulfillmentOrder": [{"id": "x"}]}})
    assert validate_request(schema, queries.PREPARED_FOR_PICKUP, {"input": {"lineItemsByFulfillmentOrder": [{}]}})


def test_what_the_adapter_sends_for_a_pickup_is_valid(o2o_make_sdk, schema) -> None:
    """The variables the adapter really builds, over a whole pickup, each validated against the schema."""
    import attrs
    import respx
    from o2o_shopify import ShopifyAdapter, location_gid
    from shopify_fake import ENDPOINT, FakeShopify, delivery, fulfillment_order, settings, web_order_payload

    from o2o_sdk import PickupState, Store

    fake = FakeShopify(None)  # records only: every request is validated below
    fake.fulfillment_orders["gid://shopify/Order/5820982911946"] = [fulfillment_order(1), fulfillment_order(2)]
    with respx.mock(assert_all_mocked=True) as router:
        router.post(ENDPOINT).mock(side_effect=fake)
        adapter = ShopifyAdapter(settings(), sleep=lambda s: None)
        sdk = o2o_make_sdk(plugins=[adapter])
        sdk.stores.add(Store("soho", "Soho", "Europe/London", 51.5, -0.13, external_ids={"shopify": location_gid(1)}))
        [result] = sdk.adapters.handle_webhook("shopify", *_parts(delivery(web_order_payload())))
        sdk.pickups.ready(result.pickup.id)
        done = sdk.pickups.handover(result.pickup.id, store_id="soho")
        adapter.pickup_changed(sdk, attrs.evolve(done, state=PickupState.CANCELLED), PickupState.READY)
        adapter.close()
    documents = {"O2OOrderFulfillmentOrders": queries.ORDER_FULFILLMENT_ORDERS, "O2OPreparedForPickup": queries.PREPARED_FOR_PICKUP,
                 "O2OFulfillPickup": queries.FULFILL_PICKUP, "O2OTagOrder": queries.TAG_ORDER}  # fmt: skip
    assert set(fake.operations()) == set(documents)
    for operation, variables, _ in fake.requests:
        assert validate_request(schema, documents[operation], variables) == [], (operation, variables)


def _parts(request):
    return request.headers, request.body, request.url


def test_the_fake_answers_in_the_schemas_shape(schema) -> None:
    """The fake shop's answers to the pickup documents are what the schema lets Shopify answer:
    executing each document over the fake's data reproduces it without errors (types, enum
    values, non-null fields)."""
    import graphql
    from shopify_fake import FakeShopify, fulfillment_order

    fake = FakeShopify(None)
    order = "gid://shopify/Order/1"
    fake.fulfillment_orders[order] = [fulfillment_order(1), fulfillment_order(2, method="SHIPPING", status="CLOSED", location_id=2)]
    fo = "gid://shopify/FulfillmentOrder/1"
    cases = [
        (queries.ORDER_FULFILLMENT_ORDERS, fake.op_O2OOrderFulfillmentOrders({"id": order, "first": 50, "lines": 250})),
        (queries.ORDER_FULFILLMENT_ORDERS, fake.op_O2OOrderFulfillmentOrders({"id": "gid://shopify/Order/404", "first": 50, "lines": 250})),
        (queries.PREPARED_FOR_PICKUP, fake.op_O2OPreparedForPickup({"input": queries.prepared_for_pickup_input([fo])})),
        (queries.PREPARED_FOR_PICKUP, fake.op_O2OPreparedForPickup({"input": queries.prepared_for_pickup_input([fo])})),  # again: refused
        (queries.FULFILL_PICKUP, fake.op_O2OFulfillPickup({"fulfillment": queries.fulfillment_input([fo])})),
        (queries.FULFILL_PICKUP, fake.op_O2OFulfillPickup({"fulfillment": queries.fulfillment_input([fo])})),  # again: refused
        (queries.TAG_ORDER, fake.op_O2OTagOrder({"id": order, "tags": ["o2o-pickup-cancelled"]})),
        (queries.TAG_ORDER, fake.op_O2OTagOrder({"id": "gid://shopify/Order/404", "tags": ["x"]})),
    ]  # fmt: skip
    assert cases[3][1]["fulfillmentOrderLineItemsPreparedForPickup"]["userErrors"][0]["code"] == "NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER"
    for document, data in cases:
        result = graphql.execute_sync(schema, graphql.parse(document), root_value=data, variable_values=_any_variables(document),
                                      type_resolver=_type_from_gid)  # fmt: skip
        assert result.errors is None, (document, result.errors)
        assert result.data == data
    # and it would notice a wrong answer
    wrong = fake.op_O2OOrderFulfillmentOrders({"id": order, "first": 50, "lines": 250})
    wrong["order"]["fulfillmentOrders"]["nodes"][0]["deliveryMethod"]["methodType"] = "PICKUP"
    assert graphql.execute_sync(schema, graphql.parse(queries.ORDER_FULFILLMENT_ORDERS), root_value=wrong,
                                variable_values=_any_variables(queries.ORDER_FULFILLMENT_ORDERS)).errors  # fmt: skip


def _any_variables(document: str) -> dict:
    """Valid variables for a document (the ones under test above)."""
    return next(VARIABLES[name] for name, doc in queries.ALL_DOCUMENTS.items() if doc == document)


def _type_from_gid(value, info, abstract_type) -> str | None:
    """An interface's (``Node``) object type, as Shopify's ids name it: ``gid://shopify/Order/1`` -> ``Order``."""
    gid = value.get("id") if isinstance(value, dict) else None
    return gid.split("/")[3] if isinstance(gid, str) and gid.startswith("gid://shopify/") else None
