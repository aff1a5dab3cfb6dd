"""What the adapter sends and reads is what WooCommerce's REST API v3 accepts and returns,
checked against shared/specs/woocommerce (the OpenAPI document and the route index)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from o2o_woocommerce import coupon_body
from woo_fake import (
    find_route,
    local_pickup_line,
    order_payload,
    pickup_location_line,
    query_errors,
    request_body_errors,
    require_specs,
    schema_errors,
    woocommerce_oauth_signature,
)

from o2o_sdk import Caps, Discount, Money, Offer

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _specs() -> None:
    require_specs()


#: Every (method, route) the adapter calls.
CALLS = [
    ("POST", "/wc/v3/coupons"), ("GET", "/wc/v3/coupons"), ("GET", "/wc/v3/coupons/12"),
    ("GET", "/wc/v3/customers"), ("GET", "/wc/v3/orders"), ("PUT", "/wc/v3/orders/1001"),
    ("GET", "/wc/v3/orders/1001/notes"), ("POST", "/wc/v3/orders/1001/notes"), ("GET", "/wc/v3/products"),
    ("GET", "/wc/v3/webhooks"), ("POST", "/wc/v3/webhooks"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), CALLS)
def test_every_endpoint_the_adapter_calls_exists(method: str, path: str) -> None:
    assert find_route(method, path) is not None


def test_the_route_check_can_fail() -> None:
    assert find_route("DELETE", "/wc/v3/customers") is None
    assert find_route("GET", "/wc/v3/stores") is None
    assert query_errors("GET", "/orders", [("per_page", "lots")]) == ["per_page='lots' is not an integer"]
    assert query_errors("GET", "/customers", [("role", "boss")])
    assert query_errors("GET", "/customers", [("emailaddress", "x")])


def test_the_currency_endpoint_is_in_the_openapi_document() -> None:
    # The published route index predates /data; the OpenAPI document has it.
    assert query_errors("GET", "/data/currencies/current", []) == []


def test_query_parameters_the_adapter_sends_are_arguments() -> None:
    assert query_errors("GET", "/orders", [("order", "asc"), ("orderby", "date"), ("status", "processing"), ("page", "2"),
                                           ("per_page", "100"), ("after", "2026-06-01T00:00:00"), ("dates_are_gmt", "true")]) == []  # fmt: skip
    assert query_errors("GET", "/customers", [("email", "ada@example.com"), ("role", "all")]) == []
    assert query_errors("GET", "/coupons", [("code", "spring10")]) == []
    assert query_errors("GET", "/orders/5/notes", [("type", "internal")]) == []


OFFERS = {
    "percent": Offer("off_pct", "15% off", Discount.percent_off(15)),
    "amount": Offer("off_amt", "5 off", Discount.amount_off(Money(500, "EUR")), caps=Caps(total=100, per_customer=1),
                    min_basket=Money(2000, "EUR"), ends_at=datetime(2026, 7, 1, tzinfo=UTC),
                    metadata={"email_restrictions": "ada@example.com, bob@example.com"}),
    "free_item": Offer("off_free", "A free mug", Discount.free_item("MUG-BLUE"), ends_at=datetime(2026, 7, 1, 23, 59)),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(OFFERS))
def test_coupon_bodies_are_valid_requests(kind: str) -> None:
    body = coupon_body(OFFERS[kind], "CODE1", product_id=31, now=NOW)
    assert request_body_errors("/coupons", "POST", body) == []
    assert set(body) <= set(find_route("POST", "/wc/v3/coupons")[1]["args"])


def test_the_request_check_refuses_unknown_fields_and_wrong_types() -> None:
    body = coupon_body(OFFERS["percent"], "CODE1", now=NOW)
    assert request_body_errors("/coupons", "POST", {**body, "starts_at": "2026-06-01"})
    assert request_body_errors("/coupons", "POST", {**body, "amount": 15})
    assert request_body_errors("/coupons", "POST", {**body, "discount_type": "percentage"})


def test_pickup_and_order_bodies_are_valid_requests() -> None:
    assert request_body_errors("/orders/{id}", "PUT", {"status": "completed"}) == []
    assert request_body_errors("/orders/{id}", "PUT", {"status": "ready-for-pickup"})  # WooCommerce has no such status
    assert (
        request_body_errors("/orders/{order_id}/notes", "POST", {"note": "Ready [o2o]", "customer_note": False}) == []
    )
    assert request_body_errors("/webhooks", "POST", {"name": "o2o", "status": "active", "topic": "order.created",
                                                     "delivery_url": "https://o2o.example/webhooks/woocommerce",
                                                     "secret": "s"}) == []  # fmt: skip


@pytest.mark.parametrize("payload", [
    order_payload(),
    order_payload(created_via="pos-rest-api", shipping_lines=[], email=None, customer_id=0),
    order_payload(shipping_lines=[pickup_location_line()], customer_note="Blue car"),
    order_payload(shipping_lines=[local_pickup_line()], codes=("spring10", "k0123")),
    *(order_payload(status=s, shipping_lines=[pickup_location_line()]) for s in ("cancelled", "refunded", "failed")),
])  # fmt: skip
def test_order_fixtures_are_real_order_shapes(payload) -> None:
    assert schema_errors("shop_order", payload) == []


def test_the_schema_check_can_fail() -> None:
    assert schema_errors("shop_order", {**order_payload(), "status": "ready"})
    assert schema_errors("shop_order", {**order_payload(), "line_items": {"sku": "x"}})
    assert schema_errors("shop_coupon", {"id": "twelve"})
    assert schema_errors("customer", {"email": 5})


def test_the_fakes_oauth_check_is_woocommerces_algorithm() -> None:
    # A vector worked out by hand (see test_woocommerce_client for the steps): the fake's
    # verifier must agree with it, or its agreement with the adapter would prove nothing.
    params = {"oauth_consumer_key": "ck_x", "oauth_nonce": "n1", "oauth_signature_method": "HMAC-SHA256",
              "oauth_timestamp": "1700000000", "per_page": "100"}  # fmt: skip
    import base64
    import hashlib
    import hmac

    base = (
        "GET&http%3A%2F%2Fplain.example%2Fwp-json%2Fwc%2Fv3%2Forders&oauth_consumer_key%3Dck_x%26oauth_nonce%3Dn1"
        "%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000%26per_page%3D100"
    )
    expected = base64.b64encode(hmac.new(b"cs_y&", base.encode(), hashlib.sha256).digest()).decode()
    assert woocommerce_oauth_signature("GET", "http://plain.example/wp-json/wc/v3/orders", params, "cs_y") == expected
