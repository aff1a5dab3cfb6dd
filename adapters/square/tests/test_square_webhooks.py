"""Square webhooks: HMAC over notification URL + raw body (two keys during rotation), dedupe on the
event id, POS payments as in-store purchases, online and pickup orders, malformed payloads, the route."""

from __future__ import annotations

import json

import attrs
import httpx
import pytest
from o2o_square import SquareAdapter, parse_notification, sign, verify_signature
from square_fake import (
    MERCHANT,
    NOTIFICATION_URL,
    OLD_SIGNATURE_KEY,
    SIGNATURE_KEY,
    FakeSquare,
    delivery,
    discount,
    fake,
    order,
    order_created_event,
    payment_event,
    pickup_fulfillment,
    settings,
    shipment_fulfillment,
    sleeps,
    spec,
    square,
    ticks,
)

from o2o_sdk import (
    Discount,
    EventType,
    InvalidInput,
    Money,
    OfferMirror,
    OrderKind,
    OrderLine,
    PickupState,
    Store,
    WebhookRejected,
)
from o2o_sdk.http import Secret

__all__ = ["fake", "sleeps", "spec", "square", "ticks"]  # fixtures used by name

GRANT_PARK, MIDTOWN = "18YC4JDH91E1H", "3Z4V4WHQK64X9"


@pytest.fixture
def sdk(o2o_make_sdk, square: SquareAdapter):
    sdk = o2o_make_sdk(plugins=[square])
    sdk.stores.add([Store("sf", "San Francisco", "America/Los_Angeles", 37.76, -122.43, external_ids={"square": GRANT_PARK}),
                    Store("atl", "Atlanta", "America/New_York", 33.79, -84.38, external_ids={"square": MIDTOWN})])  # fmt: skip
    return sdk


def handle(sdk, request):
    return sdk.adapters.handle_webhook("square", request.headers, request.body, request.url)


def orders(sdk):
    return sdk.journal.read(types=[EventType.ORDER_IN_STORE, EventType.ORDER_ONLINE])


def pos_sale(fake: FakeSquare, order_id: str = "POS-1", **kwargs) -> dict:
    """A POS sale at Midtown: the example order's two lines, the first a catalog variation."""
    kwargs.setdefault("location_id", MIDTOWN)
    placed = order(fake.spec, order_id, customer_id="CUST-77", **kwargs)
    placed["line_items"][0]["catalog_object_id"] = fake.variations[0]["id"]
    fake.orders[order_id] = placed
    return placed


# ------------------------------------------------------------------ signatures


def test_signature_covers_the_notification_url_and_the_raw_body() -> None:
    body = b'{"type": "payment.created"}'
    header = sign(body, NOTIFICATION_URL, SIGNATURE_KEY)
    keys = (Secret(SIGNATURE_KEY),)
    assert verify_signature(body, header, NOTIFICATION_URL, keys)
    assert not verify_signature(body + b" ", header, NOTIFICATION_URL, keys)  # tampered body
    assert not verify_signature(body, header, NOTIFICATION_URL + "/", keys)  # another URL
    assert not verify_signature(body, header, NOTIFICATION_URL, (Secret("another-key"),))  # wrong key
    assert not verify_signature(body, "not base64!", NOTIFICATION_URL, keys)
    assert not verify_signature(body, None, NOTIFICATION_URL, keys)
    assert not verify_signature(body, header, NOTIFICATION_URL, ())
    assert not verify_signature(body, header, "", keys)
    assert verify_signature(body, header, NOTIFICATION_URL, (Secret("another-key"), Secret(SIGNATURE_KEY)))  # any configured key


