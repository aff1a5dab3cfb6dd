"""Local-pickup orders of Shopify (issue #10), through a real SDK on SQLite and the fake shop.

An online order whose payload may be a pickup is looked up once (its fulfillment orders:
``deliveryMethod.methodType == PICK_UP`` at the ``assignedLocation``) and becomes one SDK pickup
at the store mapped to that location; redeliveries and ``orders/updated`` reuse it. A lookup
Shopify cannot answer now makes the webhook answer 503; any other failure records the order
without a pickup. SDK pickup steps are told to Shopify: ready -> prepared for pickup, handed
over -> a fulfillment, released / cancelled -> a tag.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import attrs
import httpx
import pytest
import respx
from o2o_shopify import ShopifyAdapter, ShopifySettings, location_gid
from o2o_shopify.pickups import may_be_pickup
from shopify_fake import (
    ENDPOINT,
    FakeShopify,
    Sleeps,
    delivery,
    fake,
    fulfillment_order,
    location,
    order_payload,
    settings,
    sleeps,
    throttled,
    web_order_payload,
)

from o2o_sdk import (
    Capability,
    ConfigurationError,
    EventType,
    Money,
    OrderKind,
    OrderLine,
    Pickup,
    PickupState,
    Store,
    hookimpl,
)
from o2o_sdk.http import PlatformUnprocessable

__all__ = ["fake", "sleeps"]  # fixtures used by name

ORDER_NUMBER = "5820982911946"
ORDER = f"gid://shopify/Order/{ORDER_NUMBER}"
FO1 = "gid://shopify/FulfillmentOrder/1"
FO2 = "gid://shopify/FulfillmentOrder/2"
LOOKUP = "O2OOrderFulfillmentOrders"
PREPARE = "O2OPreparedForPickup"
FULFIL = "O2OFulfillPickup"
TAG = "O2OTagOrder"
ITEMS = (OrderLine("SKU-A", 2, "Product SKU-A - M"), OrderLine("SKU-B", 1, "Product SKU-B - M"))


# ------------------------------------------------------------------ fixtures and helpers


@pytest.fixture
def router(fake: FakeShopify):
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        mock.post(ENDPOINT).mock(side_effect=fake)
        yield mock


@pytest.fixture
def make(o2o_make_sdk, router, sleeps: Sleeps):
    """``make(**settings)``: an SDK with a Shopify adapter and two stores mapped to locations 1 and 2."""
    adapters: list[ShopifyAdapter] = []

    def make(**overrides):
        adapter = ShopifyAdapter(settings(**overrides), sleep=sleeps)
        adapters.append(adapter)
        sdk = o2o_make_sdk(plugins=[adapter])
        sdk.stores.add([
            Store("soho", "Soho", "Europe/London", 51.514, -0.132, external_ids={"shopify": location_gid(1)}),
            Store("camden", "Camden", "Europe/London", 51.539, -0.142, external_ids={"shopify": location_gid(2)}),
        ])  # fmt: skip
        return sdk, adapter

    yield make
    for adapter in adapters:
        adapter.close()


@pytest.fixture
def shop(make):
    return make()


@pytest.fixture
def sdk(shop):
    return shop[0]


@pytest.fixture
def adapter(shop) -> ShopifyAdapter:
    return shop[1]


def handle(sdk, request):
    return sdk.adapters.handle_webhook("shopify", request.headers, request.body, request.url)


def ops(fake: FakeShopify) -> list[str]:
    return fake.operations()


def sent(fake: FakeShopify, operation: str) -> list[dict]:
    return [v for op, v, _ in fake.requests if op == operation]


def orders(sdk):
    return sdk.journal.read(types=[EventType.ORDER_IN_STORE, EventType.ORDER_ONLINE])


def failures(sdk):
    return sdk.journal.read(types=[EventType.PICKUP_PLATFORM_FAILED])


def to_collect(fake: FakeShopify, *fos: dict, order: str = ORDER) -> None:
    """The order's fulfillment orders on the fake shop (default: one PICK_UP at location 1)."""
    fake.fulfillment_orders[order] = list(fos) or [fulfillment_order(1)]


def placed(sdk, fake: FakeShopify, *fos: dict):
    """A local-pickup order delivered by webhook: its SDK pickup (the fake's request log cleared)."""
    to_collect(fake, *fos)
    [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER), event_id="evt-placed"))
    assert result.pickup is not None
    fake.requests.clear()
    return result.pickup


