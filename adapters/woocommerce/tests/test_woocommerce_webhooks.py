"""WooCommerce webhooks: the creation ping, HMAC over the raw body (rotation, entity decoding),
dedupe on the delivery id, order statuses, in-store vs online, store mapping, local-pickup
orders becoming pickups, malformed payloads, the web route."""

from __future__ import annotations

import json
import logging

import pytest
from o2o_woocommerce import WooCommerceAdapter, is_ping, sign, signing_key, verify_signature
from woo_fake import (
    OLD_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    delivery,
    flat_rate_line,
    line_item,
    local_pickup_line,
    meta,
    order_payload,
    pickup_location_line,
    ping,
    settings,
)

from o2o_sdk import (
    Discount,
    EventType,
    Money,
    OrderKind,
    OrderLine,
    PickupState,
    Store,
    WebhookRejected,
    WebhookRequest,
)
from o2o_sdk.http import Secret


def make(o2o_make_sdk, **overrides):
    sdk = o2o_make_sdk(plugins=[WooCommerceAdapter(settings(**overrides))])
    sdk.stores.add([
        Store("soho", "Soho", "Europe/London", 51.514, -0.132, external_ids={"woocommerce": "outlet-soho"}),
        Store("camden", "Camden", "Europe/London", 51.539, -0.142, external_ids={"woocommerce": "Camden Lock"}),
    ])  # fmt: skip
    return sdk


@pytest.fixture
def sdk(o2o_make_sdk):
    return make(o2o_make_sdk, locations={"Soho shop": "soho", "local_pickup:3": "camden"})


def handle(sdk, request):
    return sdk.adapters.handle_webhook("woocommerce", request.headers, request.body, request.url)


def orders(sdk):
    return sdk.journal.read(types=[EventType.ORDER_IN_STORE, EventType.ORDER_ONLINE])


# ------------------------------------------------------------------ signatures


def test_signature_is_base64_hmac_sha256_over_the_raw_bytes() -> None:
    body = b'{"id": 1001}'
    header = sign(body, WEBHOOK_SECRET)
    secrets = (Secret(WEBHOOK_SECRET),)
    import base64
    import hashlib
    import hmac

    assert header == base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert verify_signature(body, header, secrets)
    assert not verify_signature(body + b"\n", header, secrets)
    assert not verify_signature(body, "not base64!", secrets)
    assert not verify_signature(body, None, secrets)
    assert not verify_signature(body, header, ())


def test_the_secret_is_entity_decoded_as_wordpress_does() -> None:
    assert signing_key("a&amp;b&lt;c&#039;d") == b"a&b<c'd"
    assert signing_key("&amp;lt;") == b"&lt;"  # one pass, as strtr does
    assert signing_key("plain-secret") == b"plain-secret"
    body = b"{}"
    assert verify_signature(body, sign(body, "a&b"), (Secret("a&amp;b"),))


def test_every_configured_secret_is_accepted(sdk) -> None:
    for n, secret in enumerate((WEBHOOK_SECRET, OLD_WEBHOOK_SECRET)):
        assert [
            r.recorded for r in handle(sdk, delivery(order_payload(2000 + n), delivery_id=f"d-{n}", secret=secret))
        ] == [True]


def test_bad_signature_is_rejected_and_nothing_recorded(sdk) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(order_payload(), signed=False))
    assert caught.value.code == "bad_signature"
    assert orders(sdk) == [] and sdk.orders.list() == []


def test_an_unsigned_order_is_rejected(sdk) -> None:
    request = delivery(order_payload())
    headers = {k: v for k, v in request.headers.items() if k != "x-wc-webhook-signature"}
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, WebhookRequest(request.body, headers))
    assert caught.value.code == "bad_signature"


