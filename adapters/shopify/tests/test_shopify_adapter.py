"""The Shopify adapter against a fake shop (respx): pagination, throttling, retries, user errors."""

from __future__ import annotations

import logging

import httpx
import pytest
from o2o_shopify import ShopifyAdapter, ShopifySettings, throttle_wait
from shopify_fake import (
    ACCESS_TOKEN,
    ENDPOINT,
    FakeShopify,
    Sleeps,
    fake,
    location,
    settings,
    shopify,
    sleeps,
    throttled,
)

from o2o_sdk import Discount, GeoResult, OpeningHours, Store, hookimpl
from o2o_sdk.http import PlatformRateLimited, PlatformServerError, PlatformUnprocessable

__all__ = ["fake", "shopify", "sleeps"]  # fixtures used by name


# ------------------------------------------------------------------ stores


def test_locations_become_stores_across_pages(o2o_make_sdk, shopify: ShopifyAdapter, fake: FakeShopify) -> None:
    fake.locations = [location(n) for n in range(1, 253)]  # 252 locations: two pages of at most 250
    sdk = o2o_make_sdk(plugins=[shopify])
    report = sdk.stores.sync()
    assert report.upserted == 252 and report.rejected == ()
    pages = [v for op, v, _ in fake.requests if op == "O2OLocations"]
    assert [(p["first"], p["after"]) for p in pages] == [(250, None), (250, "250")]
    store = sdk.stores.get("shopify-7")
    assert store.external_ids == {"shopify": "gid://shopify/Location/7"}
    assert (store.latitude, store.longitude, store.timezone) == (pytest.approx(51.507), -0.13, "Europe/London")
    assert store.services == ("pickup",) and store.attributes["postcode"] == "W1D 7AA"
    assert store.address == "7 High St, London W1D, United Kingdom"


def test_configured_coordinates_time_zone_and_store_id_win(o2o_make_sdk, fake: FakeShopify, sleeps: Sleeps) -> None:
    import respx

    with respx.mock(assert_all_called=False) as router:
        router.post(ENDPOINT).mock(side_effect=fake)
        adapter = ShopifyAdapter(settings(locations={"1": {"latitude": 48.85, "longitude": 2.35, "timezone": "Europe/Paris",
                                                          "store_id": "paris"}}), sleep=sleeps)  # fmt: skip
        sdk = o2o_make_sdk(plugins=[adapter])
        sdk.stores.sync()
    paris = sdk.stores.get("paris")
    assert (paris.latitude, paris.longitude, paris.timezone) == (48.85, 2.35, "Europe/Paris")


def test_location_without_coordinates_is_geocoded_or_skipped(o2o_make_sdk, shopify, fake, caplog) -> None:
    no_coords = location(3)
    no_coords["address"] = {**no_coords["address"], "latitude": None, "longitude": None}
    fake.locations = [no_coords]
    sdk = o2o_make_sdk(plugins=[shopify])
    with caplog.at_level(logging.WARNING, "o2o_shopify"):
        assert sdk.stores.sync().upserted == 0
    assert "no coordinates" in caplog.text

    class Geocoder:
        @hookimpl
        def o2o_geocode(self, sdk, query):
            return [GeoResult(51.0, -1.0, query, source="test")] if "3 High St" in query else None

    sdk.plugins.register(Geocoder())
    assert sdk.stores.sync().upserted == 1
    assert (sdk.stores.get("shopify-3").latitude, sdk.stores.get("shopify-3").longitude) == (51.0, -1.0)


def test_sync_updates_an_existing_store_and_keeps_its_hours(o2o_make_sdk, shopify, fake) -> None:
    sdk = o2o_make_sdk(plugins=[shopify])
    hours = OpeningHours.parse({"weekly": {"mon-sun": "09:00-18:00"}})
    sdk.stores.add(Store("soho", "Old name", "Europe/London", 51.5, -0.13, services=("returns",), hours=hours,
                         external_ids={"shopify": "gid://shopify/Location/1"}))  # fmt: skip
    sdk.stores.sync()
    soho = sdk.stores.get("soho")
    assert soho.name == "Shop 1" and soho.hours == hours and soho.services == ("pickup", "returns")
    assert {s.id for s in sdk.stores.list()} == {"soho", "shopify-2"}


