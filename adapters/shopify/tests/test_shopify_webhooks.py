"""Shopify webhooks: HMAC over the raw body (two secrets during rotation), dedupe on the event id,
POS orders as in-store purchases, online orders, payloads missing fields, the web route."""

from __future__ import annotations

import json

import pytest
from o2o_shopify import ShopifyAdapter, location_gid, sign, verify_signature
from shopify_fake import OLD_WEBHOOK_SECRET, WEBHOOK_SECRET, delivery, order_payload, settings

from o2o_sdk import Discount, EventType, Money, OrderKind, Store, WebhookRejected
from o2o_sdk.http import Secret


@pytest.fixture
def sdk(o2o_make_sdk):
    adapter = ShopifyAdapter(settings())
    sdk = o2o_make_sdk(plugins=[adapter])
    sdk.stores.add(Store("soho", "Soho", "Europe/London", 51.5, -0.13, external_ids={"shopify": location_gid(1)}))
    return sdk


def handle(sdk, request):
    return sdk.adapters.handle_webhook("shopify", request.headers, request.body, request.url)


def orders(sdk):
    return sdk.journal.read(types=[EventType.ORDER_IN_STORE, EventType.ORDER_ONLINE])


def test_signature_is_over_the_raw_bytes_in_constant_time() -> None:
    body = b'{"id": 1}'
    header = sign(body, WEBHOOK_SECRET)
    secrets = (Secret(WEBHOOK_SECRET),)
    assert verify_signature(body, header, secrets)
    assert not verify_signature(body + b"\n", header, secrets)
    assert not verify_signature(body, "not base64!", secrets)
    assert not verify_signature(body, None, secrets)
    assert not verify_signature(body, header, ())


def test_both_secrets_are_accepted_during_rotation(sdk) -> None:
    for n, secret in enumerate((WEBHOOK_SECRET, OLD_WEBHOOK_SECRET)):
        request = delivery(order_payload(str(100 + n)), event_id=f"evt-{n}", secret=secret)
        assert [r.recorded for r in handle(sdk, request)] == [True]


def test_pos_order_is_an_in_store_purchase_attributed_to_the_voucher(sdk) -> None:
    offer = sdk.offers.create("15% in store", Discount.percent_off(15))
    voucher = sdk.offers.issue(offer, "cust-1")
    [result] = handle(sdk, delivery(order_payload(codes=("WELCOME", voucher.token))))
    order = result.order
    assert order.kind is OrderKind.IN_STORE and order.store_id == "soho" and order.location_id == "gid://shopify/Location/1"
    assert (order.offer_id, order.voucher_id) == (offer.id, voucher.id)
    assert order.total == Money(4250, "EUR") and order.customer_id == "gid://shopify/Customer/115310627314723954"
    assert order.delivery_id == "evt-1" and order.occurred_at.isoformat() == "2026-06-15T13:05:00+01:00"
    [event] = orders(sdk)
    assert (event.type, event.store_id, event.customer_id) == (EventType.ORDER_IN_STORE, "soho", "cust-1")
    assert event.data["discount_codes"] == ["WELCOME", voucher.token]
    assert event.data["platform_customer_id"] == "gid://shopify/Customer/115310627314723954"


def test_a_mirrored_code_maps_to_its_offer(sdk) -> None:
    from o2o_sdk import OfferMirror

    offer = sdk.offers.create("Mirrored", Discount.percent_off(10))
    sdk.storage.insert_mirror(OfferMirror(offer.id, "shopify", "gid://shopify/DiscountCodeNode/5", "SPRING10", sdk.clock.now()))
    [result] = handle(sdk, delivery(order_payload(codes=("spring10",))))
    assert result.order.offer_id == offer.id and result.order.voucher_id is None


def test_web_orders_are_online_conversions(sdk) -> None:
    [result] = handle(sdk, delivery(order_payload(source_name="web", location_id=None)))
    assert result.order.kind is OrderKind.ONLINE and result.order.store_id is None
    [event] = orders(sdk)
    assert event.type == EventType.ORDER_ONLINE and event.data["customer_email"] == "buyer@example.com"


def test_pos_order_without_location_counts_as_online(sdk) -> None:
    [result] = handle(sdk, delivery(order_payload(location_id=None)))
    assert result.order.kind is OrderKind.ONLINE


def test_unknown_location_keeps_the_platform_id(sdk) -> None:
    [result] = handle(sdk, delivery(order_payload(location_id=999)))
    assert result.order.store_id is None and result.order.location_id == "gid://shopify/Location/999"