def test_webhooks_need_a_secret(o2o_make_sdk) -> None:
    from o2o_sdk import InvalidInput

    sdk = make(o2o_make_sdk, webhook_secrets=())
    with pytest.raises(InvalidInput) as caught:
        handle(sdk, delivery(order_payload()))
    assert caught.value.code == "webhook_secret_missing"
    assert handle(sdk, ping()) == []  # the ping needs no secret


# ------------------------------------------------------------------ the ping


def test_the_creation_ping_is_acknowledged_without_verifying(sdk) -> None:
    request = ping()
    assert is_ping(request)
    assert handle(sdk, request) == []
    assert sdk.orders.list() == [] and orders(sdk) == []


@pytest.mark.parametrize(
    "body", [b"webhook_id=12&id=5", b"webhook_id=abc", b'{"webhook_id": 12}', b"webhook_id=12\x00"]
)
def test_only_the_exact_ping_goes_unverified(sdk, body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, WebhookRequest(body, {"X-WC-Webhook-Topic": "order.created"}))
    assert caught.value.code == "bad_signature"


def test_a_ping_shaped_body_with_a_bad_signature_is_not_a_ping(sdk) -> None:
    request = WebhookRequest(b"webhook_id=12", {"X-WC-Webhook-Signature": "AAAA"})
    assert not is_ping(request)
    with pytest.raises(WebhookRejected):
        handle(sdk, request)


# ------------------------------------------------------------------ orders


def test_online_order(sdk) -> None:
    [result] = handle(sdk, delivery(order_payload(codes=("SPRING10",)), delivery_id="dlv-online"))
    order = result.order
    assert order.kind is OrderKind.ONLINE and order.store_id is None and order.location_id is None
    assert (order.platform, order.order_id, order.delivery_id) == ("woocommerce", "1001", "dlv-online")
    assert (
        order.total == Money(2990, "EUR") and order.customer_id == "7" and order.customer_email == "buyer@example.com"
    )
    assert order.occurred_at.isoformat() == "2026-06-15T11:05:00+00:00"  # date_created_gmt read as UTC
    assert order.discount_codes == ("SPRING10",) and order.pickup is None
    assert order.items == (OrderLine("MUG-BLUE", 2, "Blue mug", Money(1250, "EUR")),)
    assert order.data["topic"] == "order.created" and order.data["status"] == "processing"
    [event] = orders(sdk)
    assert event.type == EventType.ORDER_ONLINE and event.data["customer_email"] == "buyer@example.com"


def test_pos_order_is_in_store_at_the_mapped_store_with_the_voucher(sdk) -> None:
    offer = sdk.offers.create("15% in store", Discount.percent_off(15))
    voucher = sdk.offers.issue(offer, "cust-1")
    # WooCommerce stores coupon codes in lower case, so a voucher comes through by its (hex) id.
    payload = order_payload(created_via="pos-rest-api", shipping_lines=[], codes=(voucher.id.upper(),),
                            meta_data=[meta("_o2o_store_id", "outlet-soho")])  # fmt: skip
    [result] = handle(sdk, delivery(payload))
    order = result.order
    assert order.kind is OrderKind.IN_STORE and order.location_id == "outlet-soho" and order.store_id == "soho"
    assert (order.offer_id, order.voucher_id) == (offer.id, voucher.id)
    [event] = orders(sdk)
    assert (event.type, event.store_id, event.customer_id) == (EventType.ORDER_IN_STORE, "soho", "cust-1")


def test_store_meta_may_name_our_store_id(sdk) -> None:
    payload = order_payload(created_via="point-of-sale", shipping_lines=[], meta_data=[meta("_o2o_store_id", "camden")])
    [result] = handle(sdk, delivery(payload))
    assert (result.order.store_id, result.order.location_id, result.order.kind) == ("camden", None, OrderKind.IN_STORE)


def test_the_in_store_meta_flag(sdk) -> None:
    payload = order_payload(
        created_via="admin", meta_data=[meta("_o2o_in_store", "yes", 1), meta("_o2o_store_id", "soho", 2)]
    )
    [result] = handle(sdk, delivery(payload))
    assert result.order.kind is OrderKind.IN_STORE and result.order.store_id == "soho"