# ------------------------------------------------------------------ inventory


def _two_stores() -> list[Store]:
    return [Store("a", "A", "UTC", 0, 0, external_ids={"shopify": "gid://shopify/Location/1"}),
            Store("b", "B", "UTC", 0, 1, external_ids={"shopify": "gid://shopify/Location/2"}),
            Store("c", "C", "UTC", 0, 2)]  # fmt: skip


def test_inventory_one_query_for_a_batch_of_skus(shopify: ShopifyAdapter, fake: FakeShopify) -> None:
    fake.stock["SKU-AB"] = {"gid://shopify/Location/1": 99}  # a prefix match the adapter must drop
    answer = shopify.inventory(_two_stores(), ["SKU-A", "SKU-B", "SKU-NONE"])
    assert answer == {"a": {"SKU-A": 3, "SKU-B": 0, "SKU-NONE": 0}, "b": {"SKU-A": 0, "SKU-B": 7, "SKU-NONE": 0}}
    [(op, variables, _)] = fake.requests
    assert op == "O2OInventoryBySku" and variables["query"] == 'sku:"SKU-A" OR sku:"SKU-B" OR sku:"SKU-NONE"'


def test_inventory_levels_are_paged_beyond_the_first_page(shopify: ShopifyAdapter, fake: FakeShopify) -> None:
    shopify.settings = settings(inventory_levels=1)
    fake.stock["SKU-A"] = {"gid://shopify/Location/1": 3, "gid://shopify/Location/2": 5}
    answer = shopify.inventory(_two_stores(), ["SKU-A"])
    assert answer == {"a": {"SKU-A": 3}, "b": {"SKU-A": 5}}
    assert fake.operations() == ["O2OInventoryBySku", "O2OInventoryLevels"]
    assert fake.requests[1][1]["after"] == "1"


def test_inventory_without_platform_stores_asks_nothing(shopify: ShopifyAdapter, fake: FakeShopify) -> None:
    assert shopify.inventory([Store("c", "C", "UTC", 0, 2)], ["SKU-A"]) is None
    assert fake.requests == []


# ------------------------------------------------------------------ throttling and retries


def test_http_429_waits_for_retry_after_then_succeeds(shopify: ShopifyAdapter, fake: FakeShopify, sleeps: Sleeps) -> None:
    fake.answers.append(httpx.Response(429, headers={"Retry-After": "2.5", "X-Request-Id": "r429"}, json={"errors": "Throttled"}))
    assert shopify.count_locations() == 2
    assert sleeps == [2.5]


def test_throttled_200_waits_by_the_cost_extension(shopify: ShopifyAdapter, fake: FakeShopify, sleeps: Sleeps) -> None:
    fake.answers += [throttled(requested=50, available=10, rate=100), throttled(requested=50, available=40, rate=50)]
    assert shopify.count_locations() == 2
    assert sleeps == [pytest.approx(0.45), pytest.approx(0.25)]  # (50-10)/100 and (50-40)/50, plus 50 ms


def test_throttling_gives_up_with_a_typed_error(shopify: ShopifyAdapter, fake: FakeShopify, sleeps: Sleeps) -> None:
    fake.answers += [throttled() for _ in range(10)]
    with pytest.raises(PlatformRateLimited) as caught:
        shopify.count_locations()
    assert caught.value.platform_code == "THROTTLED" and caught.value.request_id == "req-throttled"
    assert len(sleeps) == shopify.settings.max_throttle_retries


