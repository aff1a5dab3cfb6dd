"""Settings, authentication (Basic, query string, OAuth 1.0a against independent computations),
typed errors from WooCommerce's error bodies, throttling and retries, page-numbered listing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

import httpx
import pytest
import respx
from o2o_woocommerce import WooCommerceAdapter, WooCommerceSettings, oauth1_query, percent_encode, signature_base_string
from o2o_woocommerce import plugin as woo_plugin
from woo_fake import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    NOW,
    PLAIN_SITE,
    SITE,
    FakeWooCommerce,
    Sleeps,
    error,
    fake,
    order_payload,
    settings,
    sleeps,
    woo,
)

from o2o_sdk import ConfigurationError, InvalidInput
from o2o_sdk.http import (
    PlatformAuthError,
    PlatformBadRequest,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformServerError,
)

__all__ = ["fake", "sleeps", "woo"]  # fixtures used by name


# ------------------------------------------------------------------ settings


def test_settings_from_the_environment_mapping() -> None:
    got = WooCommerceSettings.from_mapping({
        "url": "https://shop.example/wp-json/wc/v3/", "key": CONSUMER_KEY, "secret": CONSUMER_SECRET,
        "webhook_secrets": "new-secret, old-secret", "store_meta_key": "_outlet", "in_store_created_via": "pos-rest-api,admin",
        "order_statuses": "processing,completed", "locations": '{"Soho shop": "soho", "local_pickup:3": "camden"}',
        "timezone": "Europe/London", "currency": "eur", "per_page": "50",
    })  # fmt: skip
    assert got is not None
    assert got.endpoint == "https://shop.example/wp-json/wc/v3" and got.auth_method == "basic"
    assert [s.value for s in got.webhook_secrets] == ["new-secret", "old-secret"]
    assert got.in_store_created_via == {"pos-rest-api", "admin"} and got.order_statuses == {"processing", "completed"}
    assert got.locations == {"Soho shop": "soho", "local_pickup:3": "camden"}
    assert (got.store_meta_key, got.timezone, got.currency, got.per_page) == ("_outlet", "Europe/London", "EUR", 50)
    assert WooCommerceSettings.from_mapping({}) is None


def test_defaults_are_documented_choices() -> None:
    got = settings()
    assert got.in_store_created_via == {"pos-rest-api", "point-of-sale", "pos"}
    assert got.order_statuses == {"processing", "completed", "on-hold"}
    assert (got.store_meta_key, got.in_store_meta_key, got.per_page) == ("_o2o_store_id", "_o2o_in_store", 100)


@pytest.mark.parametrize(("overrides", "says"), [
    ({"url": "http://plain.example", "auth": "basic"}, "clear text"),
    ({"url": "http://plain.example", "auth": "query"}, "clear text"),
    ({"url": "https://shop.example", "auth": "oauth1"}, "only over plain http"),
    ({"url": "ftp://shop.example"}, "http(s) address"),
    ({"url": "shop.example"}, "http(s) address"),
    ({"consumer_secret": ""}, "consumer key and secret"),
    ({"auth": "bearer"}, "must be one of"),
    ({"per_page": 101}, "between 1 and 100"),
    ({"per_page": 0}, "between 1 and 100"),
    ({"timezone": "Mars/Olympus"}, "IANA"),
    ({"currency": "euro"}, "ISO 4217"),
])  # fmt: skip
def test_bad_settings_are_configuration_errors(overrides, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings(**overrides)
    assert says in caught.value.message


@pytest.mark.parametrize(("mapping", "says"), [
    ({"locations": "{not json"}, "not JSON"),
    ({"locations": '{"Soho": 5}'}, "store ids"),
    ({"per_page": "many"}, "whole number"),
])  # fmt: skip
def test_bad_environment_values_say_which(mapping, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        WooCommerceSettings.from_mapping({"url": SITE, "key": "k", "secret": "s", **mapping})
    assert says in caught.value.message


def test_plain_http_with_basic_auth_is_refused_through_the_plugin(o2o_make_sdk) -> None:
    with pytest.raises(ConfigurationError) as caught:
        o2o_make_sdk(plugins=[woo_plugin], plugin_config={"woocommerce": {"url": "http://plain.example", "key": "k",
                                                                          "secret": "s", "auth": "basic"}})  # fmt: skip
    assert "clear text" in caught.value.message


def test_the_plugin_registers_the_adapter_only_when_configured(o2o_make_sdk) -> None:
    sdk = o2o_make_sdk(plugins=[woo_plugin], plugin_config={"woocommerce": {"url": SITE, "key": "k", "secret": "s"}})
    assert isinstance(sdk.adapters.get("woocommerce"), WooCommerceAdapter)
    assert "woocommerce" not in o2o_make_sdk(plugins=[woo_plugin]).adapters


def test_secrets_never_show() -> None:
    adapter = WooCommerceAdapter(settings())
    shown = repr(adapter) + repr(adapter.settings) + repr(adapter.rest.http)
    assert CONSUMER_SECRET not in shown and CONSUMER_KEY not in shown and "whsec" not in shown


# ------------------------------------------------------------------ OAuth 1.0a


def test_base_string_built_by_hand() -> None:
    # GET http://plain.example/wp-json/wc/v3/orders?status=on-hold&search=Blue mug & co, fixed nonce and time.
    params = [("status", "on-hold"), ("search", "Blue mug & co")]
    signed = dict(oauth1_query("GET", "http://Plain.Example:80/wp-json/wc/v3/orders", params, "ck_abc", "cs_xyz",
                               nonce="n0nce", timestamp=1781524800))  # fmt: skip
    # Written out by hand: the URL encoded once; the parameters sorted, each name and value
    # encoded, joined, and the whole encoded again (so a space is %2520 and "&" is %2526).
    by_hand = (
        "GET"
        "&http%3A%2F%2Fplain.example%2Fwp-json%2Fwc%2Fv3%2Forders"
        "&oauth_consumer_key%3Dck_abc"
        "%26oauth_nonce%3Dn0nce"
        "%26oauth_signature_method%3DHMAC-SHA256"
        "%26oauth_timestamp%3D1781524800"
        "%26search%3DBlue%2520mug%2520%2526%2520co"
        "%26status%3Don-hold"
    )
    assert (
        signature_base_string(
            "GET",
            "http://Plain.Example:80/wp-json/wc/v3/orders",
            [*params, *[(k, v) for k, v in signed.items() if k.startswith("oauth_")]],
        )
        == by_hand
    )
    key = b"cs_xyz&"  # the consumer secret and "&": one-legged, no token secret
    assert (
        signed["oauth_signature"] == base64.b64encode(hmac.new(key, by_hand.encode(), hashlib.sha256).digest()).decode()
    )
    assert (signed["oauth_signature_method"], signed["oauth_nonce"], signed["oauth_timestamp"]) == (
        "HMAC-SHA256",
        "n0nce",
        "1781524800",
    )


def test_a_known_vector_step_by_step() -> None:
    # POST http://plain.example/wp-json/wc/v3/coupons, no query: only the oauth_* parameters are signed
    # (a JSON body is not). Each step below is computed independently of the adapter.
    step1_method = "POST"
    step2_url = "http%3A%2F%2Fplain.example%2Fwp-json%2Fwc%2Fv3%2Fcoupons"
    step3_params = (
        "oauth_consumer_key=ck_1&oauth_nonce=abc&oauth_signature_method=HMAC-SHA256&oauth_timestamp=1700000000"
    )
    step4_params = step3_params.replace("=", "%3D").replace("&", "%26")  # nothing else needs encoding here
    base = f"{step1_method}&{step2_url}&{step4_params}"
    step5 = hmac.new(b"cs_2&", base.encode("ascii"), hashlib.sha256).digest()
    expected = base64.b64encode(step5).decode("ascii")
    # pinned, computed outside Python: printf '%s' "$base" | openssl dgst -sha256 -hmac 'cs_2&' -binary | base64
    assert expected == "CuvgWwdzxbWV+fGVb52EMsDb7YksYbKkOM8PaTGQUuk="
    signed = dict(oauth1_query("POST", "http://plain.example/wp-json/wc/v3/coupons", [], "ck_1", "cs_2",
                               nonce="abc", timestamp=1700000000))  # fmt: skip
    assert signed["oauth_signature"] == expected


def test_rfc_5849_normalization_example() -> None:
    # RFC 5849 section 3.4.1.1: decoded parameters of its example request, a3 twice, c@ and c2 empty.
    params = [("b5", "=%3D"), ("a3", "a"), ("c@", ""), ("a2", "r b"), ("oauth_consumer_key", "9djdj82h48djs9d2"),
              ("oauth_token", "kkk9d7dh3k39sjv7"), ("oauth_signature_method", "HMAC-SHA1"),
              ("oauth_timestamp", "137131201"), ("oauth_nonce", "7d8f3e4a"), ("c2", ""), ("a3", "2 q")]  # fmt: skip
    assert signature_base_string("POST", "http://example.com/request", params) == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D"
        "%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1"
        "%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
    )


def test_percent_encoding_is_rfc_3986() -> None:
    assert percent_encode("a-b._~ c+d/é*") == "a-b._~%20c%2Bd%2F%C3%A9%2A"


def _plain_adapter(fake: FakeWooCommerce, sleeps: Sleeps, **kwargs) -> WooCommerceAdapter:
    return WooCommerceAdapter(settings(url=PLAIN_SITE), sleep=sleeps, clock=lambda: NOW, **kwargs)


def test_oauth_requests_pass_woocommerces_own_check(sleeps: Sleeps) -> None:
    fake = FakeWooCommerce(PLAIN_SITE, auth="oauth1")
    fake.orders = [order_payload(n) for n in range(1, 4)]
    with respx.mock(assert_all_called=False) as router:
        router.route(host="plain.example").mock(side_effect=fake)
        adapter = _plain_adapter(fake, sleeps)
        assert [o["id"] for o in adapter.iter_orders(status="processing", per_page=2)] == [1, 2, 3]
        adapter.lookup_customer(None, "ada@example.com")
    assert len(fake.requests) == 3
    assert all("authorization" not in r.headers for r in fake.requests)
    assert len(fake.nonces) == 3  # a fresh nonce per request


def test_a_retried_oauth_request_is_signed_again_with_a_new_nonce(sleeps: Sleeps) -> None:
    fake = FakeWooCommerce(PLAIN_SITE, auth="oauth1")
    fake.answers = [error(503, "http_request_failed", "Service unavailable")]
    with respx.mock(assert_all_called=False) as router:
        router.route(host="plain.example").mock(side_effect=fake)
        found = _plain_adapter(fake, sleeps).lookup_customer(None, "ada@example.com")
    assert found is not None and found.id == "77"
    nonces = [r.url.params["oauth_nonce"] for r in fake.requests]
    assert len(nonces) == 2 and nonces[0] != nonces[1]  # WooCommerce refuses a nonce it has seen


def test_a_reused_nonce_or_a_stale_clock_is_refused(sleeps: Sleeps) -> None:
    fake = FakeWooCommerce(PLAIN_SITE, auth="oauth1")
    with respx.mock(assert_all_called=False) as router:
        router.route(host="plain.example").mock(side_effect=fake)
        same = _plain_adapter(fake, sleeps, nonce=lambda: "always-the-same")
        same.lookup_customer(None, "ada@example.com")
        with pytest.raises(PlatformAuthError) as caught:
            same.lookup_customer(None, "ada@example.com")
        assert caught.value.platform_code == "woocommerce_rest_authentication_error" and "nonce" in caught.value.message
        late = WooCommerceAdapter(settings(url=PLAIN_SITE), sleep=sleeps, clock=lambda: NOW - 3600)
        with pytest.raises(PlatformAuthError) as caught:
            late.lookup_customer(None, "ada@example.com")
        assert "Invalid timestamp" in caught.value.message


def test_a_wrong_secret_fails_the_signature(sleeps: Sleeps) -> None:
    fake = FakeWooCommerce(PLAIN_SITE, auth="oauth1")
    with respx.mock(assert_all_called=False) as router:
        router.route(host="plain.example").mock(side_effect=fake)
        wrong = WooCommerceAdapter(
            settings(url=PLAIN_SITE, consumer_secret="cs_wrong"), sleep=sleeps, clock=lambda: NOW
        )
        with pytest.raises(PlatformAuthError) as caught:
            wrong.lookup_customer(None, "ada@example.com")
    assert "signature does not match" in caught.value.message


def test_basic_auth_over_https(woo: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    woo.lookup_customer(None, "ada@example.com")
    [request] = fake.requests
    assert request.url.scheme == "https" and "oauth_signature" not in request.url.params
    assert request.headers["authorization"].startswith("Basic ")


def test_query_string_auth_for_servers_that_strip_the_header(sleeps: Sleeps) -> None:
    fake = FakeWooCommerce(auth="query")
    with respx.mock(assert_all_called=False) as router:
        router.route(host="shop.example").mock(side_effect=fake)
        found = WooCommerceAdapter(settings(auth="query"), sleep=sleeps).lookup_customer(None, "ada@example.com")
    assert found is not None
    assert (
        "authorization" not in fake.requests[0].headers and fake.requests[0].url.params["consumer_key"] == CONSUMER_KEY
    )


def test_logs_do_not_show_credentials(sleeps: Sleeps, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeWooCommerce(PLAIN_SITE, auth="oauth1")
    fake.answers = [error(503, "x", "down")]
    with respx.mock(assert_all_called=False) as router, caplog.at_level(logging.DEBUG, logger="o2o_sdk.http"):
        router.route(host="plain.example").mock(side_effect=fake)
        _plain_adapter(fake, sleeps).lookup_customer(None, "ada@example.com")
    assert caplog.records and CONSUMER_SECRET not in caplog.text and CONSUMER_KEY not in caplog.text


# ------------------------------------------------------------------ errors


def test_error_bodies_become_typed_errors_with_the_platform_code(
    woo: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    with pytest.raises(PlatformNotFound) as caught:
        woo.rest.get("/coupons/424242")
    err = caught.value
    assert (err.status, err.platform_code, err.platform) == (
        404,
        "woocommerce_rest_shop_coupon_invalid_id",
        "woocommerce",
    )
    assert "Invalid ID." in err.message and "GET /coupons/424242" in err.message
    fake.answers = [error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")]
    with pytest.raises(PlatformAuthError) as caught_auth:
        woo.rest.get("/customers", {"email": "a@b.c"})
    assert caught_auth.value.platform_code == "woocommerce_rest_cannot_view"
    fake.answers = [error(400, "rest_invalid_param", "Invalid parameter(s): per_page")]
    with pytest.raises(PlatformBadRequest) as caught_bad:
        woo.rest.get("/customers", {"email": "a@b.c"})
    assert caught_bad.value.platform_code == "rest_invalid_param" and "per_page" in caught_bad.value.message


def test_an_answer_that_is_not_json_is_a_platform_error(woo: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    fake.answers = [httpx.Response(200, text="<html>maintenance</html>")]
    with pytest.raises(PlatformError) as caught:
        woo.rest.get("/customers", {"email": "a@b.c"})
    assert caught.value.code == "platform_bad_answer"
    fake.answers = [httpx.Response(502, text="<html>Bad gateway</html>")] * 3
    with pytest.raises(PlatformServerError) as caught_502:
        woo.rest.get("/customers", {"email": "a@b.c"})
    assert caught_502.value.platform_code is None


# ------------------------------------------------------------------ throttling and retries


def test_429_waits_for_retry_after(woo: WooCommerceAdapter, fake: FakeWooCommerce, sleeps: Sleeps) -> None:
    fake.answers = [httpx.Response(429, headers={"Retry-After": "3"}, text="Too Many Requests")]
    assert woo.lookup_customer(None, "ada@example.com") is not None
    assert sleeps == [3.0] and len(fake.requests) == 2


def test_429_until_the_retries_run_out(woo: WooCommerceAdapter, fake: FakeWooCommerce, sleeps: Sleeps) -> None:
    fake.answers = [error(429, "too_many_requests", "Slow down.")] * 3
    with pytest.raises(PlatformRateLimited) as caught:
        woo.lookup_customer(None, "ada@example.com")
    assert caught.value.platform_code == "too_many_requests" and len(fake.requests) == 3 and len(sleeps) == 2


def test_5xx_is_retried_with_backoff_for_reads(woo: WooCommerceAdapter, fake: FakeWooCommerce, sleeps: Sleeps) -> None:
    fake.answers = [error(500, "internal_server_error", "Boom"), error(503, "x", "down")]
    assert woo.lookup_customer(None, "ada@example.com") is not None
    assert len(fake.requests) == 3 and len(sleeps) == 2 and 0 < sleeps[0] <= 0.5 and sleeps[1] <= 1.0


def test_a_failed_note_is_not_posted_twice(woo: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    fake.orders = [order_payload(1001)]
    fake.answers = [error(503, "x", "down")]
    with pytest.raises(PlatformServerError):
        woo.rest.call("POST", "/orders/1001/notes", json_body={"note": "hello"})
    assert len(fake.calls("POST", "/orders/1001/notes")) == 1  # a POST without idempotency is never retried


# ------------------------------------------------------------------ pagination


def test_orders_are_read_across_three_pages_of_100(woo: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    fake.orders = [order_payload(n) for n in range(1, 251)]
    got = [o["id"] for o in woo.iter_orders()]
    assert got == list(range(1, 251))
    pages = fake.calls("GET", "/orders")
    assert [(r.url.params["page"], r.url.params["per_page"]) for r in pages] == [
        ("1", "100"),
        ("2", "100"),
        ("3", "100"),
    ]
    assert all(r.url.params["order"] == "asc" for r in pages)


def test_paging_stops_at_the_total_pages(woo: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    fake.orders = [order_payload(n) for n in range(1, 201)]  # exactly two full pages: no third request
    assert len(list(woo.iter_orders())) == 200 and len(fake.calls("GET", "/orders")) == 2


def test_per_page_is_at_most_100(woo: WooCommerceAdapter) -> None:
    with pytest.raises(InvalidInput):
        list(woo.iter_orders(per_page=101))
    with pytest.raises(InvalidInput):
        list(woo.iter_orders(per_page=0))


def test_orders_after_a_time_are_asked_in_gmt(woo: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    from datetime import datetime, timedelta, timezone

    list(woo.iter_orders(after=datetime(2026, 6, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))), status="completed"))
    params = fake.calls("GET", "/orders")[0].url.params
    assert (params["after"], params["dates_are_gmt"], params["status"]) == ("2026-06-01T00:00:00", "true", "completed")
    with pytest.raises(InvalidInput):
        list(woo.iter_orders(after=datetime(2026, 6, 1)))
