"""sdk.orders: platform orders mapped to our stores, offers and vouchers, recorded once, journaled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from o2o_sdk import (
    O2O,
    Discount,
    EventType,
    InvalidInput,
    JournalEvent,
    Money,
    NotFound,
    OfferMirror,
    OrderEvent,
    OrderKind,
    Store,
    hookimpl,
)

AT = datetime(2026, 6, 15, 11, 30, tzinfo=UTC)


def order(order_id: str = "o-1", **changes) -> OrderEvent:
    base = OrderEvent("acme", order_id, OrderKind.IN_STORE, AT, Money(2599, "EUR"), location_id="LOC-1",
                      customer_id="acme-cust-9", customer_email="a@example.com", discount_codes=("HELLO",),
                      delivery_id=f"d-{order_id}")  # fmt: skip
    return attrs.evolve(base, **changes)


@pytest.fixture
def shop(sdk: O2O) -> O2O:
    sdk.stores.add(Store("acme-store", "Acme store", "Europe/London", 51.5, -0.1, external_ids={"acme": "LOC-1"}))
    return sdk


def test_in_store_order_is_mapped_and_journaled(shop: O2O) -> None:
    result = shop.orders.record(order())
    assert result.recorded and result.order.store_id == "acme-store"
    event = result.event
    assert event is not None and event.seq is not None
    assert (event.type, event.store_id, event.customer_id, event.offer_id) == (EventType.ORDER_IN_STORE, "acme-store", "acme-cust-9", None)
    assert event.data == {
        "platform": "acme", "order_id": "o-1", "kind": "in_store", "location_id": "LOC-1",
        "customer_email": "a@example.com", "platform_customer_id": "acme-cust-9", "discount_codes": ["HELLO"],
        "total_minor": 2599, "currency": "EUR", "occurred_at": "2026-06-15T11:30:00+00:00", "delivery_id": "d-o-1",
    }  # fmt: skip
    assert shop.journal.read(types=[EventType.ORDER_IN_STORE]) == [event]
    assert shop.orders.get("acme", "o-1") == result.order


def test_online_order_is_journaled_as_online(shop: O2O) -> None:
    result = shop.orders.record(order(kind=OrderKind.ONLINE, location_id=None))
    assert result.event is not None and result.event.type == EventType.ORDER_ONLINE and result.event.store_id is None


def test_same_delivery_or_same_order_is_recorded_once(shop: O2O) -> None:
    assert shop.orders.record(order()).recorded
    again = shop.orders.record(order())
    assert not again.recorded and again.event is None
    assert not shop.orders.record(order(delivery_id="another-delivery")).recorded  # same order id
    assert not shop.orders.record(order("o-2", delivery_id="d-o-1")).recorded  # same delivery id
    assert shop.orders.record(order("o-3")).recorded
    assert shop.orders.record(order("o-4", delivery_id=None)).recorded
    assert shop.orders.record(order("o-5", delivery_id=None)).recorded  # no delivery id: deduped by order only
    assert shop.journal.counts()[EventType.ORDER_IN_STORE] == 4
    assert [o.order_id for o in shop.orders.list("acme")] == ["o-1", "o-3", "o-4", "o-5"]


def test_the_same_order_id_on_two_platforms_is_two_orders(shop: O2O) -> None:
    assert shop.orders.record(order()).recorded
    assert shop.orders.record(order(platform="other")).recorded


def test_a_voucher_id_or_token_as_code_attributes_the_order(shop: O2O) -> None:
    offer = shop.offers.create("10% off", Discount.percent_off(10))
    by_id, by_token = shop.offers.issue(offer, "cust-a"), shop.offers.issue(offer, "cust-b")
    first = shop.orders.record(order("o-1", discount_codes=("NOPE", by_id.id.upper())))
    second = shop.orders.record(order("o-2", discount_codes=(by_token.token,)))
    assert (first.order.offer_id, first.order.voucher_id) == (offer.id, by_id.id)
    assert (second.order.offer_id, second.order.voucher_id) == (offer.id, by_token.id)
    assert first.event is not None and first.event.customer_id == "cust-a"  # the shop's own customer id
    assert first.order.customer_id == "acme-cust-9"  # the platform's, kept on the order


def test_a_sale_reported_after_its_voucher_expired_is_still_attributed(shop: O2O, clock) -> None:
    offer = shop.offers.create("10% off", Discount.percent_off(10))
    voucher = shop.offers.issue(offer, "cust-late", ttl=timedelta(hours=1))
    clock.advance(timedelta(days=2))  # the batch upload comes two days later
    late = shop.orders.record(order("o-late", discount_codes=(voucher.token,)))
    assert (late.order.offer_id, late.order.voucher_id) == (offer.id, voucher.id)
    forged = shop.orders.record(order("o-forged", discount_codes=(voucher.token[:-2] + "xx",)))
    assert forged.order.voucher_id is None


def test_a_mirrored_code_attributes_the_order_to_its_offer(shop: O2O) -> None:
    offer = shop.offers.create("Spring", Discount.percent_off(10))
    shop.storage.insert_mirror(OfferMirror(offer.id, "acme", "disc-1", "Spring10", shop.clock.now()))
    result = shop.orders.record(order(discount_codes=("SPRING10",)))
    assert (result.order.offer_id, result.order.voucher_id) == (offer.id, None)
    other_platform = shop.orders.record(order("o-2", platform="other", discount_codes=("SPRING10",)))
    assert other_platform.order.offer_id is None


def test_unknown_codes_and_locations_stay_unmapped(shop: O2O) -> None:
    result = shop.orders.record(order(location_id="LOC-404", discount_codes=("0123456789abcdef", "x.y.z")))
    assert (result.order.store_id, result.order.offer_id, result.order.voucher_id) == (None, None, None)


def test_adapter_supplied_mapping_is_kept(shop: O2O) -> None:
    result = shop.orders.record(order(store_id="given", offer_id="off_given"))
    assert (result.order.store_id, result.order.offer_id) == ("given", "off_given")


@pytest.mark.parametrize("bad", [
    {"order_id": ""}, {"platform": ""}, {"kind": "shop"}, {"occurred_at": datetime(2026, 6, 15, 12, 0)},
])  # fmt: skip
def test_malformed_orders_are_refused(shop: O2O, bad: dict) -> None:
    with pytest.raises(InvalidInput):
        shop.orders.record(order(**bad))


def test_unknown_order_is_not_found(shop: O2O) -> None:
    with pytest.raises(NotFound):
        shop.orders.get("acme", "nope")


def test_sinks_see_recorded_orders_once(shop: O2O) -> None:
    seen: list[JournalEvent] = []

    class Sink:
        @hookimpl
        def o2o_journal_event(self, sdk: O2O, event: JournalEvent) -> None:
            seen.append(event)

    shop.plugins.register(Sink())
    shop.orders.record(order())
    shop.orders.record(order())
    assert [e.type for e in seen] == [EventType.ORDER_IN_STORE]


def test_orders_keep_their_own_time(shop: O2O) -> None:
    late = order(occurred_at=AT - timedelta(days=3))
    result = shop.orders.record(late)
    assert shop.orders.get("acme", "o-1").occurred_at == AT - timedelta(days=3)
    assert result.event is not None and result.event.at == shop.clock.now()


def test_mirrors_are_kept_once_per_offer_and_platform(shop: O2O) -> None:
    offer = shop.offers.create("Spring", Discount.percent_off(10))
    first = shop.storage.insert_mirror(OfferMirror(offer.id, "acme", "disc-1", "SPRING", shop.clock.now()))
    again = shop.storage.insert_mirror(OfferMirror(offer.id, "acme", "disc-2", "OTHER", shop.clock.now()))
    assert again == first and shop.storage.find_mirror("acme", "spring") == first
    assert shop.storage.set_mirror_usage(offer.id, "acme", 3, shop.clock.now())
    assert shop.storage.get_mirror(offer.id, "acme").usage_count == 3  # type: ignore[union-attr]
    assert not shop.storage.set_mirror_usage("off_none", "acme", 3, shop.clock.now())


def _revenue(sdk: O2O) -> tuple[int, int]:
    rows = sdk.analytics.funnel().revenue
    return sum(r.orders for r in rows), sum(r.amount_minor for r in rows)


def test_an_order_cancelled_after_it_was_recorded_is_marked_journaled_once_and_earns_nothing(shop: O2O) -> None:
    offer = shop.offers.create("Ten off", Discount.percent_off(10))
    voucher = shop.offers.issue(offer, "cust-1")
    placed = shop.orders.record(order(discount_codes=(voucher.token,)))
    shop.orders.record(order("o-2", total=Money(1000, "EUR")))  # stays
    assert placed.event is not None and placed.event.customer_id == "cust-1"
    assert shop.analytics.attribute() == 2 and _revenue(shop) == (2, 2599 + 1000)

    gone = shop.orders.record(order(cancelled=True, delivery_id="d-cancel"))
    assert not gone.recorded and gone.event is not None and gone.event.type == EventType.ORDER_CANCELLED
    e = gone.event
    assert (e.store_id, e.customer_id, e.offer_id, e.voucher_id) == ("acme-store", "cust-1", offer.id, voucher.id)
    assert e.data == {"platform": "acme", "order_id": "o-1", "kind": "in_store", "total_minor": 2599, "currency": "EUR",
                      "delivery_id": "d-cancel"}  # fmt: skip
    assert shop.orders.get("acme", "o-1").cancelled and not shop.orders.get("acme", "o-2").cancelled
    assert _revenue(shop) == (1, 1000), "the cancelled order's revenue is left out"
    assert len(shop.analytics.attributions()) == 2, "its attribution stays, as history"

    # Redelivered, or a cancellation of an order never recorded: nothing more.
    assert shop.orders.record(order(cancelled=True, delivery_id="d-cancel-2")).event is None
    assert shop.orders.record(order("o-9", cancelled=True)).event is None
    assert shop.journal.read(types=[EventType.ORDER_CANCELLED]) == [e]
    assert [o.order_id for o in shop.orders.list()] == ["o-1", "o-2"] and _revenue(shop) == (1, 1000)


def test_an_order_cancelled_before_its_attribution_still_earns_nothing(shop: O2O) -> None:
    shop.orders.record(order())
    shop.orders.record(order(cancelled=True, delivery_id="d-cancel"))
    assert shop.analytics.attribute() == 1 and _revenue(shop) == (0, 0)


@pytest.mark.postgres
def test_a_cancellation_needs_no_second_connection(pg_url: str, clock) -> None:
    # With one pooled connection, a read made inside the cancelling transaction would wait for
    # a second connection that never comes (the pool's 30 s timeout, then a storage error).
    import cattrs

    from o2o_sdk import Config, SigningKey
    from o2o_sdk.storage.postgres import PostgresStorage

    class OneConnection:
        @hookimpl
        def o2o_provide_storage(self, url: str, converter: cattrs.Converter) -> PostgresStorage | None:
            return PostgresStorage(url.replace("one+", "", 1), converter, pool_size=1) if url.startswith("one+") else None

    config = Config(database_url="one+" + pg_url, secret_keys=(SigningKey("k", b"k" * 32),), auto_migrate=True)
    with O2O(config, clock=clock, plugins=[OneConnection()]) as sdk:
        sdk.stores.add(Store("acme-store", "Acme store", "Europe/London", 51.5, -0.1, external_ids={"acme": "LOC-1"}))
        voucher = sdk.offers.issue(sdk.offers.create("Ten off", Discount.percent_off(10)), "cust-1")
        sdk.orders.record(order(discount_codes=(voucher.token,)))
        gone = sdk.orders.record(order(cancelled=True, delivery_id="d-cancel"))
        assert gone.event is not None and gone.event.customer_id == "cust-1"