@pytest.mark.parametrize("change", ["wrong key", "wrong url", "tampered body", "no header"])
def test_bad_signatures_are_rejected_before_anything_is_read(sdk, fake: FakeSquare, change: str) -> None:
    pos_sale(fake)
    good = delivery(payment_event(fake.spec, "POS-1"))
    request = {
        "wrong key": delivery(payment_event(fake.spec, "POS-1"), key="not-the-key"),
        "wrong url": delivery(payment_event(fake.spec, "POS-1"), url="https://attacker.example/webhooks/square"),
        "tampered body": attrs.evolve(good, body=good.body.replace(b'"COMPLETED"', b'"COMPLETED" ')),
        "no header": type(good)(good.body, {k: v for k, v in good.headers.items() if "signature" not in k}, good.url),
    }[change]
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, request)
    assert caught.value.code == "bad_signature"
    assert orders(sdk) == [] and fake.requests == []  # not even the order was fetched


def test_both_keys_are_accepted_during_rotation(sdk, fake: FakeSquare) -> None:
    for n, key in enumerate((SIGNATURE_KEY, OLD_SIGNATURE_KEY)):
        pos_sale(fake, f"POS-{n}")
        assert [r.recorded for r in handle(sdk, delivery(payment_event(fake.spec, f"POS-{n}", event_id=f"evt-{n}"), key=key))] == [True]


def test_the_configured_notification_url_is_what_is_signed(o2o_make_sdk, fake: FakeSquare) -> None:
    import respx

    pos_sale(fake)
    behind_proxy = delivery(payment_event(fake.spec, "POS-1"), received_at="http://10.0.0.5:8000/webhooks/square")
    with respx.mock() as router:
        router.route(host="connect.squareup.com").mock(side_effect=fake)
        configured = o2o_make_sdk(plugins=[SquareAdapter(settings())])
        assert [r.recorded for r in handle(configured, behind_proxy)] == [True]
        unconfigured = o2o_make_sdk(plugins=[SquareAdapter(settings(notification_url=None))])
        with pytest.raises(WebhookRejected):  # the URL it was received at is not the one Square signed
            handle(unconfigured, behind_proxy)
        direct = delivery(payment_event(fake.spec, "POS-1", event_id="evt-direct"))  # received at the notification URL
        assert [r.recorded for r in handle(unconfigured, direct)] == [False]  # verified; the order was recorded above


def test_webhooks_need_a_signature_key(o2o_make_sdk) -> None:
    sdk = o2o_make_sdk(plugins=[SquareAdapter(settings(webhook_signature_keys=()))])
    with pytest.raises(InvalidInput) as caught:
        handle(sdk, delivery({"type": "payment.created", "event_id": "e"}))
    assert caught.value.code == "webhook_secret_missing"


# ------------------------------------------------------------------ in-store purchases


def test_a_pos_payment_is_an_in_store_purchase_attributed_to_the_voucher(sdk, fake: FakeSquare) -> None:
    offer = sdk.offers.create("15% in store", Discount.percent_off(15))
    voucher = sdk.offers.issue(offer, "cust-1")
    pos_sale(fake, discounts=[discount("Staff", catalog_object_id="STAFFDISC"), discount(voucher.token, uid="d2")],
             total=4250, currency="EUR")  # fmt: skip
    [result] = handle(sdk, delivery(payment_event(fake.spec, "POS-1", event_id="evt-pos", location_id=MIDTOWN)))
    o = result.order
    assert (o.kind, o.store_id, o.location_id) == (OrderKind.IN_STORE, "atl", MIDTOWN)
    assert (o.offer_id, o.voucher_id, o.customer_id, o.delivery_id) == (offer.id, voucher.id, "CUST-77", "evt-pos")
    assert o.total == Money(4250, "EUR") and o.occurred_at.isoformat() == "2026-06-15T13:05:00+00:00"
    assert o.discount_codes == ("Staff", "STAFFDISC", voucher.token)
    assert o.items == (OrderLine("TEA-BLACK-R", 1, "Item 1", Money(500, "EUR")), OrderLine("Item 2", 2, "Item 2", Money(300, "EUR")))
    assert o.pickup is None and o.data["event_type"] == "payment.created" and o.data["merchant_id"] == MERCHANT
    assert fake.operations() == ["RetrieveOrder", "BatchRetrieveCatalogObjects"]
    [event] = orders(sdk)
    assert (event.type, event.store_id, event.customer_id) == (EventType.ORDER_IN_STORE, "atl", "cust-1")