def test_admin_orders_are_online_by_default_and_configurable(o2o_make_sdk, sdk) -> None:
    [result] = handle(sdk, delivery(order_payload(created_via="admin")))
    assert result.order.kind is OrderKind.ONLINE
    custom = make(o2o_make_sdk, in_store_created_via="admin", store_meta_key="_outlet")
    payload = order_payload(created_via="admin", meta_data=[meta("_outlet", "outlet-soho")])
    [result] = handle(custom, delivery(payload))
    assert (result.order.kind, result.order.store_id) == (OrderKind.IN_STORE, "soho")


def test_unknown_store_keeps_the_location_key(sdk) -> None:
    payload = order_payload(created_via="pos-rest-api", meta_data=[meta("_o2o_store_id", "outlet-nowhere")])
    [result] = handle(sdk, delivery(payload))
    assert result.order.store_id is None and result.order.location_id == "outlet-nowhere"


def test_guests_have_no_customer_id(sdk) -> None:
    [result] = handle(sdk, delivery(order_payload(customer_id=0, email="")))
    assert (result.order.customer_id, result.order.customer_email) == (None, None)


def test_items_without_sku_use_the_product_id_and_prices_round_to_the_currency(sdk) -> None:
    items = [line_item(1, sku="", product_id=31, variation_id=45, quantity=3, unit="3.333"), line_item(2, quantity=0)]
    [result] = handle(sdk, delivery(order_payload(line_items=items, total="9.999")))
    assert result.order.items == (OrderLine("woocommerce-product-45", 3, "Blue mug", Money(333, "EUR")),)
    assert result.order.total == Money(1000, "EUR")


# ------------------------------------------------------------------ statuses and duplicates


def test_unpaid_orders_wait_for_the_update_that_pays_them(sdk) -> None:
    assert handle(sdk, delivery(order_payload(status="pending"), delivery_id="dlv-a")) == []
    assert sdk.orders.list() == []
    [result] = handle(sdk, delivery(order_payload(status="processing"), delivery_id="dlv-b", topic="order.updated"))
    assert result.recorded and result.order.data["topic"] == "order.updated"


def test_a_redelivery_and_a_later_update_are_recorded_once(sdk) -> None:
    first = delivery(order_payload(), delivery_id="dlv-dup")
    assert [r.recorded for r in handle(sdk, first)] == [True]
    assert [r.recorded for r in handle(sdk, first)] == [False]  # the same delivery again
    update = delivery(order_payload(status="completed"), delivery_id="dlv-dup-2", topic="order.updated")
    assert [r.recorded for r in handle(sdk, update)] == [False]  # a new delivery of the same order
    assert len(orders(sdk)) == 1 and len(sdk.orders.list()) == 1


def test_without_a_delivery_id_the_order_id_still_dedupes(sdk) -> None:
    [result] = handle(sdk, delivery(order_payload(), delivery_id=None))
    assert result.recorded and result.order.delivery_id is None
    assert [r.recorded for r in handle(sdk, delivery(order_payload(), delivery_id=None))] == [False]


@pytest.mark.parametrize("topic", ["order.restored", "coupon.created", "customer.updated", "action.woocommerce_x", None])
def test_other_topics_are_verified_and_ignored(sdk, topic) -> None:
    request = delivery({"id": 5}, topic=topic or "")
    if topic is None:
        request = WebhookRequest(request.body, {k: v for k, v in request.headers.items() if k != "x-wc-webhook-topic"})
    assert handle(sdk, request) == []
    with pytest.raises(WebhookRejected):
        handle(sdk, delivery({"id": 5}, topic=topic or "", signed=False))


# ------------------------------------------------------------------ malformed payloads