class _WebApp:
    """The plugin's webhook route in a real Starlette app, called through httpx's ASGI transport."""

    def __init__(self, sdk) -> None:
        from o2o_shopify import plugin
        from starlette.applications import Starlette
        from starlette.routing import Route

        routes: list[Route] = []
        plugin.o2o_register_routes(sdk=sdk, register=lambda path, endpoint, methods, name=None: routes.append(
            Route(path, endpoint, methods=methods, name=name)))  # fmt: skip
        assert [r.path for r in routes] == ["/webhooks/shopify"]
        self.app = Starlette(routes=routes)

    def post(self, request) -> httpx.Response:
        import anyio.from_thread

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app), base_url="https://o2o.example"
            ) as client:
                return await client.post("/webhooks/shopify", content=request.body, headers=request.headers)

        # an event loop of its own, in a thread: another test's loop may still run in this one
        with anyio.from_thread.start_blocking_portal() as portal:
            return portal.call(send)


def web_app(sdk) -> _WebApp:
    return _WebApp(sdk)


def post(app: _WebApp, request) -> httpx.Response:
    return app.post(request)


# ------------------------------------------------------------------ which orders are asked about


def test_the_adapter_declares_pickups(adapter: ShopifyAdapter) -> None:
    assert Capability.PICKUPS in adapter.capabilities
    assert Capability.INVENTORY_HOLDS not in adapter.capabilities  # the SDK keeps its own holds


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (web_order_payload(), True),  # Shopify asks no address for a pickup; the shipping line names the location
        (web_order_payload(pickup=False), False),  # an address and a Standard rate: shipped
        (web_order_payload(pickup=False, shipping_lines=[{"code": "Pickup", "title": "Store pickup"}]), True),
        (web_order_payload(shipping_lines=[{"code": "x", "title": "Soho", "delivery_category": "Pick-up"}]), True),
        (web_order_payload(shipping_lines=[{"title": "Click & collect"}]), True),
        (
            web_order_payload(
                shipping_lines=[], line_items=[{"sku": "EBOOK", "quantity": 1, "requires_shipping": False}]
            ),
            False,
        ),
        (web_order_payload(shipping_lines=None, line_items=None), False),
        (web_order_payload(shipping_address={"address1": None, "city": None, "zip": None}), True),  # an empty address
    ],
)
def test_the_payload_says_whether_an_order_may_be_a_pickup(payload: dict, expected: bool) -> None:
    assert may_be_pickup(payload) is expected


# ------------------------------------------------------------------ an order to collect becomes one pickup


def test_a_local_pickup_order_becomes_one_pickup_at_the_mapped_store(sdk, fake: FakeShopify) -> None:
    to_collect(fake)
    payload = web_order_payload(ORDER_NUMBER, note="Blue Fiat, bay 3")
    [result] = handle(sdk, delivery(payload, event_id="evt-create"))
    order = result.order
    assert result.recorded and order.kind is OrderKind.ONLINE and order.store_id is None
    assert order.pickup is not None and (order.pickup.location_id, order.pickup.note) == (
        location_gid(1),
        "Blue Fiat, bay 3",
    )
    assert order.items == ITEMS and order.data["fulfillment_order_ids"] == [FO1]
    pickup = result.pickup
    assert pickup is not None and (pickup.store_id, pickup.state) == ("soho", PickupState.PLACED)
    assert (pickup.platform, pickup.order_id, pickup.customer_email) == ("shopify", ORDER, "ada@example.com")
    assert pickup.items == ITEMS and pickup.total == Money(3000, "GBP") and pickup.data["note"] == "Blue Fiat, bay 3"
    assert pickup.hold_ref is None  # a Shopify order has committed its stock already
    assert sent(fake, LOOKUP) == [{"id": ORDER, "first": 50, "lines": 250}]
    [placed_event] = sdk.journal.read(types=[EventType.PICKUP_PLACED])
    assert placed_event.store_id == "soho" and placed_event.data["order_id"] == ORDER

    # the same delivery again, then an orders/updated of the order: the same pickup, no new lookup
    again = handle(sdk, delivery(payload, event_id="evt-create"))[0]
    later = handle(sdk, delivery({**payload, "financial_status": "paid", "tags": "vip"}, event_id="evt-update",
                                 topic="orders/updated"))[0]  # fmt: skip
    assert (again.recorded, later.recorded) == (False, False)
    assert again.pickup.id == later.pickup.id == pickup.id
    assert later.order.pickup.store_id == "soho" and later.order.items == ITEMS
    assert ops(fake) == [LOOKUP]
    assert [p.id for p in sdk.pickups.list()] == [pickup.id] and len(orders(sdk)) == 1
    assert sdk.pickups.for_order("shopify", ORDER).id == pickup.id