def test_throttled_mutation_is_retried_because_it_was_not_executed(o2o_make_sdk, shopify, fake, sleeps) -> None:
    sdk = o2o_make_sdk(plugins=[shopify])
    offer = sdk.offers.create("10% off", Discount.percent_off(10), id="off_t")
    fake.answers += [fake.ok({"codeDiscountNodeByCode": None}), throttled()]
    mirror = sdk.adapters.mirror_offer("shopify", offer.id)
    assert fake.operations() == ["O2ODiscountByCode", "O2OMirrorOffer", "O2OMirrorOffer"]
    assert mirror.code == "OFFT" and len(sleeps) == 1


def test_queries_are_retried_on_5xx_and_connection_errors(shopify: ShopifyAdapter, fake: FakeShopify, sleeps: Sleeps) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake.answers += [httpx.Response(503, headers={"X-Request-Id": "r503"}), refuse]
    assert shopify.count_locations() == 2
    assert len(sleeps) == 2 and all(0 < s <= 1.0 for s in sleeps)


def test_queries_give_up_after_two_retries_with_the_request_id(shopify: ShopifyAdapter, fake: FakeShopify) -> None:
    fake.answers += [httpx.Response(502, headers={"X-Request-Id": f"r{i}"}) for i in range(3)]
    with pytest.raises(PlatformServerError) as caught:
        shopify.count_locations()
    assert caught.value.status == 502 and caught.value.request_id == "r2"
    assert "r2" in str(caught.value)


def test_mutations_are_not_retried_on_5xx(o2o_make_sdk, shopify, fake, sleeps) -> None:
    sdk = o2o_make_sdk(plugins=[shopify])
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    fake.answers += [fake.ok({"codeDiscountNodeByCode": None}), httpx.Response(500)]
    with pytest.raises(PlatformServerError):
        sdk.adapters.mirror_offer("shopify", offer.id)
    assert fake.operations() == ["O2ODiscountByCode", "O2OMirrorOffer"] and sleeps == []
    # the retry is the caller's, and safe: the code is looked up before it is created again
    assert sdk.adapters.mirror_offer("shopify", offer.id).discount_id


# ------------------------------------------------------------------ discounts


def test_mirror_sends_the_offer_as_a_basic_code(o2o_make_sdk, shopify, fake) -> None:
    sdk = o2o_make_sdk(plugins=[shopify])
    offer = sdk.offers.create("Summer", Discount.percent_off(20), metadata={"code": "SUMMER20"})
    mirror = sdk.adapters.mirror_offer("shopify", offer.id)
    assert (mirror.code, mirror.discount_id) == ("SUMMER20", "gid://shopify/DiscountCodeNode/1")
    sent = fake.discounts["summer20"]["input"]
    assert sent["customerGets"]["value"] == {"percentage": 0.2} and sent["customerSelection"] == {"all": True}
    assert sent["startsAt"] == "2026-06-15T12:00:00Z"


def test_user_errors_are_typed(o2o_make_sdk, shopify, fake) -> None:
    sdk = o2o_make_sdk(plugins=[shopify])
    offer = sdk.offers.create("Bad", Discount.percent_off(20))
    fake.user_errors = [{"field": ["basicCodeDiscount", "endsAt"], "code": "INVALID", "message": "Ends at needs to be after starts_at"}]
    with pytest.raises(PlatformUnprocessable) as caught:
        sdk.adapters.mirror_offer("shopify", offer.id)
    assert caught.value.platform_code == "INVALID"
    assert "basicCodeDiscount.endsAt: Ends at needs to be after starts_at" in caught.value.message
    assert sdk.adapters.mirrors() == []


