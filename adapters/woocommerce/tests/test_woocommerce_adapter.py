"""The WooCommerce adapter against the fake site: coupons (kinds, limits, refusals, duplicate
codes), usage, customers, importing orders, webhook subscriptions, and pickups told to the order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from o2o_woocommerce import WooCommerceAdapter
from woo_fake import (
    FakeWooCommerce,
    Sleeps,
    delivery,
    error,
    fake,
    meta,
    order_payload,
    pickup_location_line,
    schema_errors,
    settings,
    sleeps,
    woo,
)

from o2o_sdk import Caps, Discount, EventType, InvalidInput, Money, OfferMirror, PickupState, Store
from o2o_sdk.http import PlatformNotFound, PlatformServerError

__all__ = ["fake", "sleeps", "woo"]  # fixtures used by name


def posted(fake: FakeWooCommerce, path: str) -> list[dict]:
    return [json.loads(r.content) for r in fake.calls("POST", path)]


# ------------------------------------------------------------------ coupons


def test_percent_offer_becomes_a_percent_coupon(o2o_make_sdk, woo: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("Summer 12.5%", Discount.percent_off("12.5"), caps=Caps(total=500, per_customer=2),
                              ends_at=datetime(2026, 8, 31, 22, 0, tzinfo=UTC), id="off_summer")  # fmt: skip
    mirror = sdk.adapters.mirror_offer("woocommerce", offer.id, "SUMMER125")
    [body] = posted(fake, "/coupons")
    assert body == {
        "code": "SUMMER125", "description": "Summer 12.5%", "individual_use": True,
        "meta_data": [{"key": "_o2o_offer_id", "value": "off_summer"}],
        "discount_type": "percent", "amount": "12.5", "date_expires_gmt": "2026-08-31T22:00:00",
        "usage_limit": 500, "usage_limit_per_user": 2,
    }  # fmt: skip
    assert (mirror.code, mirror.discount_id) == ("summer125", "901")  # WooCommerce keeps codes in lower case
    assert fake.calls("GET", "/data/currencies/current") == []  # a percentage needs no currency


def test_amount_offer_becomes_a_fixed_cart_coupon_in_the_shops_currency(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("5 off", Discount.amount_off(Money(500, "EUR")), min_basket=Money(2500, "EUR"),
                              ends_at=datetime(2026, 7, 1, 23, 59), metadata={"email_restrictions": ["ada@example.com"]})  # fmt: skip
    sdk.adapters.mirror_offer("woocommerce", offer.id, "FIVE")
    [body] = posted(fake, "/coupons")
    assert (body["discount_type"], body["amount"], body["minimum_amount"]) == ("fixed_cart", "5.00", "25.00")
    assert (
        body["date_expires"] == "2026-07-01T23:59:00" and "date_expires_gmt" not in body
    )  # store-local: the site's zone
    assert body["email_restrictions"] == ["ada@example.com"]
    # the currency was asked once, and is remembered
    sdk.adapters.mirror_offer(
        "woocommerce", sdk.offers.create("6 off", Discount.amount_off(Money(600, "EUR"))).id, "SIX"
    )
    assert len(fake.calls("GET", "/data/currencies/current")) == 1


def test_an_offer_in_another_currency_is_refused(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("5 off", Discount.amount_off(Money(500, "GBP")))
    with pytest.raises(InvalidInput) as caught:
        sdk.adapters.mirror_offer("woocommerce", offer.id, "FIVE")
    assert caught.value.code == "currency_mismatch" and "EUR" in caught.value.message
    assert fake.calls("POST", "/coupons") == []


def test_a_free_item_is_100_percent_off_one_unit_of_that_product(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("Free mug", Discount.free_item("MUG-BLUE"))
    sdk.adapters.mirror_offer("woocommerce", offer.id, "FREEMUG")
    [body] = posted(fake, "/coupons")
    assert (body["discount_type"], body["amount"], body["product_ids"], body["limit_usage_to_x_items"]) == (
        "percent",
        "100",
        [31],
        1,
    )
    assert fake.calls("GET", "/products")[0].url.params["sku"] == "MUG-BLUE"


def test_a_free_item_by_product_id_from_metadata(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("Free cup", Discount.free_item("CUP"), metadata={"woocommerce_product_id": "88"})
    sdk.adapters.mirror_offer("woocommerce", offer.id, "FREECUP")
    assert posted(fake, "/coupons")[0]["product_ids"] == [88] and fake.calls("GET", "/products") == []


def test_a_free_item_without_a_product_is_refused(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("Free unicorn", Discount.free_item("UNICORN"))
    with pytest.raises(InvalidInput) as caught:
        sdk.adapters.mirror_offer("woocommerce", offer.id, "UNICORN")
    assert caught.value.code == "unsupported_discount" and "product id" in caught.value.message


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"caps": Caps(budget=Money(10000, "EUR"))}, "budget"),
    ({"requires_checkin": True}, "check-in"),
    ({"starts_at": datetime(2026, 7, 1, tzinfo=UTC)}, "no start date"),
    ({"starts_at": datetime(2026, 6, 15, 23, 0)}, "no start date"),  # naive: read in the site's zone (UTC here)
])  # fmt: skip
def test_what_a_coupon_cannot_honour_is_refused(o2o_make_sdk, woo, fake, kwargs, says: str) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("Limited", Discount.percent_off(10), **kwargs)
    with pytest.raises(InvalidInput) as caught:
        sdk.adapters.mirror_offer("woocommerce", offer.id, "LIMITED")
    assert caught.value.code == "unsupported_discount" and says in caught.value.message
    assert fake.calls("POST", "/coupons") == []


def test_an_offer_that_has_started_is_mirrored(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("Started", Discount.percent_off(10), starts_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert sdk.adapters.mirror_offer("woocommerce", offer.id, "STARTED").discount_id


def test_bad_email_restrictions_are_refused(o2o_make_sdk, woo) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("VIP", Discount.percent_off(10), metadata={"email_restrictions": "ada@example.com, bob"})
    with pytest.raises(InvalidInput) as caught:
        sdk.adapters.mirror_offer("woocommerce", offer.id, "VIP")
    assert "'bob'" in caught.value.message


def test_a_retried_mirror_finds_the_coupon_it_created(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("Retry", Discount.percent_off(10), id="off_retry")
    first = woo.mirror_offer(sdk, offer, "RETRY10")  # the answer was lost: the SDK stored nothing
    again = woo.mirror_offer(sdk, offer, "RETRY10")
    assert again.discount_id == first.discount_id and len(fake.coupons) == 1
    assert len(fake.calls("POST", "/coupons")) == 2  # the second create was refused as a duplicate code, then looked up
    assert fake.calls("GET", "/coupons")[0].url.params["code"] == "RETRY10"
    assert again.usage_count == fake.usage


def test_a_create_that_failed_with_5xx_is_retried_safely(o2o_make_sdk, woo, fake, sleeps: Sleeps) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("Flaky", Discount.percent_off(10), id="off_flaky")

    def created_then_failed(request):  # WooCommerce made the coupon, then the proxy answered 502
        fake._coupon(json.loads(request.content))
        return error(502, "bad_gateway", "Bad gateway")

    fake.answers = [created_then_failed]
    mirror = sdk.adapters.mirror_offer("woocommerce", offer.id, "FLAKY")
    assert len(fake.coupons) == 1 and mirror.discount_id == str(next(iter(fake.coupons)))
    assert len(fake.calls("POST", "/coupons")) == 2 and len(sleeps) == 1


def test_a_code_that_mirrors_another_offer_is_refused(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    fake._coupon(
        {
            "code": "TAKEN",
            "amount": "10",
            "discount_type": "percent",
            "meta_data": [{"key": "_o2o_offer_id", "value": "off_other"}],
        }
    )
    offer = sdk.offers.create("Mine", Discount.percent_off(10))
    with pytest.raises(InvalidInput) as caught:
        sdk.adapters.mirror_offer("woocommerce", offer.id, "TAKEN")
    assert caught.value.code == "code_taken" and "off_other" in caught.value.message


def test_a_merchants_coupon_with_the_code_is_adopted(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    made = fake._coupon({"code": "welcome", "amount": "10", "discount_type": "percent"})
    offer = sdk.offers.create("Welcome", Discount.percent_off(10))
    assert sdk.adapters.mirror_offer("woocommerce", offer.id, "WELCOME").discount_id == str(made["id"])


def test_other_refusals_are_raised(o2o_make_sdk, woo, fake) -> None:
    from o2o_sdk.http import PlatformBadRequest

    sdk = o2o_make_sdk(plugins=[woo])
    fake.answers = [error(400, "rest_invalid_param", "Invalid parameter(s): amount")]
    offer = sdk.offers.create("Bad", Discount.percent_off(10))
    with pytest.raises(PlatformBadRequest) as caught:
        sdk.adapters.mirror_offer("woocommerce", offer.id, "BAD")
    assert caught.value.platform_code == "rest_invalid_param"
    assert sdk.adapters.mirrors("woocommerce") == []


def test_usage_is_read_from_usage_count(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    offer = sdk.offers.create("Used", Discount.percent_off(10))
    sdk.adapters.mirror_offer("woocommerce", offer.id, "USED")
    fake.usage = 17
    [synced] = sdk.adapters.sync_usage("woocommerce", offer.id)
    assert synced.usage_count == 17
    gone = OfferMirror(offer.id, "woocommerce", "424242", "GONE", sdk.clock.now())
    with pytest.raises(PlatformNotFound) as caught:
        woo.discount_usage(sdk, gone)
    assert caught.value.platform_code == "woocommerce_rest_shop_coupon_invalid_id"


# ------------------------------------------------------------------ customers


def test_customer_lookup_by_email(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    found = sdk.adapters.lookup_customer("woocommerce", "ada@EXAMPLE.com")
    assert found is not None and (found.id, found.email, found.first_name, found.last_name) == (
        "77",
        "Ada@Example.com",
        "Ada",
        "Byron",
    )
    request = fake.calls("GET", "/customers")[0]
    assert (request.url.params["email"], request.url.params["role"]) == ("ada@EXAMPLE.com", "all")
    assert sdk.adapters.lookup_customer("woocommerce", "nobody@example.com") is None


# ------------------------------------------------------------------ orders


def test_import_orders_records_sales_once(o2o_make_sdk, woo, fake) -> None:
    sdk = o2o_make_sdk(plugins=[woo])
    sdk.stores.add(Store("soho", "Soho", "Europe/London", 51.5, -0.13))
    fake.orders = [order_payload(n) for n in range(1, 6)]
    fake.orders += [
        order_payload(6, status="pending"),
        order_payload(7, created_via="pos-rest-api", meta_data=[meta("_o2o_store_id", "soho")]),
    ]
    report = woo.import_orders(sdk)
    assert (report.seen, report.recorded, report.duplicates, report.skipped) == (7, 6, 0, 1)
    assert woo.import_orders(sdk).duplicates == 6
    assert sdk.orders.get("woocommerce", "7").store_id == "soho"
    assert len(sdk.journal.read(types=[EventType.ORDER_IN_STORE])) == 1


def test_subscribe_webhooks_creates_each_topic_once(woo, fake) -> None:
    url = "https://o2o.example/webhooks/woocommerce"
    assert [(t, created) for t, _, created in woo.subscribe_webhooks(url)] == [
        ("order.created", True),
        ("order.deleted", True),
        ("order.updated", True),
    ]
    assert [(t, created) for t, _, created in woo.subscribe_webhooks(url)] == [
        ("order.created", False),
        ("order.deleted", False),
        ("order.updated", False),
    ]
    bodies = posted(fake, "/webhooks")
    assert [b["topic"] for b in bodies] == ["order.created", "order.deleted", "order.updated"]
    assert all(b["secret"] == "whsec-newest-0123456789" and b["delivery_url"] == url for b in bodies)


def test_subscribe_webhooks_needs_a_secret(fake) -> None:
    adapter = WooCommerceAdapter(settings(webhook_secrets=()))
    with pytest.raises(InvalidInput) as caught:
        adapter.subscribe_webhooks("https://o2o.example/webhooks/woocommerce")
    assert caught.value.code == "webhook_secret_missing"


# ------------------------------------------------------------------ pickups


@pytest.fixture
def pickup_sdk(o2o_make_sdk, woo, fake):
    sdk = o2o_make_sdk(plugins=[woo])
    sdk.stores.add(Store("soho", "Soho", "Europe/London", 51.514, -0.132, external_ids={"woocommerce": "Soho shop"}))
    payload = order_payload(1300, shipping_lines=[pickup_location_line("Soho shop")])
    fake.orders = [payload]
    [result] = sdk.adapters.handle_webhook("woocommerce", *_parts(delivery(payload, delivery_id="dlv-1300")))
    assert result.pickup is not None
    return sdk, result.pickup


def _parts(request):
    return request.headers, request.body, request.url


def notes(fake, order_id=1300):
    return [n["note"] for n in fake.notes.get(order_id, [])]


def test_ready_adds_a_private_note(pickup_sdk, fake) -> None:
    sdk, pickup = pickup_sdk
    sdk.pickups.accept(pickup.id)
    assert (
        fake.calls("POST", "/orders/1300/notes") == [] and fake.calls("PUT", "/orders/1300") == []
    )  # accepted: not told
    sdk.pickups.ready(pickup.id, deadline=sdk.clock.now() + timedelta(days=2))
    [note] = notes(fake)
    assert note.startswith("Ready for pickup at Soho; to be collected by 2026-06-17T12:00:00+00:00.")
    assert f"[o2o pickup {pickup.id} ready]" in note
    assert posted(fake, "/orders/1300/notes")[0]["customer_note"] is False
    assert fake.orders[0]["status"] == "processing"  # WooCommerce has no "ready" status


def test_handover_completes_the_order(pickup_sdk, fake) -> None:
    sdk, pickup = pickup_sdk
    sdk.pickups.ready(pickup.id)
    sdk.pickups.handover(pickup.id, store_id="soho")
    [put] = fake.calls("PUT", "/orders/1300")
    assert json.loads(put.content) == {"status": "completed"} and fake.orders[0]["status"] == "completed"


def test_cancel_says_why_then_cancels_the_order(pickup_sdk, fake) -> None:
    sdk, pickup = pickup_sdk
    sdk.pickups.cancel(pickup.id, reason="out of stock")
    assert notes(fake) == [f"Pickup cancelled: out of stock. [o2o pickup {pickup.id} cancelled]"]
    assert fake.orders[0]["status"] == "cancelled"
    assert [r.method for r in fake.requests[-3:]] == ["GET", "POST", "PUT"]  # notes looked up, note added, status set


def test_released_orders_are_cancelled_with_a_note(pickup_sdk, fake) -> None:
    sdk, pickup = pickup_sdk
    sdk.pickups.ready(pickup.id, deadline=sdk.clock.now() + timedelta(hours=1))
    sdk.clock.advance(timedelta(hours=2))
    [released] = sdk.pickups.release_due()
    assert released.id == pickup.id
    assert (
        notes(fake)[-1].startswith("Released, not collected:")
        and f"[o2o pickup {pickup.id} released]" in notes(fake)[-1]
    )
    assert fake.orders[0]["status"] == "cancelled"


def test_telling_twice_changes_nothing(pickup_sdk, woo, fake) -> None:
    sdk, pickup = pickup_sdk
    cancelled = sdk.pickups.cancel(pickup.id, reason="customer asked")
    woo.pickup_changed(sdk, cancelled, pickup.state)  # a retry of the same transition
    assert len(notes(fake)) == 1 and len(fake.calls("POST", "/orders/1300/notes")) == 1
    assert fake.orders[0]["status"] == "cancelled"


def test_a_failed_call_is_journaled_and_a_retry_completes_it(pickup_sdk, woo, fake) -> None:
    sdk, pickup = pickup_sdk
    fake.answers = [error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")]
    done = sdk.pickups.cancel(pickup.id, reason="gone")
    [failed] = sdk.journal.read(types=[EventType.PICKUP_PLATFORM_FAILED])
    assert failed.data["error"] == "platform_not_found" and done.state.value == "cancelled"
    woo.pickup_changed(sdk, done, pickup.state)
    assert len(notes(fake)) == 1 and fake.orders[0]["status"] == "cancelled"


def test_a_5xx_on_the_status_is_retried(pickup_sdk, fake, sleeps: Sleeps) -> None:
    sdk, pickup = pickup_sdk
    sdk.pickups.ready(pickup.id)
    fake.answers = [error(503, "x", "down")]
    sdk.pickups.handover(pickup.id, store_id="soho")
    assert len(fake.calls("PUT", "/orders/1300")) == 2 and fake.orders[0]["status"] == "completed"


def test_a_5xx_on_a_note_is_not_retried(pickup_sdk, woo, fake) -> None:
    import attrs

    from o2o_sdk import PickupState

    sdk, pickup = pickup_sdk
    accepted = sdk.pickups.accept(pickup.id)
    fake.answers = [fake._route("GET", "/orders/1300/notes", {}, None), error(503, "x", "down")]
    with pytest.raises(PlatformServerError):
        woo.pickup_changed(sdk, attrs.evolve(accepted, state=PickupState.READY), accepted.state)
    assert len(fake.calls("POST", "/orders/1300/notes")) == 1  # a note without idempotency is never sent twice


# ------------------------------------------------------------------ orders cancelled on WooCommerce


def cancelled_on_woocommerce(sdk, fake, status: str = "cancelled", delivery_id: str = "dlv-1300-cancel"):
    """WooCommerce's ``order.updated`` delivery for the pickup order now in ``status``, through the adapter."""
    payload = {**fake.orders[0], "status": status}
    assert schema_errors("shop_order", payload) == []
    [result] = sdk.adapters.handle_webhook(
        "woocommerce", *_parts(delivery(payload, delivery_id=delivery_id, topic="order.updated"))
    )
    return result