def test_an_orders_updated_seen_first_creates_the_pickup(sdk, fake: FakeShopify) -> None:
    to_collect(fake, fulfillment_order(1, location_id=2))
    [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER), event_id="evt-u", topic="orders/updated"))
    assert result.recorded and result.pickup is not None and result.pickup.store_id == "camden"


def test_the_web_route_records_the_pickup_once(sdk, fake: FakeShopify) -> None:
    to_collect(fake)
    client = web_app(sdk)
    request = delivery(web_order_payload(ORDER_NUMBER), event_id="evt-web")
    answer = post(client, request)
    assert answer.status_code == 200 and answer.json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
    assert post(client, request).json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}
    updated = delivery(web_order_payload(ORDER_NUMBER), event_id="evt-web-2", topic="orders/updated")
    assert post(client, updated).json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}
    assert [p.store_id for p in sdk.pickups.list()] == ["soho"] and ops(fake) == [LOOKUP]


def test_only_open_pickup_fulfillment_orders_make_the_items(sdk, fake: FakeShopify) -> None:
    to_collect(
        fake,
        fulfillment_order(1, lines=(("SKU-A", 1),)),
        fulfillment_order(2, lines=(("SKU-A", 2), ("SKU-C", 1))),  # split by Shopify: the same SKU again
        fulfillment_order(3, method="SHIPPING", lines=(("SKU-SHIP", 1),)),  # shipped part of the order
        fulfillment_order(4, status="CLOSED", lines=(("SKU-DONE", 1),)),  # already collected
    )
    [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER)))
    assert result.pickup.items == (
        OrderLine("SKU-A", 3, "Product SKU-A - M"),
        OrderLine("SKU-C", 1, "Product SKU-C - M"),
    )
    assert result.order.data["fulfillment_order_ids"] == [FO1, FO2]


def test_pickups_at_two_locations_keep_the_first(sdk, fake: FakeShopify, caplog: pytest.LogCaptureFixture) -> None:
    to_collect(fake, fulfillment_order(1, location_id=2, lines=(("SKU-A", 1),)), fulfillment_order(2, location_id=1))
    with caplog.at_level(logging.WARNING, "o2o_shopify"):
        [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER)))
    assert result.pickup.store_id == "camden" and result.pickup.items == (OrderLine("SKU-A", 1, "Product SKU-A - M"),)
    assert "several locations" in caplog.text


def test_a_lookup_lists_one_page_of_lines_and_says_so(make, fake: FakeShopify, caplog) -> None:
    sdk, _ = make()
    many = tuple((f"SKU-{n:03}", 1) for n in range(251))
    to_collect(fake, fulfillment_order(1, lines=many))
    with caplog.at_level(logging.WARNING, "o2o_shopify"):
        [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER)))
    assert len(result.pickup.items) == 250 and "more lines than one page" in caplog.text


# ------------------------------------------------------------------ orders that are not pickups


def test_a_shipped_order_is_not_asked_about(sdk, fake: FakeShopify) -> None:
    to_collect(fake, fulfillment_order(1, method="SHIPPING"))
    [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER, pickup=False)))
    assert result.recorded and result.order.pickup is None and result.pickup is None
    assert fake.requests == [] and sdk.pickups.list() == []


def test_a_digital_order_is_not_a_pickup(sdk, fake: FakeShopify) -> None:
    digital = web_order_payload(ORDER_NUMBER, shipping_lines=[],
                                line_items=[{"id": 1, "sku": "GIFT-CARD", "quantity": 1, "requires_shipping": False}])  # fmt: skip
    [result] = handle(sdk, delivery(digital))
    assert result.recorded and result.pickup is None and fake.requests == []


def test_always_asks_for_every_online_order(make, fake: FakeShopify) -> None:
    sdk, _ = make(pickup_lookup="always")
    to_collect(fake, fulfillment_order(1, method="SHIPPING"))
    to_collect(fake, fulfillment_order(2, method="NONE", lines=(("GIFT-CARD", 1),)), order="gid://shopify/Order/77")
    to_collect(fake, fulfillment_order(3), order="gid://shopify/Order/78")
    shipped, digital, collected = (
        handle(sdk, delivery(web_order_payload(ORDER_NUMBER, pickup=False), event_id="e1"))[0],
        handle(sdk, delivery(web_order_payload("77", shipping_lines=[], line_items=[]), event_id="e2"))[0],
        # a pickup the payload does not give away (it has an address): found all the same
        handle(sdk, delivery(web_order_payload("78", shipping_address={"address1": "1 Billing Rd", "city": "Leeds"}), event_id="e3"))[0],
    )  # fmt: skip
    assert (shipped.pickup, digital.pickup) == (None, None) and collected.pickup.store_id == "soho"
    assert [v["id"] for v in sent(fake, LOOKUP)] == [ORDER, "gid://shopify/Order/77", "gid://shopify/Order/78"]
    # an in-store (POS) sale is never a pickup: not asked
    [pos] = handle(sdk, delivery(order_payload("79"), event_id="e4"))
    assert pos.order.kind is OrderKind.IN_STORE and pos.pickup is None and len(sent(fake, LOOKUP)) == 3


