"""The adapter conformance suite: proves an adapter implements the contract of :mod:`o2o_sdk.adapters`.

An adapter's test module subclasses :class:`AdapterConformance` and provides two fixtures,
backed by its own mocks of the platform (respx for HTTP platforms)::

    from o2o_sdk.testing.conformance import AdapterConformance, PlatformScenario

    class TestMyAdapterConformance(AdapterConformance):
        @pytest.fixture
        def o2o_platform(self, respx_mock) -> PlatformScenario:
            ...  # mock the platform's API; describe what it holds
        @pytest.fixture
        def o2o_adapter(self, o2o_platform) -> Adapter:
            return MyAdapter(settings_pointing_at_the_mock)

Every test of the class then runs against the adapter: store sync into ``sdk.stores``,
batched inventory, offer mirror and usage sync, customer lookup, and webhooks (verified,
bad signatures rejected, redeliveries recorded once, orders journaled). Tests of a
capability the adapter does not declare are skipped, saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs
import pytest

from ..adapters import Adapter, Capability, WebhookRejected, WebhookRequest
from ..models import Discount, EventType, OrderKind, Store
from ..money import Money
from ..sdk import O2O

__all__ = ["AdapterConformance", "MakeWebhook", "PlatformScenario"]

#: A SKU the suite asks for that no platform holds.
MISSING_SKU = "O2O-CONFORMANCE-NO-SUCH-SKU"


class MakeWebhook(Protocol):
    """Builds one delivery as the platform would send it (signed unless ``signed=False``)."""

    def __call__(self, kind: OrderKind, *, order_id: str, delivery_id: str, location_id: str | None,
                 codes: Sequence[str], total: Money, customer_email: str | None,
                 signed: bool = True) -> WebhookRequest: ...  # fmt: skip


@attrs.frozen
class PlatformScenario:
    """What the mocked platform holds, so the suite can check what the adapter reports.

    Provide at least two locations and two SKUs (the suite checks inventory is batched).
    """

    #: The platform's ids of the locations store sync must produce (``Store.external_ids[name]``).
    location_ids: tuple[str, ...]
    #: ``{location_id: {sku: available}}`` as the mock reports it.
    stock: dict[str, dict[str, int]]
    #: A customer the mock knows, and their platform id.
    customer_email: str
    customer_id: str
    #: The usage count the mock reports for a mirrored discount code.
    discount_usage: int
    #: Signed deliveries.
    webhook: MakeWebhook
    #: How many requests the mock received so far (to check batching and caching).
    calls: Callable[[], int]


class AdapterConformance:
    """Base class of an adapter's conformance tests: provide ``o2o_adapter`` and ``o2o_platform``."""

    @pytest.fixture
    def o2o_platform(self) -> PlatformScenario:
        """Override: mock the platform and describe it."""
        raise NotImplementedError("Provide an o2o_platform fixture returning a PlatformScenario.")

    @pytest.fixture
    def o2o_adapter(self) -> Adapter:
        """Override: the adapter under test, configured against the mocked platform."""
        raise NotImplementedError("Provide an o2o_adapter fixture returning your adapter.")

    @pytest.fixture
    def o2o_conformance_sdk(self, o2o_make_sdk: Callable[..., O2O], o2o_adapter: Adapter) -> O2O:
        """An SDK with the adapter registered as a plugin."""
        return o2o_make_sdk(plugins=[o2o_adapter])

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _needs(adapter: Adapter, capability: Capability) -> None:
        if capability not in adapter.capabilities:
            pytest.skip(f"{adapter.name} does not declare the {capability.value!r} capability")

    @staticmethod
    def _stores(sdk: O2O, adapter: Adapter, platform: PlatformScenario) -> list[Store]:
        """One store per platform location (and one the platform does not know), added directly."""
        stores = [
            Store(f"conf-{i}", f"Conformance {i}", "Europe/London", 51.5 + i / 100, -0.12, external_ids={adapter.name: loc})
            for i, loc in enumerate(platform.location_ids)
        ]
        stores.append(Store("conf-elsewhere", "Not on the platform", "Europe/London", 51.0, 0.0))
        sdk.stores.add(stores)
        return stores

    @staticmethod
    def _orders(sdk: O2O) -> list[Any]:
        return sdk.journal.read(types=[EventType.ORDER_IN_STORE, EventType.ORDER_ONLINE])

    # ---------------------------------------------------------------- the contract
    def test_adapter_has_a_name_and_capabilities(self, o2o_adapter: Adapter) -> None:
        assert isinstance(o2o_adapter, Adapter), "the adapter lacks members of o2o_sdk.adapters.Adapter"
        assert o2o_adapter.name and o2o_adapter.name == o2o_adapter.name.strip().lower()
        assert o2o_adapter.capabilities, "declare at least one Capability"
        assert all(isinstance(c, Capability) for c in o2o_adapter.capabilities)

    def test_pickup_capabilities_have_their_methods(self, o2o_adapter: Adapter) -> None:
        from ..adapters import AdapterBase, InventoryHoldAdapter, PickupAdapter

        def own(method: str) -> bool:  # implemented, not AdapterBase's NotSupported default
            return getattr(type(o2o_adapter), method, None) is not getattr(AdapterBase, method)

        if Capability.PICKUPS not in o2o_adapter.capabilities and Capability.INVENTORY_HOLDS not in o2o_adapter.capabilities:
            pytest.skip(f"{o2o_adapter.name} declares neither 'pickups' nor 'inventory_holds'")
        if Capability.PICKUPS in o2o_adapter.capabilities:
            assert isinstance(o2o_adapter, PickupAdapter) and own("pickup_changed"), \
                "declaring 'pickups' needs pickup_changed(sdk, pickup, previous)"
        if Capability.INVENTORY_HOLDS in o2o_adapter.capabilities:
            assert isinstance(o2o_adapter, InventoryHoldAdapter) and own("hold_inventory") and own("release_inventory"), \
                "declaring 'inventory_holds' needs hold_inventory and release_inventory"

    def test_adapter_is_registered_through_the_hook(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter) -> None:
        assert o2o_conformance_sdk.adapters.get(o2o_adapter.name) is o2o_adapter

    def test_scenario_is_rich_enough(self, o2o_platform: PlatformScenario) -> None:
        assert len(o2o_platform.location_ids) >= 2, "mock at least two locations"
        assert len({sku for levels in o2o_platform.stock.values() for sku in levels}) >= 2, "mock at least two SKUs"

    # stores
    def test_store_sync_round_trip(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter, o2o_platform: PlatformScenario) -> None:
        self._needs(o2o_adapter, Capability.STORES)
        sdk = o2o_conformance_sdk
        report = sdk.stores.sync()
        assert report.rejected == (), f"the adapter registered invalid stores: {report.rejected}"
        synced = {s.external_ids.get(o2o_adapter.name): s for s in sdk.stores.list()}
        assert set(o2o_platform.location_ids) <= set(synced), "every location becomes a store with external_ids[name]"
        ids = sorted(s.id for s in sdk.stores.list())
        again = sdk.stores.sync()
        assert again.rejected == ()
        assert sorted(s.id for s in sdk.stores.list()) == ids, "a second sync must update the same stores, not add new ones"

    # inventory
    def test_inventory_is_reported_per_store_and_sku(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter,
                                                     o2o_platform: PlatformScenario) -> None:  # fmt: skip
        self._needs(o2o_adapter, Capability.INVENTORY)
        sdk = o2o_conformance_sdk
        stores = self._stores(sdk, o2o_adapter, o2o_platform)
        skus = [*sorted({sku for levels in o2o_platform.stock.values() for sku in levels}), MISSING_SKU]
        answer = sdk.plugins.check_inventory(sdk, stores, skus)
        for store in stores[:-1]:
            held = o2o_platform.stock.get(store.external_ids[o2o_adapter.name], {})
            for sku in skus:
                assert answer.get(store.id, {}).get(sku, 0) == held.get(sku, 0), f"{store.id} {sku}"
        assert answer.get("conf-elsewhere", {}) == {}, "a store without this platform's id is not this adapter's"

    def test_inventory_is_batched(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter, o2o_platform: PlatformScenario) -> None:
        self._needs(o2o_adapter, Capability.INVENTORY)
        sdk = o2o_conformance_sdk
        stores = self._stores(sdk, o2o_adapter, o2o_platform)[:-1]
        skus = sorted({sku for levels in o2o_platform.stock.values() for sku in levels})
        before = o2o_platform.calls()
        sdk.plugins.check_inventory(sdk, stores, skus)
        used = o2o_platform.calls() - before
        assert 0 < used < len(stores) * len(skus), f"{used} requests for {len(stores)} stores x {len(skus)} SKUs: not batched"

    def test_inventory_used_by_the_locator(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter, o2o_platform: PlatformScenario) -> None:
        self._needs(o2o_adapter, Capability.INVENTORY)
        sdk = o2o_conformance_sdk
        self._stores(sdk, o2o_adapter, o2o_platform)
        loc, levels = next((loc, lv) for loc, lv in o2o_platform.stock.items() if any(q > 0 for q in lv.values()))
        sku = next(s for s, q in levels.items() if q > 0)
        found = sdk.stores.near(51.5, -0.12, k=50, skus=[sku])
        holders = {s.external_ids.get(o2o_adapter.name) for s in (m.store for m in found)}
        assert loc in holders
        assert all(o2o_platform.stock.get(str(h), {}).get(sku, 0) > 0 for h in holders)

    # discount-code mirrors
    def test_mirror_offer_keeps_the_link(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter, o2o_platform: PlatformScenario) -> None:
        self._needs(o2o_adapter, Capability.DISCOUNTS)
        sdk = o2o_conformance_sdk
        offer = sdk.offers.create("Conformance 10% off", Discount.percent_off(10), id="off_conformance")
        mirror = sdk.adapters.mirror_offer(o2o_adapter.name, offer.id)
        assert mirror.discount_id and mirror.code and mirror.offer_id == offer.id
        assert sdk.adapters.mirror(o2o_adapter.name, offer.id) == mirror
        before = o2o_platform.calls()
        assert sdk.adapters.mirror_offer(o2o_adapter.name, offer.id) == mirror
        assert o2o_platform.calls() == before, "mirroring an already mirrored offer must not ask the platform again"

    def test_usage_sync_reads_the_platform_count(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter,
                                                 o2o_platform: PlatformScenario) -> None:  # fmt: skip
        self._needs(o2o_adapter, Capability.DISCOUNTS)
        sdk = o2o_conformance_sdk
        offer = sdk.offers.create("Conformance 5 off", Discount.amount_off(Money(500, "EUR")), id="off_conformance_usage")
        sdk.adapters.mirror_offer(o2o_adapter.name, offer.id)
        [synced] = sdk.adapters.sync_usage(o2o_adapter.name, offer.id)
        assert synced.usage_count == o2o_platform.discount_usage
        stored = sdk.adapters.mirror(o2o_adapter.name, offer.id)
        assert stored.usage_count == o2o_platform.discount_usage and stored.synced_at == sdk.clock.now()

    # customers
    def test_customer_lookup(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter, o2o_platform: PlatformScenario) -> None:
        self._needs(o2o_adapter, Capability.CUSTOMERS)
        sdk = o2o_conformance_sdk
        found = sdk.adapters.lookup_customer(o2o_adapter.name, o2o_platform.customer_email)
        assert found is not None and found.id == o2o_platform.customer_id and found.platform == o2o_adapter.name
        assert (found.email or "").casefold() == o2o_platform.customer_email.casefold()
        assert sdk.adapters.lookup_customer(o2o_adapter.name, "nobody-o2o-conformance@example.invalid") is None

    # webhooks
    def _deliver(self, sdk: O2O, adapter: Adapter, request: WebhookRequest) -> list[Any]:
        return sdk.adapters.handle_webhook(adapter.name, request.headers, request.body, request.url)

    def test_in_store_order_is_recorded_with_store_and_voucher(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter,
                                                               o2o_platform: PlatformScenario) -> None:  # fmt: skip
        self._needs(o2o_adapter, Capability.WEBHOOKS)
        sdk = o2o_conformance_sdk
        stores = self._stores(sdk, o2o_adapter, o2o_platform)
        offer = sdk.offers.create("Conformance in store", Discount.percent_off(15))
        voucher = sdk.offers.issue(offer, "customer-42")
        request = o2o_platform.webhook(OrderKind.IN_STORE, order_id="9001", delivery_id="delivery-9001",
                                       location_id=o2o_platform.location_ids[0], codes=[voucher.id],
                                       total=Money(4250, "EUR"), customer_email="buyer@example.com")  # fmt: skip
        [result] = self._deliver(sdk, o2o_adapter, request)
        assert result.recorded
        [event] = self._orders(sdk)
        assert event.type == EventType.ORDER_IN_STORE
        assert event.store_id == stores[0].id, "the platform location maps to our store"
        assert (event.offer_id, event.voucher_id, event.customer_id) == (offer.id, voucher.id, "customer-42")
        assert (event.data["total_minor"], event.data["currency"]) == (4250, "EUR")
        assert event.data["platform"] == o2o_adapter.name

    def test_online_order_is_recorded(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter, o2o_platform: PlatformScenario) -> None:
        self._needs(o2o_adapter, Capability.WEBHOOKS)
        sdk = o2o_conformance_sdk
        request = o2o_platform.webhook(OrderKind.ONLINE, order_id="9002", delivery_id="delivery-9002", location_id=None,
                                       codes=[], total=Money(1999, "EUR"), customer_email="buyer@example.com")  # fmt: skip
        [result] = self._deliver(sdk, o2o_adapter, request)
        assert result.recorded and result.order.kind is OrderKind.ONLINE
        [event] = self._orders(sdk)
        assert event.type == EventType.ORDER_ONLINE and event.store_id is None
        assert event.data["customer_email"] == "buyer@example.com"

    def test_bad_signature_is_rejected(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter, o2o_platform: PlatformScenario) -> None:
        self._needs(o2o_adapter, Capability.WEBHOOKS)
        sdk = o2o_conformance_sdk
        request = o2o_platform.webhook(OrderKind.ONLINE, order_id="9003", delivery_id="delivery-9003", location_id=None,
                                       codes=[], total=Money(100, "EUR"), customer_email=None, signed=False)  # fmt: skip
        with pytest.raises(WebhookRejected) as caught:
            self._deliver(sdk, o2o_adapter, request)
        assert caught.value.code == "bad_signature"
        assert self._orders(sdk) == []

    def test_tampered_body_is_rejected(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter, o2o_platform: PlatformScenario) -> None:
        self._needs(o2o_adapter, Capability.WEBHOOKS)
        sdk = o2o_conformance_sdk
        request = o2o_platform.webhook(OrderKind.ONLINE, order_id="9004", delivery_id="delivery-9004", location_id=None,
                                       codes=[], total=Money(100, "EUR"), customer_email=None)  # fmt: skip
        tampered = attrs.evolve(request, body=request.body + b" ")  # still valid JSON, no longer what was signed
        with pytest.raises(WebhookRejected):
            self._deliver(sdk, o2o_adapter, tampered)
        assert self._orders(sdk) == []

    def test_duplicate_delivery_is_recorded_once(self, o2o_conformance_sdk: O2O, o2o_adapter: Adapter,
                                                 o2o_platform: PlatformScenario) -> None:  # fmt: skip
        self._needs(o2o_adapter, Capability.WEBHOOKS)
        sdk = o2o_conformance_sdk
        kwargs: dict[str, Any] = {"order_id": "9005", "location_id": None, "codes": [], "total": Money(700, "EUR"),
                                  "customer_email": None}  # fmt: skip
        first = o2o_platform.webhook(OrderKind.ONLINE, delivery_id="delivery-9005", **kwargs)
        [result] = self._deliver(sdk, o2o_adapter, first)
        assert result.recorded
        assert result.order.delivery_id, "set OrderEvent.delivery_id from the platform's delivery or event id"
        assert [r.recorded for r in self._deliver(sdk, o2o_adapter, first)] == [False], "a redelivery is not recorded again"
        other = o2o_platform.webhook(OrderKind.ONLINE, delivery_id="delivery-9005-b", **kwargs)
        assert [r.recorded for r in self._deliver(sdk, o2o_adapter, other)] == [False], "one order is recorded once"
        assert len(self._orders(sdk)) == 1