def test_bad_signature_is_rejected_and_nothing_recorded(sdk) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(order_payload(), signed=False))
    assert caught.value.code == "bad_signature"
    assert orders(sdk) == [] and sdk.orders.list() == []


def test_another_shops_delivery_is_rejected(sdk) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(order_payload(), shop="someone-else.myshopify.com"))
    assert caught.value.code == "wrong_shop"


def test_duplicate_delivery_is_recorded_once(sdk) -> None:
    request = delivery(order_payload(), event_id="evt-dup")
    assert [r.recorded for r in handle(sdk, request)] == [True]
    assert [r.recorded for r in handle(sdk, request)] == [False]
    # a new delivery of the same order (another event id) is the same order: still once
    assert [r.recorded for r in handle(sdk, delivery(order_payload(), event_id="evt-dup-2"))] == [False]
    assert len(orders(sdk)) == 1


def test_without_event_id_the_webhook_id_dedupes(sdk) -> None:
    request = delivery(order_payload(), event_id=None)
    [result] = handle(sdk, request)
    assert result.order.delivery_id == "wh-None"


@pytest.mark.parametrize("missing", ["id", "created_at", "currency", "total_price"])
def test_payload_missing_fields_is_rejected(sdk, missing: str) -> None:
    payload = order_payload()
    del payload[missing]
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(payload))
    assert caught.value.code == "malformed_payload" and missing in caught.value.message
    assert orders(sdk) == []


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", json.dumps({**order_payload(), "created_at": "yesterday"}).encode(),
                                 json.dumps({**order_payload(), "created_at": "2026-06-15T13:05:00"}).encode(),
                                 json.dumps({**order_payload(), "discount_codes": "X"}).encode()])  # fmt: skip
def test_unreadable_payloads_are_rejected(sdk, raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        handle(sdk, delivery(None, raw=raw))
    assert caught.value.code == "malformed_payload"


def test_optional_fields_may_be_missing(sdk) -> None:
    payload = order_payload(customer={}, source_name=None, location_id=None)
    for key in ("discount_codes", "email", "name", "admin_graphql_api_id"):
        payload.pop(key)
    [result] = handle(sdk, delivery(payload))
    assert result.order.order_id == "gid://shopify/Order/820982911946154508"
    assert (result.order.customer_id, result.order.customer_email, result.order.discount_codes) == (None, None, ())


def test_other_topics_are_verified_and_ignored(sdk) -> None:
    assert handle(sdk, delivery({"id": 1}, topic="customers/update")) == []
    with pytest.raises(WebhookRejected):
        handle(sdk, delivery({"id": 1}, topic="customers/update", signed=False))


def test_webhooks_need_a_secret(o2o_make_sdk) -> None:
    from o2o_sdk import InvalidInput

    sdk = o2o_make_sdk(plugins=[ShopifyAdapter(settings(webhook_secrets=()))])
    with pytest.raises(InvalidInput) as caught:
        handle(sdk, delivery(order_payload()))
    assert caught.value.code == "webhook_secret_missing"


def test_hook_routes_serve_the_webhook(sdk) -> None:
    from o2o_shopify import plugin
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    routes = []
    plugin.o2o_register_routes(sdk=sdk, register=lambda path, endpoint, methods, name=None: routes.append(Route(path, endpoint, methods=methods, name=name)))
    assert [(r.path, r.methods) for r in routes] == [("/webhooks/shopify", {"POST"})]
    client = TestClient(Starlette(routes=routes))
    good = delivery(order_payload(), event_id="evt-web")
    answer = client.post("/webhooks/shopify", content=good.body, headers=good.headers)
    assert answer.status_code == 200 and answer.json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
    assert client.post("/webhooks/shopify", content=good.body, headers=good.headers).json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}
    bad = delivery(order_payload("5"), signed=False)
    assert client.post("/webhooks/shopify", content=bad.body, headers=bad.headers).status_code == 401
    broken = delivery(None, raw=b"{}", event_id="evt-broken")
    assert client.post("/webhooks/shopify", content=broken.body, headers=broken.headers).status_code == 400


def test_no_route_without_an_adapter(o2o_sdk) -> None:
    from o2o_shopify import plugin

    routes: list[str] = []
    plugin.o2o_register_routes(sdk=o2o_sdk, register=lambda path, *a, **k: routes.append(path))
    assert routes == []