def test_a_code_taken_by_a_lost_attempt_is_adopted(o2o_make_sdk, shopify, fake) -> None:
    sdk = o2o_make_sdk(plugins=[shopify])
    offer = sdk.offers.create("Race", Discount.percent_off(20), metadata={"code": "RACE"})
    fake.answers.append(fake.ok({"codeDiscountNodeByCode": None}))  # not there yet when looked up …
    fake.discounts["race"] = {"id": "gid://shopify/DiscountCodeNode/9", "input": {"title": "Race"}}  # … then created
    fake.user_errors = [{"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}]
    assert sdk.adapters.mirror_offer("shopify", offer.id).discount_id == "gid://shopify/DiscountCodeNode/9"


def test_usage_is_read_back(o2o_make_sdk, shopify, fake, o2o_clock) -> None:
    sdk = o2o_make_sdk(plugins=[shopify])
    offer = sdk.offers.create("Usage", Discount.percent_off(20))
    sdk.adapters.mirror_offer("shopify", offer.id)
    fake.usage = 12
    o2o_clock.advance(minutes=5)
    [mirror] = sdk.adapters.sync_usage("shopify")
    assert mirror.usage_count == 12 and sdk.adapters.mirror("shopify", offer.id).synced_at == o2o_clock.now()


# ------------------------------------------------------------------ customers, secrets


def test_customer_lookup_keeps_exact_matches_only(o2o_make_sdk, shopify, fake) -> None:
    sdk = o2o_make_sdk(plugins=[shopify])
    found = sdk.adapters.lookup_customer("shopify", "ada@example.com")
    assert found is not None and (found.id, found.first_name) == ("gid://shopify/Customer/77", "Ada")
    assert sdk.adapters.lookup_customer("shopify", "ada@example.org") is None  # Shopify's fuzzy hit is dropped


def test_the_token_is_sent_but_never_shown(shopify: ShopifyAdapter, fake: FakeShopify, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        shopify.count_locations()
    request = fake.requests[0][2]
    assert request.headers["X-Shopify-Access-Token"] == ACCESS_TOKEN
    assert request.url.path == "/admin/api/2025-04/graphql.json"
    assert ACCESS_TOKEN not in caplog.text and ACCESS_TOKEN not in repr(shopify.graphql.http)
    assert ACCESS_TOKEN not in repr(shopify.settings)


def test_settings_from_the_environment() -> None:
    from o2o_sdk import Config, ConfigurationError

    config = Config.from_env({"O2O_SHOPIFY_SHOP": "my-shop.myshopify.com", "O2O_SHOPIFY_ACCESS_TOKEN": "t",
                              "O2O_SHOPIFY_WEBHOOK_SECRETS": "new,old", "O2O_SHOPIFY_API_VERSION": "2025-10",
                              "O2O_SHOPIFY_LOCATIONS": '{"1": {"latitude": 1, "longitude": 2}}'})  # fmt: skip
    s = ShopifySettings.from_mapping(config.plugin_settings("shopify"))
    assert s is not None and s.endpoint == "https://my-shop.myshopify.com/admin/api/2025-10"
    assert [x.value for x in s.webhook_secrets] == ["new", "old"] and s.locations["1"]["latitude"] == 1
    assert ShopifySettings.from_mapping({}) is None
    with pytest.raises(ConfigurationError):
        ShopifySettings.from_mapping({"shop": "x", "access_token": "t", "api_version": "latest"})
    with pytest.raises(ConfigurationError):
        ShopifySettings.from_mapping({"shop": "x"})


def test_throttle_wait_falls_back_when_the_cost_is_unknown() -> None:
    assert throttle_wait(None) == 1.0
    assert throttle_wait({"requestedQueryCost": 10}) == 1.0
    assert throttle_wait({"requestedQueryCost": 100000, "throttleStatus": {"currentlyAvailable": 0, "restoreRate": 1}}) == 60.0


def test_the_adapter_imports_only_the_public_api() -> None:
    import re
    from pathlib import Path

    import o2o_shopify

    package = Path(o2o_shopify.__file__).parent
    private = [f"{p.name}: {m}" for p in package.glob("*.py")
               for m in re.findall(r"^\s*(?:from|import)\s+(o2o_sdk\S*)", p.read_text(), re.M)
               if any(part.startswith("_") for part in m.split(".")[1:])]  # fmt: skip
    assert private == []
    assert {m for p in package.glob("*.py") for m in re.findall(r"^\s*from\s+(o2o_sdk\S*)", p.read_text(), re.M)} <= {
        "o2o_sdk", "o2o_sdk.http", "o2o_sdk.adapters"}
