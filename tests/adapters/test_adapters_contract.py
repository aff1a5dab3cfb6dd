"""The adapter contract: o2o_register_adapters, sdk.adapters, the Adapter protocol, webhook endpoint."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from o2o_sdk import (
    O2O,
    Adapter,
    AdapterBase,
    Capability,
    Config,
    Discount,
    InvalidInput,
    Money,
    NotFound,
    NotSupported,
    OrderEvent,
    OrderKind,
    PlatformDiscount,
    PluginError,
    Store,
    WebhookRejected,
    WebhookRequest,
    hookimpl,
)
from o2o_sdk.adapters import default_discount_code, webhook_endpoint


class Acme(AdapterBase):
    """A tiny in-memory adapter: stores from a list, one discount per code, signed webhooks."""

    name = "acme"
    capabilities = frozenset({Capability.STORES, Capability.DISCOUNTS, Capability.WEBHOOKS})

    def __init__(self) -> None:
        self.created: list[tuple[str, str]] = []
        self.usage = 0

    @hookimpl
    def o2o_register_stores(self, sdk: O2O, register: Callable[[Store], None]) -> None:
        register(Store("acme-1", "Acme One", "UTC", 1.0, 2.0, external_ids={"acme": "L1"}))

    def mirror_offer(self, sdk, offer, code):
        self.created.append((offer.id, code))
        return PlatformDiscount(f"disc-{len(self.created)}", code)

    def discount_usage(self, sdk, mirror):
        return self.usage

    def parse_webhook(self, sdk, request):
        if request.header("X-Acme-Signature") != "ok":
            raise WebhookRejected("bad", code="bad_signature")
        if request.body == b"broken":
            raise WebhookRejected("broken", code="malformed_payload")
        if request.body == b"platform-down":
            from o2o_sdk.http import PlatformError

            raise PlatformError("acme answered HTTP 502 while we fetched the order", code="http_502")
        if request.body == b"huge":  # verified, but a value the SDK refuses (an adapter that does not check it)
            Money(10**20, "EUR")
        order_id, _, flag = request.body.decode().partition(":")
        return [OrderEvent("acme", order_id, OrderKind.ONLINE, sdk.clock.now(), delivery_id=request.header("x-acme-id"),
                           cancelled=flag == "cancelled")]  # fmt: skip


def test_hook_o2o_register_adapters(o2o_make_sdk) -> None:
    acme = Acme()
    sdk = o2o_make_sdk(plugins=[acme])
    assert sdk.adapters.get("acme") is acme and sdk.adapters.names() == ["acme"] and "acme" in sdk.adapters
    assert isinstance(acme, Adapter)
    # the adapter's own hook implementations take part: its stores sync
    assert sdk.stores.sync().upserted == 1 and sdk.stores.get("acme-1").external_ids == {"acme": "L1"}


def test_an_adapter_supplied_by_a_module_plugin_is_registered_as_a_plugin(o2o_make_sdk) -> None:
    acme = Acme()

    class Provider:
        @hookimpl
        def o2o_register_adapters(self, sdk, register):
            register(acme)

    sdk = o2o_make_sdk(plugins=[Provider()])
    assert sdk.adapters.get("acme") is acme
    assert sdk.plugins.pm.is_registered(acme) and sdk.plugins.pm.get_name(acme) == "adapter:acme"
    assert sdk.stores.sync().upserted == 1


def test_adapters_registered_later_are_found(o2o_sdk: O2O, o2o_register) -> None:
    assert o2o_sdk.adapters.names() == []
    acme = Acme()
    o2o_register(acme)
    assert o2o_sdk.adapters.get("acme") is acme


def test_one_adapter_per_name(o2o_make_sdk) -> None:
    first, second = Acme(), Acme()
    sdk = o2o_make_sdk(plugins=[first, second])
    assert sdk.adapters.get("acme") is second  # registered last, called first: explicit plugins are LIFO


@pytest.mark.parametrize("bad", [object(), type("NoName", (AdapterBase,), {"name": "", "capabilities": frozenset()})(),
                                 type("Upper", (AdapterBase,), {"name": "Acme", "capabilities": frozenset()})(),
                                 type("BadCaps", (AdapterBase,), {"name": "x", "capabilities": frozenset({"teleport"})})()])  # fmt: skip
def test_malformed_adapters_are_refused(o2o_make_sdk, bad: object) -> None:
    class Provider:
        @hookimpl
        def o2o_register_adapters(self, sdk, register):
            register(bad)

    with pytest.raises(PluginError):
        o2o_make_sdk(plugins=[Provider()])


def test_unknown_adapter_is_not_found(o2o_sdk: O2O) -> None:
    with pytest.raises(NotFound) as caught:
        o2o_sdk.adapters.get("nope")
    assert "registered: none" in caught.value.message
    assert "installed" not in caught.value.message


def test_an_installed_adapter_plugin_without_its_settings_says_which_settings(o2o_sdk: O2O) -> None:
    class Unconfigured:  # like an adapter package's plugin when its O2O_ACME_* settings are missing
        @hookimpl
        def o2o_register_adapters(self, sdk, register):
            return None

    o2o_sdk.plugins.register(Unconfigured(), name="acme")
    with pytest.raises(NotFound) as caught:
        o2o_sdk.adapters.get("acme")
    assert "installed but not configured" in caught.value.message and "O2O_ACME_*" in caught.value.message


def test_undeclared_capabilities_are_not_supported(o2o_make_sdk) -> None:
    sdk = o2o_make_sdk(plugins=[Acme()])
    with pytest.raises(NotSupported):
        sdk.adapters.lookup_customer("acme", "a@example.com")
    with pytest.raises(NotSupported):
        AdapterBase().lookup_customer(sdk, "a@example.com")


def test_mirror_is_kept_and_not_repeated(o2o_make_sdk) -> None:
    acme = Acme()
    sdk = o2o_make_sdk(plugins=[acme])
    offer = sdk.offers.create("Ten", Discount.percent_off(10), id="off_ten-1")
    mirror = sdk.adapters.mirror_offer("acme", offer.id)
    assert (mirror.code, mirror.discount_id) == ("OFFTEN1", "disc-1") and default_discount_code(offer) == "OFFTEN1"
    assert sdk.adapters.mirror_offer("acme", offer.id) == mirror and len(acme.created) == 1
    other = sdk.offers.create("Other", Discount.percent_off(5))
    with pytest.raises(InvalidInput) as caught:
        sdk.adapters.mirror_offer("acme", other.id, code="offten1")
    assert caught.value.code == "code_taken"
    acme.usage = 7
    assert [m.usage_count for m in sdk.adapters.sync_usage("acme")] == [7]
    acme.usage = -1
    with pytest.raises(PluginError):
        sdk.adapters.sync_usage("acme", offer.id)
    with pytest.raises(NotFound):
        sdk.adapters.sync_usage("acme", other.id)


def test_customer_lookup_checks_the_email(o2o_make_sdk) -> None:
    sdk = o2o_make_sdk(plugins=[Acme()])
    with pytest.raises(InvalidInput):
        sdk.adapters.lookup_customer("acme", "not-an-email")


def test_webhooks_are_recorded_through_the_adapter(o2o_make_sdk) -> None:
    sdk = o2o_make_sdk(plugins=[Acme()])
    [result] = sdk.adapters.handle_webhook("acme", {"x-acme-signature": "ok", "X-Acme-Id": "1"}, b"order-1")
    assert result.recorded and sdk.orders.get("acme", "order-1").delivery_id == "1"
    with pytest.raises(WebhookRejected) as caught:
        sdk.adapters.handle_webhook("nope", {}, b"")
    assert caught.value.code == "unknown_platform"


def test_webhook_request_headers_are_case_insensitive() -> None:
    request = WebhookRequest(b"{}", {"X-Shopify-Topic": "orders/create"}, "https://x.test/h")
    assert request.header("x-shopify-topic") == request.header("X-SHOPIFY-TOPIC") == "orders/create"
    assert request.header("missing") is None


def test_webhook_endpoint_answers_by_outcome(o2o_make_sdk) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    sdk = o2o_make_sdk(plugins=[Acme()])
    client = TestClient(Starlette(routes=[Route("/hooks/{platform}", _dispatch(sdk), methods=["POST"])]))
    ok = client.post("/hooks/acme", content=b"o-7", headers={"X-Acme-Signature": "ok", "X-Acme-Id": "7"})
    assert ok.status_code == 200 and ok.json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
    again = client.post("/hooks/acme", content=b"o-7", headers={"X-Acme-Signature": "ok", "X-Acme-Id": "7"})
    assert again.json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}
    # A cancellation is not recorded, and not a duplicate either.
    gone = client.post("/hooks/acme", content=b"o-7:cancelled", headers={"X-Acme-Signature": "ok", "X-Acme-Id": "8"})
    assert gone.json() == {"recorded": 0, "duplicates": 0, "cancelled": 1}
    assert client.post("/hooks/acme", content=b"o-8").status_code == 401
    assert client.post("/hooks/acme", content=b"broken", headers={"X-Acme-Signature": "ok"}).status_code == 400
    assert client.post("/hooks/zzz", content=b"x").status_code == 404
    down = client.post("/hooks/acme", content=b"platform-down", headers={"X-Acme-Signature": "ok"})
    assert (down.status_code, down.headers["retry-after"], down.json()["error"]) == (503, "30", "http_502")
    # A verified delivery the SDK refuses as invalid: retrying cannot help, so 422, not 503.
    huge = client.post("/hooks/acme", content=b"huge", headers={"X-Acme-Signature": "ok"})
    assert (huge.status_code, huge.json()["error"]) == (422, "unprocessable") and "retry-after" not in huge.headers


def _dispatch(sdk: O2O):
    async def endpoint(request):
        return await webhook_endpoint(sdk, request.path_params["platform"])(request)

    return endpoint


def test_plugin_settings_come_from_the_environment() -> None:
    config = Config.from_env({"O2O_ACME_API_KEY": "k", "O2O_ACME_SHOP": "s", "O2O_DATABASE_URL": "sqlite:///x.db"})
    assert config.plugin_settings("acme") == {"api_key": "k", "shop": "s"}
    assert config.plugin_settings("ACME") == config.plugin_settings("acme")
    assert config.plugin_settings("database") == {} and config.plugin_settings("other") == {}
    assert "api_key" not in repr(config)  # settings may hold secrets


def test_the_kit_fixtures(o2o_sdk: O2O, o2o_clock, o2o_register) -> None:
    assert o2o_sdk.clock is o2o_clock and o2o_sdk.storage.dialect_name == "sqlite"
    assert o2o_sdk.config.load_entrypoints is False

    class Rule:
        @hookimpl
        def o2o_check_redemption(self, context):
            return None

    name = o2o_register(Rule())
    assert o2o_sdk.plugins.pm.has_plugin(name)
