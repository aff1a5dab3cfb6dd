"""The Square adapter against a fake Square (respx): stores, inventory, discounts, usage, customers,
orders, pagination, throttling, retries and Square's error bodies."""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
import pytest
from o2o_square import SquareAdapter, SquareSettings, idempotency_key
from square_fake import (
    ACCESS_TOKEN,
    BASE,
    FakeSquare,
    Sleeps,
    Ticks,
    count,
    discount,
    fake,
    order,
    rate_limited,
    settings,
    sleeps,
    spec,
    square,
    ticks,
)

from o2o_sdk import Discount, GeoResult, InvalidInput, Money, OpeningHours, Store, hookimpl
from o2o_sdk.http import (
    PlatformAuthError,
    PlatformBadRequest,
    PlatformConnectionError,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformServerError,
    PlatformUnprocessable,
)

__all__ = ["fake", "sleeps", "spec", "square", "ticks"]  # fixtures used by name

GRANT_PARK, MIDTOWN = "18YC4JDH91E1H", "3Z4V4WHQK64X9"


# ------------------------------------------------------------------ stores


def test_active_locations_become_stores_with_hours_and_zones(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    report = sdk.stores.sync()
    assert report.upserted == 2 and report.rejected == ()
    assert fake.operations() == ["ListLocations"]
    grant, midtown = sdk.stores.get(f"square-{GRANT_PARK}"), sdk.stores.get(f"square-{MIDTOWN}")
    assert {s.id for s in sdk.stores.list()} == {grant.id, midtown.id}  # the inactive location is skipped
    assert grant.external_ids == {"square": GRANT_PARK} and grant.name == "Grant Park"
    assert (grant.latitude, grant.longitude, grant.timezone) == (37.7599, -122.4312, "America/Los_Angeles")
    assert grant.address == "123 Main St, San Francisco, CA, 94114, US" and grant.hours is None
    assert grant.attributes["postcode"] == "94114" and grant.attributes["city"] == "San Francisco"
    assert (midtown.latitude, midtown.longitude, midtown.timezone) == (33.7889, -84.3841, "America/New_York")
    assert midtown.hours is not None and midtown.hours.to_dict() == {
        "weekly": {"fri": ["07:00-18:00"], "sat": ["07:00-18:00"], "sun": ["09:00-15:00"]}}
    assert midtown.attributes["square_type"] == "PHYSICAL" and midtown.attributes["country"] == "US"
    # Sunday 2026-06-21 14:00 in Atlanta is 18:00 UTC: open there
    assert sdk.stores.get(midtown.id).hours.is_open(datetime.fromisoformat("2026-06-21T18:00:00+00:00"), midtown.timezone)
    assert sdk.stores.sync().upserted == 2 and len(sdk.stores.list()) == 2  # again: the same stores


def test_overnight_hours_survive_storage(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare) -> None:
    fake.locations[1]["business_hours"] = {"periods": [
        {"day_of_week": "FRI", "start_local_time": "18:00:00", "end_local_time": "02:00:00"},
        {"day_of_week": "SAT", "start_local_time": "10:00:00", "end_local_time": "10:00:00"}]}  # fmt: skip
    sdk = o2o_make_sdk(plugins=[square])
    sdk.stores.sync()
    hours = sdk.stores.get(f"square-{MIDTOWN}").hours
    assert hours.to_dict()["weekly"] == {"fri": ["18:00-02:00"], "sat": ["10:00-24:00"], "sun": ["00:00-10:00"]}
    open_late = sdk.stores.near(33.79, -84.38, k=5, open_at=datetime.fromisoformat("2026-06-20T05:30:00+00:00"))  # Sat 01:30 EDT
    assert [m.store.id for m in open_late] == [f"square-{MIDTOWN}"]


def test_sync_updates_an_existing_store_and_keeps_what_square_lacks(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    hours = OpeningHours.parse({"weekly": {"mon-sun": "08:00-20:00"}})
    sdk.stores.add(Store("sf", "Old name", "America/Los_Angeles", 37.0, -122.0, services=("pickup",), hours=hours,
                         external_ids={"square": GRANT_PARK, "shopify": "gid://shopify/Location/1"}))  # fmt: skip
    sdk.stores.sync()
    sf = sdk.stores.get("sf")
    assert sf.name == "Grant Park" and sf.hours == hours and sf.services == ("pickup",)  # Square has no hours for it
    assert (sf.latitude, sf.longitude) == (37.7599, -122.4312)
    assert sf.external_ids == {"square": GRANT_PARK, "shopify": "gid://shopify/Location/1"}
    assert {s.id for s in sdk.stores.list()} == {"sf", f"square-{MIDTOWN}"}


def test_unreadable_hours_are_logged_and_left_out(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare, caplog) -> None:
    fake.locations[1]["business_hours"] = {"periods": [{"day_of_week": "FRI", "start_local_time": "7am", "end_local_time": "18:00"}]}
    sdk = o2o_make_sdk(plugins=[square])
    with caplog.at_level(logging.WARNING, "o2o_square"):
        assert sdk.stores.sync().upserted == 2
    assert "business hours not imported" in caplog.text and sdk.stores.get(f"square-{MIDTOWN}").hours is None


def test_coordinates_from_settings_then_geocoder_else_skipped(o2o_make_sdk, fake: FakeSquare, caplog) -> None:
    import respx

    del fake.locations[0]["coordinates"]
    with respx.mock() as router:
        router.route(host="connect.squareup.com").mock(side_effect=fake)
        plain = SquareAdapter(settings())
        sdk = o2o_make_sdk(plugins=[plain])
        with caplog.at_level(logging.WARNING, "o2o_square"):
            assert sdk.stores.sync().upserted == 1
        assert "has no coordinates" in caplog.text

        class Geocoder:
            @hookimpl
            def o2o_geocode(self, sdk, query):
                return [GeoResult(37.76, -122.43, query, source="test")] if "94114" in query else None

        sdk.plugins.register(Geocoder())
        assert sdk.stores.sync().upserted == 2
        assert sdk.stores.get(f"square-{GRANT_PARK}").latitude == 37.76


def test_configured_coordinates_zone_and_store_id_win(o2o_make_sdk, fake: FakeSquare) -> None:
    import respx

    with respx.mock() as router:
        router.route(host="connect.squareup.com").mock(side_effect=fake)
        configured = SquareAdapter(settings(locations={GRANT_PARK: {"latitude": 1.5, "longitude": 2.5, "store_id": "gp",
                                                                    "timezone": "Europe/Paris"}}))  # fmt: skip
        sdk = o2o_make_sdk(plugins=[configured])
        assert sdk.stores.sync().upserted == 2
    gp = sdk.stores.get("gp")
    assert (gp.latitude, gp.longitude, gp.timezone, gp.external_ids) == (1.5, 2.5, "Europe/Paris", {"square": GRANT_PARK})


# ------------------------------------------------------------------ inventory


def _stores() -> list[Store]:
    return [Store("a", "A", "UTC", 0, 0, external_ids={"square": GRANT_PARK}),
            Store("b", "B", "UTC", 0, 1, external_ids={"square": MIDTOWN}),
            Store("c", "C", "UTC", 0, 2)]  # fmt: skip


def test_inventory_counts_in_stock_only_in_one_batch(square: SquareAdapter, fake: FakeSquare) -> None:
    fake.variations[2]["item_variation_data"]["sku"] = "tea-black-r"  # Square matches SKUs ignoring case: not ours
    answer = square.inventory(_stores(), ["TEA-BLACK-R", "TEA-BLACK-L", "NOPE"])
    assert answer == {"a": {"TEA-BLACK-L": 0, "TEA-BLACK-R": 3, "NOPE": 0},
                      "b": {"TEA-BLACK-L": 7, "TEA-BLACK-R": 0, "NOPE": 0}}  # fmt: skip (the SOLD 2 are not stock)
    assert fake.operations() == ["SearchCatalogObjects", "BatchRetrieveInventoryCounts"]
    [search] = fake.bodies("SearchCatalogObjects")
    assert search["query"]["set_query"] == {"attribute_name": "sku", "attribute_values": ["NOPE", "TEA-BLACK-L", "TEA-BLACK-R"]}
    [counts] = fake.bodies("BatchRetrieveInventoryCounts")
    assert counts["states"] == ["IN_STOCK"] and counts["location_ids"] == sorted([GRANT_PARK, MIDTOWN])
    assert sorted(counts["catalog_object_ids"]) == sorted(v["id"] for v in fake.variations[:2])


def test_decimal_and_negative_quantities(square: SquareAdapter, fake: FakeSquare) -> None:
    fake.variations[2]["item_variation_data"]["sku"] = "GREEN"
    assert square.inventory(_stores()[:2], ["GREEN"]) == {"a": {"GREEN": 2}, "b": {"GREEN": 0}}  # 2.5 -> 2, -1 -> 0


def test_inventory_follows_cursors(square: SquareAdapter, fake: FakeSquare) -> None:
    fake.page_size = 1
    fake.counts.append(count(fake.spec, fake.variations[0]["id"], MIDTOWN, "4"))
    answer = square.inventory(_stores(), ["TEA-BLACK-R", "TEA-BLACK-L"])
    assert answer is not None and answer["a"]["TEA-BLACK-R"] == 3 and answer["b"] == {"TEA-BLACK-R": 4, "TEA-BLACK-L": 7}
    pages = fake.bodies("BatchRetrieveInventoryCounts")
    assert [p.get("cursor") for p in pages] == [None, "1", "2", "3"]
    assert [p.get("cursor") for p in fake.bodies("SearchCatalogObjects")] == [None, "1"]  # one variation a page


def test_catalog_search_is_paged_and_cached(square: SquareAdapter, fake: FakeSquare, ticks: Ticks) -> None:
    fake.page_size = 1
    square.variations(["TEA-BLACK-R", "TEA-BLACK-L"])
    assert [b.get("cursor") for b in fake.bodies("SearchCatalogObjects")] == [None, "1"]
    before = len(fake.requests)
    assert square.variations(["TEA-BLACK-L", "TEA-BLACK-R"]) == {"TEA-BLACK-L": (fake.variations[1]["id"],),
                                                                 "TEA-BLACK-R": (fake.variations[0]["id"],)}  # fmt: skip
    assert len(fake.requests) == before  # cached
    ticks.now += square.settings.catalog_cache_seconds + 1
    square.variations(["TEA-BLACK-L"])
    assert len(fake.requests) == before + 1  # stale: asked again


def test_skus_are_searched_in_batches(fake: FakeSquare, sleeps: Sleeps) -> None:
    import respx

    with respx.mock() as router:
        router.route(host="connect.squareup.com").mock(side_effect=fake)
        adapter = SquareAdapter(settings(sku_batch=2), sleep=sleeps)
        adapter.inventory(_stores(), ["A", "B", "C", "D", "E"])
    assert [b["query"]["set_query"]["attribute_values"] for b in fake.bodies("SearchCatalogObjects")] == [["A", "B"], ["C", "D"], ["E"]]
    assert "BatchRetrieveInventoryCounts" not in fake.operations()  # none exists: nothing to count


def test_inventory_without_square_stores_asks_nothing(square: SquareAdapter, fake: FakeSquare) -> None:
    assert square.inventory([Store("c", "C", "UTC", 0, 2)], ["TEA-BLACK-R"]) is None
    assert square.inventory(_stores(), []) is None
    assert fake.requests == []


# ------------------------------------------------------------------ discounts


def test_mirror_creates_a_discount_staff_pick_by_name(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    offer = sdk.offers.create("Summer", Discount.percent_off(20), metadata={"code": "SUMMER20"})
    mirror = sdk.adapters.mirror_offer("square", offer.id)
    assert fake.operations() == ["SearchCatalogObjects", "BatchUpsertCatalogObjects"]
    [upsert] = fake.bodies("BatchUpsertCatalogObjects")
    assert upsert["idempotency_key"] == idempotency_key("mirror", offer.id, "SUMMER20", "manual")
    [obj] = upsert["batches"][0]["objects"]
    assert obj["discount_data"] == {"name": "SUMMER20", "discount_type": "FIXED_PERCENTAGE", "percentage": "20", "pin_required": False}
    assert mirror.code == "SUMMER20" and fake.catalog[mirror.discount_id]["type"] == "DISCOUNT"


def test_automatic_mirror_carries_the_window_in_a_pricing_rule(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    sdk.stores.add(Store("atl", "Atlanta", "America/New_York", 33.7, -84.4, external_ids={"square": MIDTOWN}))
    offer = sdk.offers.create("Weekend", Discount.amount_off(Money(500, "USD")), starts_at=datetime(2026, 6, 20, 9, 0),
                              ends_at=datetime(2026, 6, 21, 18, 0), stores=["atl"], min_basket=Money(2000, "USD"),
                              metadata={"square_automatic": True})  # fmt: skip
    mirror = sdk.adapters.mirror_offer("square", offer.id)
    objects = {o["type"]: o for o in fake.catalog.values()}
    rule = objects["PRICING_RULE"]["pricing_rule_data"]
    assert rule["discount_id"] == mirror.discount_id and rule["match_products_id"] == objects["PRODUCT_SET"]["id"]
    assert (rule["valid_from_date"], rule["valid_from_local_time"], rule["valid_until_date"], rule["valid_until_local_time"]) == (
        "2026-06-20", "09:00:00", "2026-06-21", "18:00:00")
    assert rule["minimum_order_subtotal_money"] == {"amount": 2000, "currency": "USD"}
    assert all(o["present_at_location_ids"] == [MIDTOWN] and o["present_at_all_locations"] is False for o in objects.values())
    assert objects["DISCOUNT"]["discount_data"]["amount_money"] == {"amount": 500, "currency": "USD"}


def test_an_offer_for_stores_outside_square_cannot_be_mirrored(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    sdk.stores.add(Store("elsewhere", "Elsewhere", "UTC", 0, 0))
    offer = sdk.offers.create("Local", Discount.percent_off(5), stores=["elsewhere"])
    with pytest.raises(InvalidInput) as caught:
        sdk.adapters.mirror_offer("square", offer.id)
    assert caught.value.code == "no_square_locations" and "BatchUpsertCatalogObjects" not in fake.operations()


def test_an_existing_discount_of_that_name_is_adopted(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    fake.catalog["PARTIAL"] = {"type": "DISCOUNT", "id": "PARTIAL", "discount_data": {"name": "RACE TWO"}}  # partial match: not it
    fake.catalog["EXISTING"] = {"type": "DISCOUNT", "id": "EXISTING", "discount_data": {"name": "race"}}
    offer = sdk.offers.create("Race", Discount.percent_off(20), metadata={"code": "RACE"})
    assert sdk.adapters.mirror_offer("square", offer.id).discount_id == "EXISTING"
    assert fake.operations() == ["SearchCatalogObjects"]


def test_a_retried_mirror_sends_the_same_idempotency_key(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare, sleeps) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    offer = sdk.offers.create("Lost", Discount.percent_off(10), id="off_lost")

    def applied_but_lost(request: httpx.Request) -> httpx.Response:
        fake(request)  # Square creates the discount ...
        return httpx.Response(503)  # ... and the answer is lost

    fake.answers += [httpx.Response(200, json={}), applied_but_lost]  # the search, then the upsert
    mirror = sdk.adapters.mirror_offer("square", offer.id)
    keys = {b["idempotency_key"] for b in fake.bodies("BatchUpsertCatalogObjects")}
    assert len(fake.bodies("BatchUpsertCatalogObjects")) == 3 and len(keys) == 1 and len(sleeps) == 1  # retried with the same key
    [created] = [o for o in fake.catalog.values() if o["type"] == "DISCOUNT"]  # Square replayed: one discount
    assert mirror.discount_id == created["id"] and mirror.code == "OFFLOST"


def test_catalog_errors_are_typed_with_squares_detail(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    offer = sdk.offers.create("Bad", Discount.amount_off(Money(500, "EUR")))
    fake.answers += [httpx.Response(200, json={}), fake.error("BatchUpsertCatalogObjectsResponse", 400, "CURRENCY_MISMATCH",
                                                              "The discount currency must be USD.", field="amount_money")]  # fmt: skip
    with pytest.raises(PlatformBadRequest) as caught:
        sdk.adapters.mirror_offer("square", offer.id)
    error = caught.value
    assert (error.status, error.platform_code, error.platform, error.request_id) == (400, "CURRENCY_MISMATCH", "square", "req-currency_mismatch")
    assert "CURRENCY_MISMATCH: The discount currency must be USD. (field amount_money)" in error.message
    assert sdk.adapters.mirrors() == []


def test_usage_counts_completed_orders_using_the_discount(o2o_make_sdk, square, fake, o2o_clock) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    offer = sdk.offers.create("Usage", Discount.percent_off(20))
    fake.usage = 5
    fake.page_size = 2
    mirror = sdk.adapters.mirror_offer("square", offer.id)
    o2o_clock.advance(minutes=5)
    [synced] = sdk.adapters.sync_usage("square")
    assert synced.usage_count == 5 and sdk.adapters.mirror("square", offer.id).synced_at == o2o_clock.now()
    searches = fake.bodies("SearchOrders")
    assert [s.get("cursor") for s in searches] == [None, "2", "4"]  # 5 used + 1 other completed, 2 a page (the open one is not asked for)
    flt = searches[0]["query"]["filter"]
    assert flt["state_filter"] == {"states": ["COMPLETED"]} and flt["date_time_filter"]["created_at"]["start_at"] == "2026-06-14T12:00:00Z"
    assert searches[0]["query"]["sort"]["sort_field"] == "CREATED_AT" and mirror.discount_id


def test_usage_searches_ten_locations_at_a_time(o2o_make_sdk, square, fake) -> None:
    template = fake.locations[1]
    fake.locations = [{**template, "id": f"LOC{n:02d}"} for n in range(12)]
    sdk = o2o_make_sdk(plugins=[square])
    mirror = sdk.adapters.mirror_offer("square", sdk.offers.create("Many", Discount.percent_off(5)).id)
    assert sdk.adapters.sync_usage("square")[0].usage_count == fake.usage
    assert [len(b["location_ids"]) for b in fake.bodies("SearchOrders")] == [10, 2]
    assert mirror.discount_id


# ------------------------------------------------------------------ customers and orders


def test_customer_lookup_by_exact_email(o2o_make_sdk, square: SquareAdapter, fake: FakeSquare) -> None:
    sdk = o2o_make_sdk(plugins=[square])
    found = sdk.adapters.lookup_customer("square", "ada@example.com")
    assert found is not None and (found.id, found.email, found.first_name, found.last_name) == (
        "JDKYHBWT1D4F8MFH63DBMEN8Y4", "Ada@Example.com", "Ada", "Lovelace")
    assert found.data["reference_id"] == "YOUR_REFERENCE_ID_2"
    assert fake.bodies("SearchCustomers")[0]["query"] == {"filter": {"email_address": {"exact": "ada@example.com"}}}
    assert sdk.adapters.lookup_customer("square", "nobody@example.com") is None


def test_orders_one_or_many(square: SquareAdapter, fake: FakeSquare) -> None:
    for n in range(3):
        fake.orders[f"O{n}"] = order(fake.spec, f"O{n}", location_id=MIDTOWN, discounts=[discount("X")])
    assert square.retrieve_order("O1")["id"] == "O1"
    assert [o["id"] for o in square.retrieve_orders(["O0", "O2", "O0", "MISSING"])] == ["O0", "O2"]
    assert fake.bodies("BatchRetrieveOrders") == [{"order_ids": ["O0", "O2", "MISSING"]}]
    with pytest.raises(PlatformNotFound) as caught:
        square.retrieve_order("MISSING")
    assert caught.value.platform_code == "NOT_FOUND" and "Order MISSING not found" in caught.value.message


# ------------------------------------------------------------------ throttling, retries, errors


def test_rate_limits_wait_for_retry_after_then_succeed(square: SquareAdapter, fake: FakeSquare, sleeps: Sleeps) -> None:
    fake.answers += [rate_limited("2.5"), rate_limited(None)]
    assert len(square.list_locations()) == 3
    assert sleeps[0] == 2.5 and 0 < sleeps[1] <= 1.0 and len(sleeps) == 2  # then exponential backoff


def test_rate_limits_give_up_with_a_typed_error(square: SquareAdapter, fake: FakeSquare, sleeps: Sleeps) -> None:
    fake.answers += [rate_limited("1") for _ in range(10)]
    with pytest.raises(PlatformRateLimited) as caught:
        square.lookup_customer(None, "ada@example.com")  # type: ignore[arg-type]
    assert caught.value.platform_code == "RATE_LIMITED" and caught.value.retry_after == 1.0
    assert len(sleeps) == square.settings.max_retries == 3 and len(fake.requests) == 4


def test_writes_are_retried_because_they_carry_idempotency_keys(o2o_make_sdk, square, fake, sleeps) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("reset", request=request)

    sdk = o2o_make_sdk(plugins=[square])
    offer = sdk.offers.create("Retry", Discount.percent_off(10))
    fake.answers += [httpx.Response(200, json={}), refuse, rate_limited("0.5")]
    assert sdk.adapters.mirror_offer("square", offer.id).discount_id
    assert fake.operations().count("BatchUpsertCatalogObjects") == 3 and len(sleeps) == 2


def test_server_errors_give_up_after_the_retries(square: SquareAdapter, fake: FakeSquare) -> None:
    fake.answers += [httpx.Response(502, headers={"X-Request-Id": f"r{i}"}) for i in range(4)]
    with pytest.raises(PlatformServerError) as caught:
        square.list_locations()
    assert caught.value.status == 502 and caught.value.request_id == "r3"


def test_a_version_conflict_is_not_retried(square: SquareAdapter, fake: FakeSquare, sleeps: Sleeps) -> None:
    fake.answers.append(fake.error("UpdateOrderResponse", 409, "CONFLICT", "The order version does not match."))
    with pytest.raises(PlatformError) as caught:
        square.client.put("/v2/orders/O1", {"idempotency_key": "k", "order": {"location_id": "L", "version": 1}})
    assert caught.value.status == 409 and sleeps == []


def test_authentication_errors_are_typed(square: SquareAdapter, fake: FakeSquare) -> None:
    fake.answers.append(fake.error("ListLocationsResponse", 401, "UNAUTHORIZED", "This request could not be authorized.",
                                   category="AUTHENTICATION_ERROR"))  # fmt: skip
    with pytest.raises(PlatformAuthError) as caught:
        square.list_locations()
    assert "UNAUTHORIZED: This request could not be authorized." in str(caught.value)


def test_errors_in_a_2xx_answer_are_raised(square: SquareAdapter, fake: FakeSquare) -> None:
    fake.answers.append(httpx.Response(200, json={"errors": [{"category": "API_ERROR", "code": "INTERNAL_SERVER_ERROR", "detail": "x"}]}))
    with pytest.raises(PlatformUnprocessable) as caught:
        square.list_locations()
    assert caught.value.platform_code == "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize("answer", [httpx.Response(200, content=b"<html>"), httpx.Response(200, json=[1, 2])])
def test_answers_that_are_not_square_json_are_typed(square: SquareAdapter, fake: FakeSquare, answer: httpx.Response) -> None:
    fake.answers.append(answer)
    with pytest.raises(PlatformError) as caught:
        square.list_locations()
    assert caught.value.code == "platform_bad_answer"


def test_connection_errors_are_typed(square: SquareAdapter, fake: FakeSquare, sleeps: Sleeps) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake.answers += [refuse] * 4
    with pytest.raises(PlatformConnectionError):
        square.list_locations()
    assert len(sleeps) == 3


# ------------------------------------------------------------------ settings and secrets


def test_the_token_is_sent_but_never_shown(square: SquareAdapter, fake: FakeSquare, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        square.list_locations()
    request = fake.requests[0][2]
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" and request.headers["Square-Version"] == "2025-08-20"
    assert str(request.url) == f"{BASE}/v2/locations"
    assert ACCESS_TOKEN not in caplog.text and ACCESS_TOKEN not in repr(square.client.http)
    assert ACCESS_TOKEN not in repr(square.settings) and ACCESS_TOKEN not in repr(square)


def test_settings_from_the_environment() -> None:
    from o2o_sdk import Config, ConfigurationError

    config = Config.from_env({"O2O_SQUARE_ACCESS_TOKEN": "t", "O2O_SQUARE_ENVIRONMENT": "sandbox",
                              "O2O_SQUARE_WEBHOOK_SIGNATURE_KEYS": "new, old", "O2O_SQUARE_NOTIFICATION_URL": "https://x.example/wh",
                              "O2O_SQUARE_API_VERSION": "2025-10-16", "O2O_SQUARE_AUTOMATIC_DISCOUNTS": "yes",
                              "O2O_SQUARE_ONLINE_SOURCES": "Square Online, My App", "O2O_SQUARE_SKU_BATCH": "50",
                              "O2O_SQUARE_LOCATIONS": '{"L1": {"latitude": 1, "longitude": 2}}'})  # fmt: skip
    s = SquareSettings.from_mapping(config.plugin_settings("square"))
    assert s is not None and s.base_url == "https://connect.squareupsandbox.com" and s.api_version == "2025-10-16"
    assert [k.value for k in s.webhook_signature_keys] == ["new", "old"] and s.notification_url == "https://x.example/wh"
    assert s.automatic_discounts and s.online_sources == ("Square Online", "My App") and s.sku_batch == 50
    assert s.locations["L1"]["latitude"] == 1
    assert SquareSettings.from_mapping({}) is None  # not configured: not registered
    assert SquareSettings.from_mapping({"access_token": "t"}).base_url == "https://connect.squareup.com"
    assert SquareSettings.from_mapping({"access_token": "t", "environment": "http://127.0.0.1:8080/"}).base_url == "http://127.0.0.1:8080"
    assert SquareSettings.from_mapping({"access_token": "t", "environment": "https://proxy.example/square/"}).base_url == "https://proxy.example/square"
    for bad in ({"environment": "staging"}, {"environment": "ftp://x"}, {"environment": "https://"}, {"api_version": "latest"}, {"sku_batch": "500"}, {"sku_batch": "many"},
                {"locations": "[1]"}, {"locations": "{"}):  # fmt: skip
        with pytest.raises(ConfigurationError):
            SquareSettings.from_mapping({"access_token": "t", **bad})
    with pytest.raises(ConfigurationError):
        SquareSettings(access_token="")


def test_the_entry_point_registers_only_when_configured(o2o_make_sdk) -> None:
    from o2o_square import plugin

    found: list[object] = []
    sdk = o2o_make_sdk()
    plugin.o2o_register_adapters(sdk=sdk, register=found.append)
    assert found == []
    configured = o2o_make_sdk(plugin_config={"square": {"access_token": "t"}})
    plugin.o2o_register_adapters(sdk=configured, register=found.append)
    assert [type(a) for a in found] == [SquareAdapter]


def test_the_adapter_imports_only_the_public_api() -> None:
    import re
    from pathlib import Path

    import o2o_square

    package = Path(o2o_square.__file__).parent
    private = [f"{p.name}: {m}" for p in package.glob("*.py")
               for m in re.findall(r"^\s*(?:from|import)\s+(o2o_sdk\S*)", p.read_text(), re.M)
               if any(part.startswith("_") for part in m.split(".")[1:])]  # fmt: skip
    assert private == []
    assert {m for p in package.glob("*.py") for m in re.findall(r"^\s*from\s+(o2o_sdk\S*)", p.read_text(), re.M)} <= {
        "o2o_sdk", "o2o_sdk.http", "o2o_sdk.adapters"}