@pytest.mark.parametrize("missing", ["id", "status", "date_created_gmt", "currency", "total"])
def test_payload_missing_fields_is_rejected(sdk, missing: str) -> None:
    payload = order_payload()
    del payload[missing]
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(payload))
    assert caught.value.code == "malformed_payload" and missing in caught.value.message
    assert orders(sdk) == []


@pytest.mark.parametrize("raw", [
    b"not json", b"[1, 2]", b"",
    json.dumps({**order_payload(), "date_created_gmt": "yesterday"}).encode(),
    json.dumps({**order_payload(), "total": "lots"}).encode(),
    json.dumps({**order_payload(), "currency": "euro"}).encode(),
    json.dumps({**order_payload(), "coupon_lines": "SPRING10"}).encode(),
    json.dumps({**order_payload(), "meta_data": {"k": "v"}}).encode(),
    json.dumps({**order_payload(), "line_items": [{"id": 1, "quantity": "two", "sku": "A"}]}).encode(),
    json.dumps({**order_payload(), "line_items": [{"id": 1, "quantity": 1, "sku": "", "product_id": 0}]}).encode(),
    json.dumps({**order_payload(), "shipping_lines": "pickup"}).encode(),
    # found by fuzzing signed payloads: these raised decimal.InvalidOperation, InvalidInput (a 503
    # the platform retries for ever) and TypeError instead of a 400
    json.dumps({**order_payload(), "total": "1e999"}).encode(),
    json.dumps({**order_payload(), "total": "99999999999999999999.99"}).encode(),
    json.dumps({**order_payload(), "line_items": [{**line_item(), "subtotal": 1e308}]}).encode(),
])  # fmt: skip
def test_unreadable_payloads_are_rejected(sdk, raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(None, raw=raw))
    assert caught.value.code == "malformed_payload"
    assert orders(sdk) == []


@pytest.mark.parametrize("method_id", [{"id": "local_pickup"}, ["local_pickup"], None, 5])
def test_a_shipping_method_that_is_not_a_string_is_not_a_pickup(sdk, method_id: object) -> None:
    payload = order_payload(shipping_lines=[{**flat_rate_line(), "method_id": method_id}])
    [result] = handle(sdk, delivery(payload))  # was a TypeError (unhashable) for a dict or list
    assert result.recorded and result.order.pickup is None


# ------------------------------------------------------------------ local pickup (issue #10)


def test_a_blocks_local_pickup_order_becomes_a_pickup_at_the_configured_store(sdk) -> None:
    payload = order_payload(1200, shipping_lines=[pickup_location_line("Soho shop")], customer_note="Blue Fiat, bay 3")
    [result] = handle(sdk, delivery(payload, delivery_id="dlv-pickup"))
    order = result.order
    assert order.kind is OrderKind.ONLINE and order.store_id is None
    assert order.pickup is not None and (order.pickup.store_id, order.pickup.note) == ("soho", "Blue Fiat, bay 3")
    assert order.data["pickup_location"] == "Soho shop" and order.data["pickup_address"].startswith("1 Soho Square")
    pickup = result.pickup
    assert pickup is not None and pickup.store_id == "soho" and pickup.state is PickupState.PLACED
    assert (pickup.platform, pickup.order_id, pickup.customer_email) == ("woocommerce", "1200", "buyer@example.com")
    assert pickup.items == (OrderLine("MUG-BLUE", 2, "Blue mug", Money(1250, "EUR")),) and pickup.total == Money(
        2990, "EUR"
    )
    # a redelivery, then the order.updated of the same order: still one pickup
    again = handle(sdk, delivery(payload, delivery_id="dlv-pickup"))[0]
    later = handle(
        sdk, delivery({**payload, "status": "completed"}, delivery_id="dlv-pickup-2", topic="order.updated")
    )[0]
    assert again.pickup.id == later.pickup.id == pickup.id
    assert len(sdk.pickups.list(store_id="soho")) == 1


