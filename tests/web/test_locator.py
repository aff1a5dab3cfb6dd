"""Store locator API and widget endpoints, the geocoding hook and its default, the routes hook."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

from o2o_sdk import O2O, GeoResult, PluginError, Store, hookimpl
from o2o_sdk.cli._demo import STORES
from o2o_sdk.default_plugins.geocode_stores import find_in_stores
from o2o_sdk.web import create_app

from .conftest import IN_SOHO, client_for, london_offer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Stock:
    @hookimpl
    def o2o_check_inventory(self, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]]:
        table = {"ldn-covent-garden": 0, "ldn-shoreditch": 7, "ber-mitte": 3}
        return {s.id: {k: table.get(s.id, 0) for k in skus} for s in stores}


def test_nearest_open_stores_first_with_status_hours_and_services(sqlite_shop: O2O) -> None:
    client = client_for(create_app(sqlite_shop))
    r = client.get("/api/stores/near", params={"lat": IN_SOHO[0], "lon": IN_SOHO[1], "k": 2})
    assert r.status_code == 200
    stores = r.json()["stores"]
    # Soho is nearer but opens at 10:00; Covent Garden has been open since 07:00.
    assert [s["id"] for s in stores] == ["ldn-covent-garden", "ber-mitte"]
    first = stores[0]
    assert first["open"] is True and first["status_text"] == "Open · closes 19:00"
    assert first["services"] == [] and first["hours"]["weekly"]["mon"] == ["07:00-19:00"]
    closed_too = client.get("/api/stores/near", params={"lat": IN_SOHO[0], "lon": IN_SOHO[1], "k": 1, "open": "any"}).json()
    assert closed_too["stores"][0]["id"] == "ldn-soho"
    assert closed_too["stores"][0]["status_text"] == "Closed · opens Mon 10:00"


def test_stock_for_a_sku_comes_from_the_inventory_hook(sqlite_shop: O2O) -> None:
    sqlite_shop.plugins.register(Stock())
    r = client_for(create_app(sqlite_shop)).get("/api/stores/near", params={"lat": IN_SOHO[0], "lon": IN_SOHO[1],
                                                                            "sku": "beans", "open": "any", "k": 2})  # fmt: skip
    assert [(s["id"], s["stock"]) for s in r.json()["stores"]] == [("ldn-shoreditch", {"beans": 7}), ("ber-mitte", {"beans": 3})]


def test_an_offer_limits_the_stores_to_those_that_accept_it(sqlite_shop: O2O) -> None:
    offer = london_offer(sqlite_shop)
    r = client_for(create_app(sqlite_shop)).get("/api/stores/near", params={"lat": 52.5, "lon": 13.4, "offer": offer.id,
                                                                            "open": "any", "k": 3})  # fmt: skip
    assert {s["id"] for s in r.json()["stores"]} == {"ldn-covent-garden", "ldn-soho", "ldn-shoreditch"}


def test_a_postcode_or_town_finds_stores_without_a_position(sqlite_shop: O2O) -> None:
    client = client_for(create_app(sqlite_shop))
    r = client.get("/api/stores/near", params={"q": "ec2a3aa", "open": "any", "k": 1}).json()
    assert r["origin"]["label"].startswith("ec2a3aa") and r["stores"][0]["id"] == "ldn-shoreditch"
    none = client.get("/api/stores/near", params={"q": "Atlantis"}).json()
    assert none["stores"] == [] and none["origin"] is None and "could not find" in none["message"]


@pytest.mark.parametrize(
    "params",
    [{}, {"lat": "91", "lon": "0"}, {"lat": "nan", "lon": "0"}, {"lat": "1", "lon": "x"}, {"lat": "1", "lon": "1", "k": "0"},
     {"lat": "1", "lon": "1", "open": "later"}, {"lat": "1", "lon": "1", "radius": "5"}],
)
def test_bad_locator_queries_are_422(sqlite_shop: O2O, params: dict[str, str]) -> None:
    r = client_for(create_app(sqlite_shop)).get("/api/stores/near", params=params)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_the_widget_and_its_api_work_cross_origin(sqlite_shop: O2O) -> None:
    client = client_for(create_app(sqlite_shop))
    script = client.get("/widget.js", headers={"Origin": "https://theme.myshopify.com"})
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert script.headers["access-control-allow-origin"] == "*"
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    api = client.get("/api/stores/near", params={"lat": 1, "lon": 1}, headers={"Origin": "https://theme.myshopify.com"})
    assert api.headers["access-control-allow-origin"] == "*"
    pre = client.options("/api/stores/near", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"
    only = client_for(create_app(sqlite_shop, cors_origins=["https://shop.example"]))
    assert "access-control-allow-origin" not in only.get("/api/stores/near", params={"lat": 1, "lon": 1},
                                                         headers={"Origin": "https://evil.example"}).headers  # fmt: skip
    # The POS API is not for browsers on other sites.
    assert "access-control-allow-origin" not in client.post("/api/pos/v1/validate", json={}).headers


def test_the_store_locator_page_embeds_the_widget(sqlite_shop: O2O) -> None:
    html = client_for(create_app(sqlite_shop)).get("/stores", params={"sku": "beans"}).text
    assert 'data-o2o-stores' in html and 'data-sku="beans"' in html and 'src="/widget.js"' in html


def test_the_default_geocoder_matches_whole_postcodes_districts_and_towns() -> None:
    [soho] = find_in_stores(STORES, "W1D 5PL")
    assert (soho.latitude, soho.longitude, soho.source) == (51.51178, -0.13064, "stores")
    assert find_in_stores(STORES, "w1d5pl")[0].latitude == soho.latitude
    assert find_in_stores(STORES, "W1") == []  # not a whole word of any address
    [london] = find_in_stores(STORES, "london")
    assert 51.51 < london.latitude < 51.52 and london.accuracy_m is not None and london.accuracy_m > 2000
    assert find_in_stores(STORES, "Rosenthaler Strasse")[0].longitude == pytest.approx(13.40127)
    assert find_in_stores(STORES, "x") == []


def test_hook_o2o_geocode(sqlite_shop: O2O) -> None:
    class Geocoder:
        @hookimpl
        def o2o_geocode(self, query: str) -> list[GeoResult] | None:
            return [GeoResult(51.5081, -0.0759, "Tower of London", source="test")] if query == "Tower of London" else None

    client = client_for(create_app(sqlite_shop))
    assert client.get("/api/stores/near", params={"q": "Tower of London"}).json()["origin"] is None
    with sqlite_shop.plugins.registered(Geocoder()):
        r = client.get("/api/stores/near", params={"q": "Tower of London", "open": "any", "k": 1}).json()
        assert r["origin"]["label"] == "Tower of London" and r["stores"][0]["id"] == "ldn-shoreditch"
        # Queries the plugin does not answer fall through to the built-in lookup.
        assert client.get("/api/stores/near", params={"q": "W1D"}).json()["origin"] is not None


def test_hook_o2o_register_routes(sqlite_shop: O2O) -> None:
    seen: list[str] = []

    class Webhooks:
        @hookimpl
        def o2o_register_routes(self, sdk: O2O, register: object) -> None:
            async def receive(request: Request) -> JSONResponse:
                seen.append(request.path_params["topic"])
                return JSONResponse({"ok": True, "stores": len(sdk.stores.list())})

            def ping(request: Request) -> PlainTextResponse:  # a plain function runs in a worker thread
                return PlainTextResponse("pong")

            register("/webhooks/test/{topic}", receive, methods=["POST"])  # type: ignore[operator]
            register("/webhooks/ping", ping)  # type: ignore[operator]

    sqlite_shop.plugins.register(Webhooks())
    client = client_for(create_app(sqlite_shop))
    assert client.post("/webhooks/test/orders-create").json() == {"ok": True, "stores": 6}
    assert seen == ["orders-create"]
    assert client.get("/webhooks/ping").text == "pong"
    assert client.get("/webhooks/test/x").status_code == 405


@pytest.mark.parametrize("path", ["/api/pos/v1/redeem", "/staff/x", "/o/{token}", "/", "webhooks"])
def test_plugins_cannot_take_the_apps_own_routes(sqlite_shop: O2O, path: str) -> None:
    class Greedy:
        @hookimpl
        def o2o_register_routes(self, register: object) -> None:
            register(path, lambda request: None, methods=["POST"])  # type: ignore[operator]

    sqlite_shop.plugins.register(Greedy())
    with pytest.raises(PluginError):
        create_app(sqlite_shop)