@pytest.mark.parametrize("status", ["cancelled", "refunded", "failed"])
def test_an_order_cancelled_on_woocommerce_cancels_its_pickup_and_writes_nothing_back(pickup_sdk, fake, status) -> None:
    sdk, pickup = pickup_sdk
    sdk.pickups.ready(pickup.id)
    fake.requests.clear()
    result = cancelled_on_woocommerce(sdk, fake, status)
    assert result.order.cancelled and not result.recorded
    assert result.event is not None and result.event.type == EventType.ORDER_CANCELLED  # the recorded order, cancelled
    assert (result.pickup.id, result.pickup.state, result.pickup.reason) == (
        pickup.id, PickupState.CANCELLED, "cancelled_on_woocommerce"
    )  # fmt: skip
    assert fake.requests == [], "WooCommerce told us: no note, no status written back"
    [event] = sdk.journal.read(types=[EventType.PICKUP_CANCELLED])
    assert event.data["reason"] == "cancelled_on_woocommerce" and event.data["order_id"] == "1300"
    again = cancelled_on_woocommerce(sdk, fake, status)  # WooCommerce delivering it again
    assert again.pickup == result.pickup and fake.requests == [] and again.event is None
    assert len(sdk.journal.read(types=[EventType.PICKUP_CANCELLED])) == 1 and len(sdk.orders.list()) == 1