def test_a_mirrored_discount_maps_to_its_offer(sdk, fake: FakeSquare) -> None:
    offer = sdk.offers.create("Mirrored", Discount.percent_off(10))
    sdk.storage.insert_mirror(OfferMirror(offer.id, "square", "DISC123", "SPRING10", sdk.clock.now()))
    pos_sale(fake, discounts=[discount("spring10", catalog_object_id="DISC123")])
    [result] = handle(sdk, delivery(payment_event(fake.spec, "POS-1")))
    assert result.order.offer_id == offer.id and result.order.voucher_id is None


def test_line_item_skus_are_looked_up_once(sdk, fake: FakeSquare) -> None:
    for n in range(2):
        pos_sale(fake, f"POS-{n}")
        handle(sdk, delivery(payment_event(fake.spec, f"POS-{n}", event_id=f"evt-{n}")))
    assert fake.operations() == ["RetrieveOrder", "BatchRetrieveCatalogObjects", "RetrieveOrder"]


def test_a_payment_is_recorded_once_it_is_completed(sdk, fake: FakeSquare) -> None:
    pos_sale(fake)
    assert handle(sdk, delivery(payment_event(fake.spec, "POS-1", event_id="evt-a", status="APPROVED"))) == []
    assert fake.requests == []  # nothing fetched for a payment that is not completed
    [result] = handle(sdk, delivery(payment_event(fake.spec, "POS-1", event_id="evt-b", kind="payment.updated")))
    assert result.recorded and result.order.data["event_type"] == "payment.updated"
    # Square also sends payment.updated for later changes (a refund): the same order, not again
    [again] = handle(sdk, delivery(payment_event(fake.spec, "POS-1", event_id="evt-c", kind="payment.updated")))
    assert not again.recorded and len(orders(sdk)) == 1


def test_a_duplicate_delivery_is_recorded_once(sdk, fake: FakeSquare) -> None:
    pos_sale(fake)
    request = delivery(payment_event(fake.spec, "POS-1", event_id="evt-dup"))
    assert [r.recorded for r in handle(sdk, request)] == [True]
    assert [r.recorded for r in handle(sdk, request)] == [False]
    assert [r.recorded for r in handle(sdk, delivery(order_created_event(fake.spec, "POS-1", event_id="evt-other")))] == [False]
    assert len(orders(sdk)) == 1 and sdk.orders.get("square", "POS-1").delivery_id == "evt-dup"


def test_an_unknown_location_keeps_squares_id(sdk, fake: FakeSquare) -> None:
    pos_sale(fake, location_id="ELSEWHERE")
    [result] = handle(sdk, delivery(payment_event(fake.spec, "POS-1")))
    assert result.order.store_id is None and result.order.location_id == "ELSEWHERE"


# ------------------------------------------------------------------ online orders and pickups


def test_an_order_to_ship_is_online(sdk, fake: FakeSquare) -> None:
    order_ = order(fake.spec, "WEB-1", location_id=MIDTOWN, fulfillments=[shipment_fulfillment("buyer@example.com")], state="OPEN")
    fake.orders["WEB-1"] = order_
    [result] = handle(sdk, delivery(order_created_event(fake.spec, "WEB-1", location_id=MIDTOWN)))
    assert result.order.kind is OrderKind.ONLINE and result.order.store_id is None and result.order.location_id is None
    assert result.order.customer_email == "buyer@example.com" and result.order.data["location_id"] == MIDTOWN
    [event] = orders(sdk)
    assert event.type == EventType.ORDER_ONLINE and event.data["customer_email"] == "buyer@example.com"


def test_configured_sources_are_online(o2o_make_sdk, fake: FakeSquare) -> None:
    import respx

    fake.orders["APP-1"] = order(fake.spec, "APP-1", location_id=MIDTOWN, source={"name": "My Shop App"})
    with respx.mock() as router:
        router.route(host="connect.squareup.com").mock(side_effect=fake)
        sdk = o2o_make_sdk(plugins=[SquareAdapter(settings(online_sources="My Shop App"))])
        [result] = handle(sdk, delivery(payment_event(fake.spec, "APP-1")))
    assert result.order.kind is OrderKind.ONLINE and result.order.data["source"] == "My Shop App"