def test_a_pickup_location_named_in_external_ids(sdk) -> None:
    [result] = handle(sdk, delivery(order_payload(shipping_lines=[pickup_location_line("Camden Lock")])))
    assert (result.order.pickup.store_id, result.order.pickup.location_id) == (None, "Camden Lock")
    assert result.pickup is not None and result.pickup.store_id == "camden"


def test_a_classic_local_pickup_by_method_instance(sdk) -> None:
    [result] = handle(sdk, delivery(order_payload(shipping_lines=[local_pickup_line("3")])))
    assert result.order.pickup.store_id == "camden" and result.pickup.store_id == "camden"


def test_the_order_meta_field_wins_for_the_pickup_store(sdk) -> None:
    payload = order_payload(
        shipping_lines=[pickup_location_line("Soho shop")], meta_data=[meta("_o2o_store_id", "camden")]
    )
    [result] = handle(sdk, delivery(payload))
    assert result.pickup.store_id == "camden"


def test_an_unknown_pickup_location_records_the_order_without_a_pickup(sdk, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="o2o_sdk.orders"):
        [result] = handle(sdk, delivery(order_payload(shipping_lines=[pickup_location_line("Nowhere")])))
    assert result.recorded and result.pickup is None and result.order.pickup.location_id == "Nowhere"
    assert "not one of our stores" in caplog.text


def test_delivery_orders_have_no_pickup(sdk) -> None:
    [result] = handle(sdk, delivery(order_payload()))
    assert result.order.pickup is None and result.pickup is None


# ------------------------------------------------------------------ orders cancelled on WooCommerce


def test_a_pickup_order_cancelled_on_woocommerce_cancels_its_pickup(sdk) -> None:
    payload = order_payload(1210, shipping_lines=[pickup_location_line("Soho shop")])
    [placed] = handle(sdk, delivery(payload, delivery_id="dlv-1210"))
    assert placed.pickup is not None and placed.pickup.state is PickupState.PLACED
    [cancelled] = handle(sdk, delivery({**payload, "status": "cancelled"}, delivery_id="dlv-1210-2", topic="order.updated"))
    assert cancelled.order.cancelled and cancelled.order.data["status"] == "cancelled" and not cancelled.recorded
    assert cancelled.pickup.id == placed.pickup.id and cancelled.pickup.state is PickupState.CANCELLED
    assert cancelled.pickup.reason == "cancelled_on_woocommerce"
    assert len(orders(sdk)) == 1  # the sale as it was recorded; the cancellation journals pickup_cancelled
    assert [e.type for e in sdk.journal.read(types=[EventType.PICKUP_CANCELLED])] == ["pickup_cancelled"]


def test_an_order_trashed_or_deleted_on_woocommerce_cancels_its_pickup(sdk) -> None:
    payload = order_payload(1240, shipping_lines=[pickup_location_line("Soho shop")])
    [placed] = handle(sdk, delivery(payload, delivery_id="dlv-1240"))
    # WooCommerce sends order.deleted with the id alone (trash or delete)
    [gone] = handle(sdk, delivery({"id": 1240}, delivery_id="dlv-1240-del", topic="order.deleted"))
    assert gone.order.cancelled and gone.order.order_id == "1240" and not gone.recorded
    assert (gone.pickup.id, gone.pickup.state, gone.pickup.reason) == (placed.pickup.id, PickupState.CANCELLED, "cancelled_on_woocommerce")
    assert len(orders(sdk)) == 1  # the sale as it was recorded
    [again] = handle(sdk, delivery({"id": 1240}, delivery_id="dlv-1240-del", topic="order.deleted"))  # redelivered
    assert again.pickup == gone.pickup and len(sdk.journal.read(types=[EventType.PICKUP_CANCELLED])) == 1
    [unknown] = handle(sdk, delivery({"id": 999}, delivery_id="dlv-999", topic="order.deleted"))  # not one of ours
    assert (unknown.recorded, unknown.pickup) == (False, None) and sdk.orders.list()[0].order_id == "1240"