def test_our_own_cancel_coming_back_from_woocommerce_changes_nothing(pickup_sdk, fake) -> None:
    sdk, pickup = pickup_sdk
    mine = sdk.pickups.cancel(pickup.id, reason="out of stock")
    assert fake.orders[0]["status"] == "cancelled"  # the adapter set it: WooCommerce now sends order.updated
    written = len(fake.requests)
    echo = cancelled_on_woocommerce(sdk, fake)
    assert echo.pickup == mine and mine.reason == "out of stock"
    assert len(fake.requests) == written and len(notes(fake)) == 1, "no second note, no second status: no loop"
    assert len(sdk.journal.read(types=[EventType.PICKUP_CANCELLED])) == 1


def test_a_refund_after_the_handover_leaves_the_pickup_handed_over(pickup_sdk, fake) -> None:
    sdk, pickup = pickup_sdk
    sdk.pickups.ready(pickup.id)
    done = sdk.pickups.handover(pickup.id, store_id="soho")
    fake.requests.clear()
    result = cancelled_on_woocommerce(sdk, fake, "refunded")
    assert result.pickup == done and done.state is PickupState.HANDED_OVER and fake.requests == []
    assert sdk.journal.read(types=[EventType.PICKUP_CANCELLED]) == []


def test_a_backfill_cancels_the_pickups_of_cancelled_orders(pickup_sdk, woo, fake) -> None:
    sdk, pickup = pickup_sdk
    fake.orders = [{**fake.orders[0], "status": "cancelled"}, order_payload(1301, status="refunded")]
    fake.requests.clear()
    report = woo.import_orders(sdk)
    assert (report.seen, report.recorded, report.skipped) == (2, 0, 2)
    assert sdk.pickups.get(pickup.id).state is PickupState.CANCELLED
    assert [r.method for r in fake.requests] == ["GET"]  # the order list; nothing written back
