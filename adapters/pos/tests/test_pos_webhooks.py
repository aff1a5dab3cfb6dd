"""Signed sale events through the real web app (o2o_sdk.web.create_app and Starlette's test
client): recorded once, signatures and the replay window enforced on the SDK's clock,
malformed events answered 400 with the reason, vouchers attributed, pickups created."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from o2o_pos import PosAdapter, PosSettings, plugin
from pos_events import NOW, OLD_SECRET, SECRET, STORES, body_of, delivery, event

from o2o_sdk import O2O, Discount, EventType, FrozenClock, Money, OrderKind
from o2o_sdk.web import create_app

with warnings.catch_warnings():  # Starlette's TestClient still works on httpx; its deprecation note is not ours
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

URL = "/webhooks/pos"


@pytest.fixture
def sdk(o2o_make_sdk) -> O2O:
    adapter = PosAdapter(PosSettings(webhook_secrets=[SECRET, OLD_SECRET]))
    sdk = o2o_make_sdk(plugins=[adapter, plugin])  # the entry point module adds the route
    sdk.stores.add(STORES)
    return sdk


@pytest.fixture
def client(sdk: O2O) -> Iterator[TestClient]:
    with TestClient(create_app(sdk)) as client:
        yield client


def post(client: TestClient, request):
    return client.post(URL, content=request.body, headers=request.headers)


def orders(sdk: O2O):
    return sdk.journal.read(types=[EventType.ORDER_IN_STORE, EventType.ORDER_ONLINE])


def test_a_signed_sale_is_recorded_as_an_in_store_order(sdk: O2O, client: TestClient) -> None:
    answer = post(client, delivery())
    assert (answer.status_code, answer.json()) == (200, {"recorded": 1, "duplicates": 0, "cancelled": 0})
    [journal] = orders(sdk)
    assert (journal.type, journal.store_id, journal.customer_id) == (EventType.ORDER_IN_STORE, "lon-soho", "cust-7")
    assert (journal.data["total_minor"], journal.data["currency"], journal.data["platform"]) == (900, "GBP", "pos")
    order = sdk.orders.get("pos", "T01-000950")
    assert order.kind is OrderKind.IN_STORE and order.delivery_id == "evt-0001" and order.location_id == "T01"
    assert order.occurred_at.isoformat() == "2026-06-15T13:05:00+01:00" and order.customer_email == "ada@example.com"
    assert [(i.sku, i.quantity, i.unit_price, i.name) for i in order.items] == [
        ("flat-white", 2, Money(320, "GBP"), "Flat white"), ("cardamom-bun", 1, Money(260, "GBP"), None)]
    assert order.data["source"] == "webhook" and order.data["event_id"] == "evt-0001"


def test_a_store_named_by_its_sdk_id_and_metadata(sdk: O2O, client: TestClient) -> None:
    payload = event(store="ber-mitte", sale_id="B-1", total={"amount": "9.00", "currency": "EUR"},
                    items=[{"sku": "x", "quantity": 1, "unit_price": "9.00"}], metadata={"till": 3})  # fmt: skip
    assert post(client, delivery(payload)).status_code == 200
    order = sdk.orders.get("pos", "B-1")
    assert order.store_id == "ber-mitte" and order.data["metadata"] == {"till": 3}


def test_a_duplicate_delivery_is_recorded_once(sdk: O2O, client: TestClient, o2o_clock: FrozenClock) -> None:
    first = delivery()
    assert post(client, first).json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
    assert post(client, first).json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}  # the same bytes again
    o2o_clock.advance(seconds=90)
    retried = delivery(timestamp=NOW + 90)  # the POS retries later: same event, fresh signature
    assert post(client, retried).json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}
    other_event = delivery(event(event_id="evt-0002"), timestamp=NOW + 90)  # same sale, new event id
    assert post(client, other_event).json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}
    assert len(orders(sdk)) == 1


def test_the_old_secret_still_works_during_a_rotation(sdk: O2O, client: TestClient) -> None:
    assert post(client, delivery(secret=OLD_SECRET)).status_code == 200
    assert post(client, delivery(event(event_id="e2", sale_id="s2"), secret=[SECRET, OLD_SECRET])).status_code == 200
    assert len(orders(sdk)) == 2


@pytest.mark.parametrize(("request_", "needle"), [
    (delivery(signed=False), "no O2O-Signature header"),
    (delivery(secret="not-the-shop-secret-0123456789"), "does not match"),
    (delivery(header="t=1,v1=" + "0" * 64), "does not match"),
    (delivery(header="garbage"), "key=value"),
], ids=["unsigned", "wrong-secret", "forged", "garbage"])  # fmt: skip
def test_a_bad_signature_is_401(sdk: O2O, client: TestClient, request_, needle: str) -> None:
    answer = post(client, request_)
    assert answer.status_code == 401
    assert answer.json()["error"] == "bad_signature" and needle in answer.json()["message"]
    assert orders(sdk) == []


def test_a_tampered_body_is_401(sdk: O2O, client: TestClient) -> None:
    good = delivery()
    tampered = body_of(event(total={"amount": "0.01", "currency": "GBP"}))
    answer = client.post(URL, content=tampered, headers=good.headers)
    assert answer.status_code == 401 and orders(sdk) == []


def test_an_expired_timestamp_is_401(sdk: O2O, client: TestClient, o2o_clock: FrozenClock) -> None:
    request = delivery()
    o2o_clock.advance(timedelta(seconds=301))  # a captured delivery replayed after the window
    answer = post(client, request)
    assert answer.status_code == 401
    assert "301 s old, outside the 300 s replay window" in answer.json()["message"]
    assert orders(sdk) == []


def test_a_timestamp_too_far_in_the_future_is_401(sdk: O2O, client: TestClient) -> None:
    assert post(client, delivery(timestamp=NOW + 300)).status_code == 200  # within the tolerance
    answer = post(client, delivery(event(event_id="e-future", sale_id="s-future"), timestamp=NOW + 301))
    assert answer.status_code == 401 and "in the future" in answer.json()["message"]


def test_the_replay_window_is_configurable(o2o_make_sdk, o2o_clock: FrozenClock) -> None:
    sdk = o2o_make_sdk(plugins=[PosAdapter(PosSettings(webhook_secrets=[SECRET], replay_window=30)), plugin])
    sdk.stores.add(STORES)
    with TestClient(create_app(sdk)) as client:
        request = delivery()
        o2o_clock.advance(seconds=31)
        assert post(client, request).status_code == 401
        assert post(client, delivery(timestamp=NOW + 31)).status_code == 200


def test_malformed_json_is_400_with_the_reason(sdk: O2O, client: TestClient) -> None:
    answer = post(client, delivery(raw=b'{"type": "sale.completed",'))
    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed_payload" and "the body is not JSON" in answer.json()["message"]


def test_an_event_breaking_the_contract_is_400_naming_every_problem(sdk: O2O, client: TestClient) -> None:
    payload = event(items=[{"sku": "x", "quantity": 0, "unit_price": "1.00"}], total={"amount": 9, "currency": "GBP"},
                    custmer={"id": "typo"})  # fmt: skip
    answer = post(client, delivery(payload))
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert answer.json()["error"] == "malformed_payload"
    assert "items[0].quantity: must be a whole number of at least 1, got 0" in message
    assert "total.amount: must be a string, got a number" in message and "custmer: unknown field" in message
    assert orders(sdk) == []


def test_an_unknown_store_is_400(sdk: O2O, client: TestClient) -> None:
    answer = post(client, delivery(event(store="T99")))
    assert answer.status_code == 400
    assert answer.json()["error"] == "unknown_store" and "'T99'" in answer.json()["message"]


def test_a_voucher_at_the_till_is_attributed(sdk: O2O, client: TestClient) -> None:
    offer = sdk.offers.create("20% at the till", Discount.percent_off(20))
    voucher = sdk.offers.issue(offer, "customer-42")
    link = f"https://shop.example/o/{voucher.token}"  # what the till's scanner reads from the QR
    assert post(client, delivery(event(voucher={"token": link}))).json()["recorded"] == 1
    [journal] = orders(sdk)
    assert journal.type == EventType.ORDER_IN_STORE and journal.store_id == "lon-soho"
    assert (journal.offer_id, journal.voucher_id, journal.customer_id) == (offer.id, voucher.id, "customer-42")
    assert journal.data["platform_customer_id"] == "cust-7" and journal.data["discount_codes"] == [voucher.token]


def test_an_online_sale_has_no_store(sdk: O2O, client: TestClient) -> None:
    payload = event(channel="online", store=None, sale_id="WEB-1")
    assert post(client, delivery(payload)).status_code == 200
    [journal] = orders(sdk)
    assert journal.type == EventType.ORDER_ONLINE and journal.store_id is None


def test_a_pickup_section_creates_one_pickup(sdk: O2O, client: TestClient, o2o_clock: FrozenClock) -> None:
    payload = event(channel="online", store=None, sale_id="WEB-20417", event_id="evt-p1",
                    pickup={"store": "T02", "pickup_at": "2026-06-15T17:30:00+02:00",
                            "deadline": "2026-06-18T19:00:00+02:00", "note": "blue van", "curbside": True})  # fmt: skip
    assert post(client, delivery(payload)).json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
    assert post(client, delivery(payload)).json() == {"recorded": 0, "duplicates": 1, "cancelled": 0}
    [pickup] = sdk.pickups.list(store_id="par-marais")
    assert (pickup.platform, pickup.order_id, pickup.curbside, pickup.customer_email) == ("pos", "WEB-20417", True, "ada@example.com")
    assert pickup.data["curbside_note"] == "blue van" and pickup.data["pickup_at"] == "2026-06-15T17:30:00+02:00"
    assert [(i.sku, i.quantity) for i in pickup.items] == [("flat-white", 2), ("cardamom-bun", 1)]
    assert pickup.deadline == datetime(2026, 6, 18, 17, 0, tzinfo=UTC)
    order = sdk.orders.get("pos", "WEB-20417")
    assert order.pickup is not None and order.pickup.store_id == "par-marais" and order.pickup.location_id == "T02"


def test_no_route_without_an_adapter(o2o_make_sdk) -> None:
    sdk = o2o_make_sdk(plugins=[plugin])  # the plugin, but no secret configured: no adapter
    assert "pos" not in sdk.adapters
    with TestClient(create_app(sdk)) as client:
        assert client.post(URL, content=b"{}").status_code in (404, 405)


def test_the_entry_point_registers_the_adapter_from_settings(o2o_make_sdk) -> None:
    sdk = o2o_make_sdk(load_entrypoints=True, plugin_config={"pos": {"webhook_secrets": SECRET, "replay_window": "60"}})
    adapter = sdk.adapters.get("pos")
    assert isinstance(adapter, PosAdapter) and adapter.settings.replay_window == 60
    sdk.stores.add(STORES)
    with TestClient(create_app(sdk)) as client:
        assert post(client, delivery()).json() == {"recorded": 1, "duplicates": 0, "cancelled": 0}