@pytest.mark.parametrize("body", [{}, {"id": "abc"}, {"id": True}, [1240]])
def test_an_order_deleted_without_an_id_is_refused(sdk, body) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(body, delivery_id="dlv-bad", topic="order.deleted"))
    assert caught.value.code == "malformed_payload"


def test_an_order_deleted_must_be_signed(sdk) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery({"id": 1240}, topic="order.deleted", signed=False))
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize("status", ["cancelled", "refunded", "failed"])
def test_an_order_first_seen_cancelled_records_nothing_and_gets_no_pickup(sdk, status: str) -> None:
    payload = order_payload(1220, status=status, shipping_lines=[pickup_location_line("Soho shop")])
    [result] = handle(sdk, delivery(payload, delivery_id="dlv-1220", topic="order.updated"))
    assert result.order.cancelled and result.order.pickup is not None
    assert (result.recorded, result.event, result.pickup) == (False, None, None)
    assert sdk.orders.list() == [] and orders(sdk) == [] and sdk.pickups.list() == []


def test_cancelled_statuses_win_over_the_configured_sale_statuses(o2o_make_sdk) -> None:
    sdk = make(o2o_make_sdk, order_statuses="processing,completed,refunded")
    [result] = handle(sdk, delivery(order_payload(1230, status="refunded")))
    assert result.order.cancelled and not result.recorded and sdk.orders.list() == []
    assert handle(sdk, delivery(order_payload(1231, status="pending"), delivery_id="dlv-p")) == []  # still not a sale


# ------------------------------------------------------------------ the web route


class _App:
    """The plugin's routes in a real Starlette app, called through httpx's ASGI transport."""

    def __init__(self, sdk) -> None:
        from o2o_woocommerce import plugin
        from starlette.applications import Starlette
        from starlette.routing import Route

        routes = []
        plugin.o2o_register_routes(sdk=sdk, register=lambda path, endpoint, methods, name=None: routes.append(
            Route(path, endpoint, methods=methods, name=name)))  # fmt: skip
        assert [(r.path, r.methods) for r in routes] == [("/webhooks/woocommerce", {"POST"})]
        self.app = Starlette(routes=routes)

    def post(self, request: WebhookRequest):
        import anyio.from_thread
        import httpx

        async def send():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="https://o2o.example") as client:
                return await client.post("/webhooks/woocommerce", content=request.body, headers=request.headers)

        # an event loop of its own, in a thread: another test's loop may still run in this one
        with anyio.from_thread.start_blocking_portal() as portal:
            return portal.call(send)


def test_the_web_route_answers_the_ping_200_and_records_nothing(sdk) -> None:
    answer = _App(sdk).post(ping(31))
    assert answer.status_code == 200 and answer.json() == {"recorded": 0, "duplicates": 0, "cancelled": 0}
    assert sdk.orders.list() == [] and orders(sdk) == []


def test_the_web_route_serves_orders(sdk) -> None:
    app = _App(sdk)
    good = delivery(order_payload(), delivery_id="dlv-web")
    answer = app.post(good)
    assert answer.status_code == 200 and answer.json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
    assert app.post(good).json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}
    assert app.post(delivery(order_payload(5), signed=False)).status_code == 401
    assert app.post(WebhookRequest(b"webhook_id=1&total=0", {})).status_code == 401
    assert app.post(delivery(None, raw=b"{}", delivery_id="dlv-broken")).status_code == 400


def test_no_route_without_an_adapter(o2o_sdk) -> None:
    from o2o_woocommerce import plugin

    routes: list[str] = []
    plugin.o2o_register_routes(sdk=o2o_sdk, register=lambda path, *a, **k: routes.append(path))
    assert routes == []