def test_off_never_asks(make, fake: FakeShopify) -> None:
    sdk, _ = make(pickup_lookup="off")
    to_collect(fake)
    [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER)))
    assert result.recorded and result.pickup is None and fake.requests == []


def test_a_pickup_at_a_location_that_is_not_ours(sdk, fake: FakeShopify, caplog: pytest.LogCaptureFixture) -> None:
    fake.locations.append(location(3))
    to_collect(fake, fulfillment_order(1, location_id=3))
    with caplog.at_level(logging.WARNING):
        [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER), event_id="evt-1"))
    assert result.recorded and result.pickup is None and result.order.pickup.location_id == location_gid(3)
    assert "not one of our stores" in caplog.text and "sync-stores" in caplog.text
    assert {r.name for r in caplog.records if "not one of our stores" in r.getMessage()} == {
        "o2o_shopify",
        "o2o_sdk.orders",
    }
    assert len(orders(sdk)) == 1 and sdk.pickups.list() == []
    # once the location is one of our stores, the next orders/updated creates the pickup
    sdk.stores.sync()
    [later] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER), event_id="evt-2", topic="orders/updated"))
    assert later.recorded is False and later.pickup is not None and later.pickup.store_id == "shopify-3"


# ------------------------------------------------------------------ the lookup fails


def _connection_refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("outage", "error"),
    [
        (httpx.Response(502, text="Bad gateway"), "platform_server_error"),
        (httpx.Response(503, json={"errors": "Unavailable"}), "platform_server_error"),
        (throttled(), "platform_rate_limited"),
        (httpx.Response(429, headers={"Retry-After": "1"}), "platform_rate_limited"),
        (_connection_refused, "platform_unreachable"),
    ],
    ids=["502", "503", "THROTTLED", "429", "connection"],
)
def test_a_lookup_shopify_cannot_answer_now_is_a_503_and_nothing_is_recorded(sdk, fake: FakeShopify, sleeps: Sleeps,
                                                                             outage, error: str) -> None:  # fmt: skip
    to_collect(fake)
    fake.down = outage
    client = web_app(sdk)
    request = delivery(web_order_payload(ORDER_NUMBER), event_id="evt-retry")
    answer = post(client, request)
    assert answer.status_code == 503 and answer.headers["Retry-After"] and answer.json()["error"] == error
    assert len(sent(fake, LOOKUP)) > 1 and sleeps  # a query: retried (with waits) before giving up
    assert sdk.orders.list() == [] and orders(sdk) == [] and sdk.pickups.list() == []
    # Shopify delivers the same webhook again later, and it is answered now
    fake.down = None
    assert post(client, request).json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
    assert [p.store_id for p in sdk.pickups.list()] == ["soho"]


ACCESS_DENIED = httpx.Response(200, json={
    "data": None,
    "errors": [{"message": "Access denied for fulfillmentOrders field. Required access: `read_merchant_managed_fulfillment_orders` "
                           "access scope.", "extensions": {"code": "ACCESS_DENIED"}}],
})  # fmt: skip


@pytest.mark.parametrize(
    "refusal",
    [
        httpx.Response(403, json={"errors": "Forbidden"}),
        httpx.Response(401, json={"errors": "Invalid token"}),
        ACCESS_DENIED,
    ],
    ids=["403", "401", "ACCESS_DENIED"],
)
def test_a_lookup_refused_records_the_order_without_a_pickup(sdk, fake: FakeShopify, caplog, refusal) -> None:
    to_collect(fake)
    fake.answers.append(refusal)
    client = web_app(sdk)
    with caplog.at_level(logging.ERROR, "o2o_shopify"):
        answer = post(client, delivery(web_order_payload(ORDER_NUMBER), event_id="evt-1"))
    assert answer.status_code == 200 and answer.json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
    assert sdk.pickups.list() == [] and len(orders(sdk)) == 1
    assert "could not be read" in caplog.text and "recorded without a pickup" in caplog.text
    assert len(sent(fake, LOOKUP)) == 1  # not retried: asking again would not help
    # the scope granted, a later orders/updated of the order asks again and creates the pickup
    answer = post(client, delivery(web_order_payload(ORDER_NUMBER), event_id="evt-2", topic="orders/updated"))
    assert answer.json() == {"recorded": 0, "duplicates": 1, "cancelled": 0} and [p.store_id for p in sdk.pickups.list()] == ["soho"]