@pytest.mark.parametrize("state", ["DRAFT", "CANCELED"])
def test_draft_and_cancelled_orders_are_not_purchases(sdk, fake: FakeSquare, state: str) -> None:
    fake.orders["D-1"] = order(fake.spec, "D-1", location_id=MIDTOWN, state=state)
    results = handle(sdk, delivery(order_created_event(fake.spec, "D-1", state="OPEN")))
    # a cancelled order comes as cancelled (so a pickup of it would be cancelled), and is not recorded
    assert [(r.order.cancelled, r.recorded) for r in results] == ([] if state == "DRAFT" else [(True, False)])
    assert orders(sdk) == [] and sdk.orders.list() == []


def test_a_draft_order_event_is_not_even_fetched(sdk, fake: FakeSquare) -> None:
    assert handle(sdk, delivery(order_created_event(fake.spec, "D-2", state="DRAFT"))) == []
    assert fake.requests == []


def test_a_pickup_order_becomes_a_pickup_at_the_store(sdk, fake: FakeSquare) -> None:
    fulfilment = pickup_fulfillment(note="Ring twice", expires_at="2026-06-18T17:00:00Z", pickup_at="2026-06-16T10:00:00Z")
    placed = order(fake.spec, "PICK-1", location_id=MIDTOWN, fulfillments=[fulfilment], state="OPEN", version=4)
    placed["line_items"][1]["catalog_object_id"] = fake.variations[1]["id"]
    fake.orders["PICK-1"] = placed
    [result] = handle(sdk, delivery(order_created_event(fake.spec, "PICK-1", event_id="evt-pick")))
    o = result.order
    assert o.kind is OrderKind.ONLINE and o.location_id is None and o.customer_email == "ada@example.com"
    assert o.pickup is not None and o.pickup.location_id == MIDTOWN and not o.pickup.curbside
    assert (o.pickup.pickup_at.isoformat(), o.pickup.deadline.isoformat(), o.pickup.note) == (
        "2026-06-16T10:00:00+00:00", "2026-06-18T17:00:00+00:00", "Ring twice")
    pickup = result.pickup
    assert pickup is not None and (pickup.store_id, pickup.state, pickup.platform, pickup.order_id) == ("atl", PickupState.PLACED, "square", "PICK-1")
    assert pickup.items == (OrderLine("Item 1", 1, "Item 1", Money(500, "USD")), OrderLine("TEA-BLACK-L", 2, "Item 2", Money(300, "USD")))
    assert pickup.deadline.isoformat() == "2026-06-18T17:00:00+00:00" and pickup.customer_email == "ada@example.com"
    assert pickup.data["pickup_at"] == "2026-06-16T10:00:00+00:00" and pickup.hold_ref is None
    # the same order again (a payment for it): one order, one pickup
    [again] = handle(sdk, delivery(payment_event(fake.spec, "PICK-1", event_id="evt-pay")))
    assert not again.recorded and again.pickup is not None and again.pickup.id == pickup.id
    assert len(sdk.pickups.list()) == 1


def test_curbside_pickup_carries_the_car(sdk, fake: FakeSquare) -> None:
    fulfilment = pickup_fulfillment(note=None, curbside=True, car="Red Mini, bay 3", expires_at=None, pickup_at=None)
    fake.orders["CURB-1"] = order(fake.spec, "CURB-1", location_id=GRANT_PARK, fulfillments=[fulfilment])
    [result] = handle(sdk, delivery(payment_event(fake.spec, "CURB-1")))
    details = result.order.pickup
    assert details is not None and details.curbside and details.note == "Red Mini, bay 3" and details.deadline is None
    assert result.pickup is not None and result.pickup.curbside and result.pickup.store_id == "sf"


# ------------------------------------------------------------------ malformed, unknown, ignored