def test_an_order_shopify_does_not_know(sdk, fake: FakeShopify, caplog) -> None:
    with caplog.at_level(logging.ERROR, "o2o_shopify"):
        [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER)))  # no such order on the fake: order: null
    assert result.recorded and result.pickup is None
    assert f"Shopify has no order {ORDER}" in caplog.text and "unknown_order" in caplog.text


def test_no_visible_fulfillment_order_hints_at_the_access_scope(sdk, fake: FakeShopify, caplog) -> None:
    fake.fulfillment_orders[ORDER] = []  # what Shopify answers a token without the fulfillment-order scopes
    with caplog.at_level(logging.WARNING, "o2o_shopify"):
        [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER)))
    assert result.recorded and result.pickup is None
    assert "read_merchant_managed_fulfillment_orders" in caplog.text


def test_always_does_not_warn_about_orders_that_did_not_look_like_pickups(make, fake: FakeShopify, caplog) -> None:
    sdk, _ = make(pickup_lookup="always")
    fake.fulfillment_orders[ORDER] = []
    with caplog.at_level(logging.WARNING, "o2o_shopify"):
        [result] = handle(sdk, delivery(web_order_payload(ORDER_NUMBER, pickup=False)))
    assert result.recorded and result.pickup is None and ops(fake) == [LOOKUP] and caplog.text == ""


# ------------------------------------------------------------------ pickup steps told to Shopify