@pytest.mark.parametrize("raw", [
    b"not json", b"[1, 2]", b'{"event_id": "e"}', b'{"type": "payment.created"}',
    b'{"type": "payment.created", "event_id": "e"}', b'{"type": "payment.created", "event_id": "e", "data": {"object": {}}}',
    b'{"type": "payment.created", "event_id": "e", "data": {"object": {"payment": {"status": "COMPLETED"}}}}',
    b'{"type": "order.created", "event_id": "e", "data": {"object": {"order_created": {"state": "OPEN"}}}}',
])  # fmt: skip
def test_unreadable_notifications_are_rejected(sdk, fake: FakeSquare, raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(None, raw=raw))
    assert caught.value.code == "malformed_payload" and caught.value.message.startswith("Square webhook:")
    assert fake.requests == [] and orders(sdk) == []


@pytest.mark.parametrize("change", [
    {"total_money": None}, {"created_at": "yesterday"}, {"created_at": "2026-06-15T13:05:00"}, {"location_id": ""},
    {"total_money": {"amount": "5.50", "currency": "USD"}}, {"discounts": "SPRING"},
    {"line_items": [{"name": "Tea", "quantity": "lots"}]},
])  # fmt: skip
def test_orders_missing_what_is_needed_are_rejected(sdk, fake: FakeSquare, change: dict) -> None:
    placed = pos_sale(fake)
    placed.update(change)
    fake.answers.append(httpx.Response(200, json={"order": placed}))  # served as is: not a valid Order
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(payment_event(fake.spec, "POS-1")))
    assert caught.value.code == "malformed_payload"
    assert orders(sdk) == []


def test_an_order_square_does_not_know_is_rejected(sdk, fake: FakeSquare) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(payment_event(fake.spec, "NO-SUCH-ORDER")))
    assert caught.value.code == "unknown_order" and "NO-SUCH-ORDER" in caught.value.message


def test_other_events_are_verified_and_ignored(sdk, fake: FakeSquare) -> None:
    event = {**fake.spec.example("OrderUpdatedEvent"), "event_id": "evt-upd"}
    assert handle(sdk, delivery(event)) == [] and fake.requests == []
    with pytest.raises(WebhookRejected):
        handle(sdk, delivery(event, signed=False))
    assert parse_notification(json.dumps(event).encode()).order_id is None


def test_another_merchants_event_is_refused(o2o_make_sdk, fake: FakeSquare) -> None:
    sdk = o2o_make_sdk(plugins=[SquareAdapter(settings(merchant_id="SOMEONEELSE"))])
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(payment_event(fake.spec, "POS-1")))
    assert caught.value.code == "wrong_merchant"


# ------------------------------------------------------------------ the web route


def test_the_route_serves_notifications(sdk, fake: FakeSquare) -> None:
    from o2o_square import plugin
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    routes = []
    plugin.o2o_register_routes(sdk=sdk, register=lambda path, endpoint, methods, name=None: routes.append(Route(path, endpoint, methods=methods, name=name)))
    assert [(r.path, r.methods) for r in routes] == [("/webhooks/square", {"POST"})]
    client = TestClient(Starlette(routes=routes))
    pos_sale(fake)
    good = delivery(payment_event(fake.spec, "POS-1", event_id="evt-web"))
    answer = client.post("/webhooks/square", content=good.body, headers=good.headers)
    assert answer.status_code == 200 and answer.json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
    assert client.post("/webhooks/square", content=good.body, headers=good.headers).json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}
    bad = delivery(payment_event(fake.spec, "POS-1"), signed=False)
    assert client.post("/webhooks/square", content=bad.body, headers=bad.headers).status_code == 401
    broken = delivery(None, raw=b"{}")
    assert client.post("/webhooks/square", content=broken.body, headers=broken.headers).status_code == 400


def test_no_route_without_an_adapter(o2o_sdk) -> None:
    from o2o_square import plugin

    routes: list[str] = []
    plugin.o2o_register_routes(sdk=o2o_sdk, register=lambda path, *a, **k: routes.append(path))
    assert routes == []