def test_accepted_and_arrived_send_nothing(sdk, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    sdk.pickups.accept(pickup.id)
    sdk.pickups.arrived(pickup.id, method="staff")
    assert fake.requests == [] and failures(sdk) == []


def test_ready_marks_the_pickup_fulfillment_orders_prepared(sdk, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake, fulfillment_order(1), fulfillment_order(2, method="SHIPPING"))
    sdk.pickups.accept(pickup.id)
    sdk.pickups.ready(pickup.id)
    assert ops(fake) == [LOOKUP, PREPARE]
    assert sent(fake, PREPARE) == [{"input": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": FO1}]}}]
    assert fake.prepared == [FO1] and failures(sdk) == []


def test_ready_after_an_early_arrival_is_told_as_ready(sdk, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    sdk.pickups.arrived(pickup.id)
    assert sdk.pickups.ready(pickup.id).state is PickupState.ARRIVED
    assert ops(fake) == [LOOKUP, PREPARE] and fake.prepared == [FO1]


def test_a_repeated_ready_is_harmless(sdk, adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    ready = sdk.pickups.ready(pickup.id)
    adapter.pickup_changed(sdk, ready, PickupState.PLACED)  # the same step told again
    assert ops(fake) == [LOOKUP, PREPARE] * 2
    answers = [
        data["fulfillmentOrderLineItemsPreparedForPickup"]["userErrors"] for op, data in fake.answered if op == PREPARE
    ]
    assert answers[0] == [] and [e["code"] for e in answers[1]] == ["NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER"]
    assert fake.prepared == [FO1] and failures(sdk) == []


def test_only_what_is_left_is_prepared(sdk, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake, fulfillment_order(1), fulfillment_order(2, lines=(("SKU-C", 1),)))
    fake.prepared.append(FO1)  # prepared before (in Shopify's admin); FO2 was added to the pickup since
    fake.fulfillment_orders[ORDER][0]["status"] = "IN_PROGRESS"
    sdk.pickups.ready(pickup.id)
    assert ops(fake) == [LOOKUP, PREPARE, PREPARE, PREPARE]  # both (refused), then one by one
    assert [v["input"]["lineItemsByFulfillmentOrder"] for v in sent(fake, PREPARE)] == [
        [{"fulfillmentOrderId": FO1}, {"fulfillmentOrderId": FO2}],
        [{"fulfillmentOrderId": FO1}],
        [{"fulfillmentOrderId": FO2}],
    ]
    assert fake.prepared == [FO1, FO2] and failures(sdk) == []


def test_ready_only_touches_the_pickup_stores_location(sdk, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake, fulfillment_order(1, location_id=1), fulfillment_order(2, location_id=2))
    assert pickup.store_id == "soho"
    sdk.pickups.ready(pickup.id)
    sdk.pickups.handover(pickup.id, store_id="soho")
    assert fake.prepared == [FO1] and [f["input"]["lineItemsByFulfillmentOrder"] for f in fake.fulfillments] == [
        [{"fulfillmentOrderId": FO1}]]  # fmt: skip
    assert fake.fulfillment_orders[ORDER][1]["status"] == "OPEN"  # Camden's part is Camden's


def test_other_prepare_errors_are_journaled(sdk, adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    fake.pickup_user_errors.append(
        {"field": ["input"], "code": "UNABLE_TO_PREPARE_QUANTITY", "message": "Unable to prepare quantity."}
    )
    ready = sdk.pickups.ready(pickup.id)
    assert ready.state is PickupState.READY  # the step stands in the SDK
    [failed] = failures(sdk)
    assert (failed.data["call"], failed.data["error"], failed.data["platform"]) == (
        "pickup_changed",
        "platform_rejected",
        "shopify",
    )
    assert "Unable to prepare quantity" in failed.data["message"] and fake.prepared == []
    fake.pickup_user_errors.append(
        {"field": ["input"], "code": "UNABLE_TO_PREPARE_QUANTITY", "message": "Unable to prepare quantity."}
    )
    with pytest.raises(PlatformUnprocessable) as caught:
        adapter.pickup_changed(sdk, ready, PickupState.PLACED)
    assert caught.value.platform_code == "UNABLE_TO_PREPARE_QUANTITY"


def test_handover_fulfils_without_notifying_the_customer(sdk, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    sdk.pickups.ready(pickup.id)
    fake.requests.clear()
    done = sdk.pickups.handover(pickup.id, store_id="soho")
    assert done.state is PickupState.HANDED_OVER
    assert ops(fake) == [LOOKUP, FULFIL]
    assert sent(fake, FULFIL) == [{"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": FO1}],
                                                   "notifyCustomer": False}, "message": "Picked up in store"}]  # fmt: skip
    assert fake.fulfillment_orders[ORDER][0]["status"] == "CLOSED" and len(fake.fulfillments) == 1
    assert failures(sdk) == []


def test_a_fulfillment_order_already_closed_sends_nothing(sdk, adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    fake.fulfillment_orders[ORDER][0]["status"] = "CLOSED"  # marked picked up in Shopify's admin
    ready = sdk.pickups.ready(pickup.id)
    sdk.pickups.handover(pickup.id, store_id="soho")
    adapter.pickup_changed(sdk, attrs.evolve(ready, state=PickupState.HANDED_OVER), PickupState.READY)  # told again
    assert ops(fake) == [LOOKUP] * 3 and fake.fulfillments == [] and failures(sdk) == []


def _closed_meanwhile(fake: FakeShopify):
    """An answer to fulfillmentCreate: someone fulfilled the order just before, so Shopify refuses."""

    def answer(request: httpx.Request) -> httpx.Response:
        fake.fulfillment_orders[ORDER][0]["status"] = "CLOSED"
        return fake.ok(fake.op_O2OFulfillPickup(json.loads(request.content)["variables"]))

    return answer


def test_a_refused_fulfillment_of_an_order_closed_meanwhile_counts_as_done(
    sdk, adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    pickup = placed(sdk, fake)
    ready = sdk.pickups.ready(pickup.id)
    fake.requests.clear()
    lookup = _normal_lookup(fake)
    fake.answers += [lookup, _closed_meanwhile(fake)]
    adapter.pickup_changed(sdk, attrs.evolve(ready, state=PickupState.HANDED_OVER), PickupState.READY)
    assert ops(fake) == [LOOKUP, FULFIL, LOOKUP]  # refused, then checked: closed
    assert fake.fulfillments == []


def _normal_lookup(fake: FakeShopify):
    def answer(request: httpx.Request) -> httpx.Response:
        return fake.ok(fake.op_O2OOrderFulfillmentOrders(json.loads(request.content)["variables"]))

    return answer


def test_a_refused_fulfillment_of_an_open_order_raises(sdk, adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    ready = sdk.pickups.ready(pickup.id)
    fake.pickup_user_errors.append(
        {"field": ["fulfillment"], "message": "Invalid fulfillment order line item quantity requested."}
    )
    with pytest.raises(PlatformUnprocessable) as caught:
        adapter.pickup_changed(sdk, attrs.evolve(ready, state=PickupState.HANDED_OVER), PickupState.READY)
    assert "Invalid fulfillment order line item quantity" in caught.value.message
    assert fake.fulfillment_orders[ORDER][0]["status"] == "IN_PROGRESS" and fake.fulfillments == []
    # through the SDK: the handover stands and the failure is journaled for a retry
    fake.pickup_user_errors.append(
        {"field": ["fulfillment"], "message": "Invalid fulfillment order line item quantity requested."}
    )
    assert sdk.pickups.handover(pickup.id, store_id="soho").state is PickupState.HANDED_OVER
    [failed] = failures(sdk)
    assert (failed.data["call"], failed.data["state"], failed.data["error"]) == (
        "pickup_changed",
        "handed_over",
        "platform_rejected",
    )


@pytest.mark.parametrize("step", ["ready", "handover", "cancel"])
def test_a_mutation_is_never_sent_twice(sdk, fake: FakeShopify, sleeps: Sleeps, step: str) -> None:
    pickup = placed(sdk, fake)
    if step == "handover":
        sdk.pickups.ready(pickup.id)
        fake.requests.clear()
    if step == "cancel":
        fake.answers.append(httpx.Response(502))  # the tag's answer is a 502
        sdk.pickups.cancel(pickup.id)
        expected = [TAG]
    else:
        fake.answers += [_normal_lookup(fake), httpx.Response(502)]  # the lookup works, the mutation's answer is a 502
        if step == "ready":
            sdk.pickups.ready(pickup.id)
        else:
            sdk.pickups.handover(pickup.id, store_id="soho")
        expected = [LOOKUP, PREPARE if step == "ready" else FULFIL]
    assert ops(fake) == expected and sleeps == []  # a 5xx may have been applied: not sent again
    assert failures(sdk)[0].data["error"] == "platform_server_error"


@pytest.mark.parametrize("end", ["cancelled", "released"])
def test_released_and_cancelled_pickups_tag_the_order(sdk, fake: FakeShopify, end: str) -> None:
    pickup = placed(sdk, fake)
    if end == "cancelled":
        sdk.pickups.cancel(pickup.id, reason="customer phoned")
    else:
        sdk.pickups.ready(pickup.id, deadline=sdk.clock.now() + timedelta(hours=1))
        fake.requests.clear()
        sdk.clock.advance(timedelta(hours=2))
        [released] = sdk.pickups.release_due()
        assert released.state is PickupState.RELEASED
    assert ops(fake) == [TAG] and sent(fake, TAG) == [{"id": ORDER, "tags": [f"o2o-pickup-{end}"]}]
    assert fake.tags == {ORDER: [f"o2o-pickup-{end}"]}
    assert (
        fake.fulfillments == [] and failures(sdk) == []
    )  # not cancelled nor refunded on Shopify: the merchant decides


def test_a_tag_refused_raises(sdk, adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    cancelled = sdk.pickups.cancel(pickup.id)
    fake.pickup_user_errors.append({"field": ["tags"], "message": "Tags is invalid"})
    with pytest.raises(PlatformUnprocessable):
        adapter.pickup_changed(sdk, cancelled, PickupState.PLACED)


def test_an_order_that_lost_its_pickup_fulfillment_is_reported(sdk, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    fake.fulfillment_orders[ORDER] = [fulfillment_order(1, method="SHIPPING")]  # changed to shipping in Shopify
    sdk.pickups.ready(pickup.id)
    assert ops(fake) == [LOOKUP]
    assert failures(sdk)[0].data["error"] == "no_pickup_fulfillment_order"


def test_a_pickup_without_a_platform_order_is_not_told(sdk, adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    own = sdk.pickups.create("soho", [{"sku": "SKU-A", "quantity": 1}], customer_email="ada@example.com")
    sdk.pickups.ready(own.id)
    adapter.pickup_changed(sdk, attrs.evolve(own, state=PickupState.READY), PickupState.PLACED)  # no order id
    assert fake.requests == []


# ------------------------------------------------------------------ settings


def test_pickup_lookup_from_the_environment() -> None:
    from o2o_sdk import Config

    base = {"O2O_SHOPIFY_SHOP": "my-shop", "O2O_SHOPIFY_ACCESS_TOKEN": "t"}

    def lookup(**env: str) -> str:
        got = ShopifySettings.from_mapping(Config.from_env({**base, **env}).plugin_settings("shopify"))
        assert got is not None
        return got.pickup_lookup

    assert lookup() == "auto"
    assert lookup(O2O_SHOPIFY_PICKUP_LOOKUP="") == "auto"
    assert lookup(O2O_SHOPIFY_PICKUP_LOOKUP=" Always ") == "always"
    assert lookup(O2O_SHOPIFY_PICKUP_LOOKUP="off") == "off"
    with pytest.raises(ConfigurationError) as caught:
        lookup(O2O_SHOPIFY_PICKUP_LOOKUP="sometimes")
    assert caught.value.message == "O2O_SHOPIFY_PICKUP_LOOKUP must be one of auto, always, off, not 'sometimes'."
    assert settings(pickup_lookup="OFF").pickup_lookup == "off"
    with pytest.raises(ConfigurationError, match="auto, always, off"):
        settings(pickup_lookup="never")


def test_the_entry_point_passes_the_setting_on(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from o2o_sdk import O2O, Config

    env = {"O2O_DATABASE_URL": f"sqlite:///{tmp_path / 'ep.db'}", "O2O_SECRET_KEYS": "a:entry-point-secret-0123456789",
           "O2O_SHOPIFY_SHOP": "my-shop", "O2O_SHOPIFY_ACCESS_TOKEN": "t", "O2O_SHOPIFY_PICKUP_LOOKUP": "always"}  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with O2O(Config.from_env()) as sdk:
        assert sdk.adapters.get("shopify").settings.pickup_lookup == "always"
    monkeypatch.setenv("O2O_SHOPIFY_PICKUP_LOOKUP", "sometimes")
    with pytest.raises(ConfigurationError, match="O2O_SHOPIFY_PICKUP_LOOKUP must be one of auto, always, off"):
        O2O(Config.from_env())


# ------------------------------------------------------------------ cancelled on Shopify


def _cancelled(payload: dict) -> dict:
    return {**payload, "cancelled_at": "2026-06-15T13:05:00+01:00", "cancel_reason": "customer", "financial_status": "refunded"}


@pytest.mark.parametrize("topic", ["orders/cancelled", "orders/updated"])
def test_an_order_cancelled_on_shopify_cancels_its_open_pickup(sdk, fake: FakeShopify, topic: str) -> None:
    pickup = placed(sdk, fake)
    sdk.pickups.ready(pickup.id)
    fake.requests.clear()
    alerts: list[str] = []

    class Alerts:
        @hookimpl
        def o2o_pickup_alert(self, pickup: Pickup, what: str) -> None:
            alerts.append(what)

    sdk.plugins.register(Alerts())
    cancelled = delivery(_cancelled(web_order_payload(ORDER_NUMBER)), event_id="evt-cancel", topic=topic)
    [result] = handle(sdk, cancelled)
    assert not result.recorded and result.order.cancelled
    assert result.pickup is not None and result.pickup.state is PickupState.CANCELLED
    assert sdk.pickups.get(pickup.id).reason == "cancelled_on_shopify" and alerts == ["cancelled"]
    assert ops(fake) == []  # neither a lookup nor an o2o-pickup-cancelled tag: Shopify told us
    [event] = sdk.journal.read(types=[EventType.PICKUP_CANCELLED])
    assert event.data["reason"] == "cancelled_on_shopify" and event.data["from"] == "ready"
    # redelivered: nothing more
    assert handle(sdk, cancelled)[0].pickup.state is PickupState.CANCELLED
    assert len(sdk.journal.read(types=[EventType.PICKUP_CANCELLED])) == 1 and ops(fake) == [] and alerts == ["cancelled"]


def test_an_order_first_seen_cancelled_gets_no_pickup(sdk, fake: FakeShopify) -> None:
    to_collect(fake)
    [result] = handle(sdk, delivery(_cancelled(web_order_payload(ORDER_NUMBER)), event_id="evt-c", topic="orders/cancelled"))
    assert (result.recorded, result.pickup) == (False, None)
    assert sdk.pickups.list() == [] and orders(sdk) == [] and ops(fake) == []


def test_a_pickup_handed_over_stands_when_shopify_cancels_later(sdk, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    sdk.pickups.ready(pickup.id)
    sdk.pickups.handover(pickup.id, store_id="soho")
    fake.requests.clear()
    [result] = handle(sdk, delivery(_cancelled(web_order_payload(ORDER_NUMBER)), event_id="evt-c2", topic="orders/cancelled"))
    assert result.pickup is not None and result.pickup.state is PickupState.HANDED_OVER
    assert sdk.journal.read(types=[EventType.PICKUP_CANCELLED]) == [] and ops(fake) == []


def test_an_order_not_cancelled_keeps_its_pickup(sdk, fake: FakeShopify) -> None:
    pickup = placed(sdk, fake)
    payload = {**web_order_payload(ORDER_NUMBER), "cancelled_at": None}
    [result] = handle(sdk, delivery(payload, event_id="evt-u2", topic="orders/updated"))
    assert not result.order.cancelled and result.pickup is not None and result.pickup.state is PickupState.PLACED
    assert sdk.pickups.get(pickup.id).state is PickupState.PLACED
