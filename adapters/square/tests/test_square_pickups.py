"""Pickups of Square orders: SDK pickup steps move the order's PICKUP fulfilment on Square
(read the version, update with an idempotency key per order and state); inventory holds stay the SDK's."""

from __future__ import annotations

import httpx
import pytest
from o2o_square import SquareAdapter, idempotency_key
from square_fake import (
    FakeSquare,
    delivery,
    fake,
    fulfillment_updated_event,
    order,
    order_created_event,
    order_updated_event,
    pickup_fulfillment,
    shipment_fulfillment,
    sleeps,
    spec,
    square,
    ticks,
)

from o2o_sdk import Capability, EventType, NotSupported, PickupKind, PickupState, Store

__all__ = ["fake", "sleeps", "spec", "square", "ticks"]  # fixtures used by name

MIDTOWN = "3Z4V4WHQK64X9"


@pytest.fixture
def sdk(o2o_make_sdk, square: SquareAdapter):
    sdk = o2o_make_sdk(plugins=[square])
    sdk.stores.add(Store("atl", "Atlanta", "America/New_York", 33.79, -84.38, external_ids={"square": MIDTOWN}))
    return sdk


def placed(sdk, fake: FakeSquare, order_id: str = "PICK-1", *, state: str = "PROPOSED", version: int | None = 4):
    """A Square pickup order delivered by webhook: its SDK pickup."""
    body = order(fake.spec, order_id, location_id=MIDTOWN, fulfillments=[pickup_fulfillment(state=state)], state="OPEN")
    if version is None:
        body.pop("version")
    else:
        body["version"] = version
    fake.orders[order_id] = body
    [result] = sdk.adapters.handle_webhook("square", *_parts(delivery(order_created_event(fake.spec, order_id, event_id=f"evt-{order_id}"))))
    assert result.pickup is not None
    fake.requests.clear()
    return result.pickup


def _parts(request):
    return request.headers, request.body, request.url


def updates(fake: FakeSquare) -> list[dict]:
    return fake.bodies("UpdateOrder")


def failures(sdk) -> list:
    return sdk.journal.read(types=[EventType.PICKUP_PLATFORM_FAILED])


def test_the_adapter_follows_pickups(square: SquareAdapter) -> None:
    assert Capability.PICKUPS in square.capabilities


def test_each_step_moves_the_fulfilment_with_the_current_version(sdk, fake: FakeSquare) -> None:
    pickup = placed(sdk, fake)
    sdk.pickups.accept(pickup.id)
    sdk.pickups.ready(pickup.id)
    sdk.pickups.arrived(pickup.id)  # Square has no "arrived": nothing is sent
    sdk.pickups.handover(pickup.id, store_id="atl")
    assert fake.operations() == ["RetrieveOrder", "UpdateOrder"] * 3
    sent = updates(fake)
    assert [u["order"]["fulfillments"] for u in sent] == [[{"uid": "FULFILL-PICKUP-1", "state": s}] for s in ("RESERVED", "PREPARED", "COMPLETED")]
    assert [u["order"]["version"] for u in sent] == [4, 5, 6]
    assert all(u["order"]["location_id"] == MIDTOWN for u in sent)
    assert [u["idempotency_key"] for u in sent] == [idempotency_key("pickup", "PICK-1", s) for s in ("RESERVED", "PREPARED", "COMPLETED")]
    assert len({u["idempotency_key"] for u in sent}) == 3
    assert fake.orders["PICK-1"]["fulfillments"][0]["state"] == "COMPLETED" and failures(sdk) == []


def test_telling_square_twice_changes_it_once(sdk, fake: FakeSquare, square: SquareAdapter) -> None:
    pickup = sdk.pickups.accept(placed(sdk, fake).id)
    square.pickup_changed(sdk, pickup, PickupState.PLACED)  # the SDK retrying the same transition
    assert fake.operations() == ["RetrieveOrder", "UpdateOrder", "RetrieveOrder"]  # already RESERVED: no second update


def test_a_lost_answer_is_retried_with_the_same_key_and_applied_once(sdk, fake: FakeSquare, sleeps) -> None:
    pickup = placed(sdk, fake)

    def applied_but_lost(request: httpx.Request) -> httpx.Response:
        fake(request)  # Square applies the update (version 4 -> 5) ...
        return httpx.Response(500)  # ... and the answer is lost

    fake.answers += [lambda r: httpx.Response(200, json={"order": fake.orders["PICK-1"]}), applied_but_lost]
    sdk.pickups.ready(pickup.id)
    sent = updates(fake)
    assert len(sent) == 3 and sent[0] == sent[2] and len(sleeps) == 1  # the retry is the same request ...
    # ... so Square replays its answer instead of refusing version 4 (the order is at 5 now)
    assert fake.orders["PICK-1"]["fulfillments"][0]["state"] == "PREPARED" and fake.orders["PICK-1"]["version"] == 5
    assert failures(sdk) == []


@pytest.mark.parametrize("end", ["cancel", "release"])
def test_cancelled_and_released_pickups_cancel_the_fulfilment(sdk, fake: FakeSquare, o2o_clock, end: str) -> None:
    pickup = placed(sdk, fake)
    if end == "cancel":
        sdk.pickups.cancel(pickup.id, reason="customer phoned")
    else:
        sdk.pickups.ready(pickup.id)
        fake.requests.clear()
        o2o_clock.advance(days=10)
        [released] = sdk.pickups.release_due()
        assert released.state is PickupState.RELEASED
    [update] = updates(fake)
    change = update["order"]["fulfillments"][0]
    assert change["state"] == "CANCELED" and update["idempotency_key"] == idempotency_key("pickup", "PICK-1", "CANCELED")
    if end == "cancel":
        assert change["pickup_details"] == {"cancel_reason": "customer phoned"}


def test_a_stale_version_is_journaled_and_the_step_stands(sdk, fake: FakeSquare) -> None:
    pickup = placed(sdk, fake)
    stale = {**fake.orders["PICK-1"], "version": 3}
    fake.answers.append(httpx.Response(200, json={"order": stale}))  # someone changed it right after we read it
    assert sdk.pickups.accept(pickup.id).state is PickupState.ACCEPTED
    [failed] = failures(sdk)
    assert (failed.data["call"], failed.data["error"], failed.data["platform"]) == ("pickup_changed", "platform_conflict", "square")
    assert "does not match" in failed.data["message"]


def test_a_fulfilment_square_already_finished_is_not_changed(sdk, fake: FakeSquare) -> None:
    pickup = placed(sdk, fake)
    fake.orders["PICK-1"]["fulfillments"][0]["state"] = "COMPLETED"
    sdk.pickups.cancel(pickup.id)
    assert "UpdateOrder" not in fake.operations()
    [failed] = failures(sdk)
    assert failed.data["error"] == "fulfillment_final" and "already COMPLETED" in failed.data["message"]


def test_orders_without_a_version_cannot_be_updated(sdk, fake: FakeSquare) -> None:
    pickup = placed(sdk, fake, version=None)
    sdk.pickups.accept(pickup.id)
    assert "UpdateOrder" not in fake.operations()
    assert failures(sdk)[0].data["error"] == "order_not_updatable"


def test_an_order_that_lost_its_pickup_fulfilment_is_reported(sdk, fake: FakeSquare) -> None:
    pickup = placed(sdk, fake)
    fake.orders["PICK-1"]["fulfillments"] = []
    sdk.pickups.accept(pickup.id)
    assert failures(sdk)[0].data["error"] == "no_pickup_fulfillment"


# ------------------------------------------------------------------ orders cancelled on Square


def told(sdk, event: dict) -> list:
    return sdk.adapters.handle_webhook("square", *_parts(delivery(event)))


def cancelled_journal(sdk) -> list:
    return sdk.journal.read(types=[EventType.PICKUP_CANCELLED])


@pytest.mark.parametrize("how", ["order.updated", "order.fulfillment.updated", "fulfilment FAILED"])
def test_an_order_cancelled_on_square_cancels_its_pickup_without_writing_back(sdk, fake: FakeSquare, how: str) -> None:
    pickup = sdk.pickups.accept(placed(sdk, fake).id)
    fake.requests.clear()
    square_order = fake.orders["PICK-1"]
    ended = "FAILED" if how == "fulfilment FAILED" else "CANCELED"
    square_order["fulfillments"][0]["state"] = ended
    if how == "order.updated":  # cancelled in the Dashboard: the order and its fulfilment
        square_order["state"] = "CANCELED"
        event = order_updated_event(fake.spec, "PICK-1", event_id="evt-cancel", location_id=MIDTOWN)
    else:  # the pickup fulfilment cancelled (or failed) through the API, the order still open
        event = fulfillment_updated_event(fake.spec, "PICK-1", event_id="evt-cancel", old_state="RESERVED", new_state=ended,
                                          location_id=MIDTOWN)  # fmt: skip
    [result] = told(sdk, event)
    assert result.order.cancelled and not result.recorded
    assert (result.pickup.id, result.pickup.state, result.pickup.reason) == (pickup.id, PickupState.CANCELLED, "cancelled_on_square")
    assert fake.operations() == ["RetrieveOrder"], "read to confirm; nothing written back to Square"
    assert [e.data["reason"] for e in cancelled_journal(sdk)] == ["cancelled_on_square"]
    fake.requests.clear()
    assert told(sdk, event) == [] and fake.requests == []  # redelivered: the pickup has ended, nothing is read
    assert sdk.pickups.get(pickup.id) == result.pickup and len(cancelled_journal(sdk)) == 1


def test_our_own_cancel_coming_back_from_square_is_not_even_read(sdk, fake: FakeSquare) -> None:
    pickup = placed(sdk, fake)
    mine = sdk.pickups.cancel(pickup.id, reason="customer phoned")
    assert fake.orders["PICK-1"]["fulfillments"][0]["state"] == "CANCELED" and fake.operations() == ["RetrieveOrder", "UpdateOrder"]
    fake.requests.clear()
    # Square publishes the change the adapter made: no request, no second cancellation, no loop.
    assert told(sdk, fulfillment_updated_event(fake.spec, "PICK-1", event_id="evt-echo", location_id=MIDTOWN)) == []
    assert told(sdk, order_updated_event(fake.spec, "PICK-1", event_id="evt-echo-2", state="OPEN", location_id=MIDTOWN)) == []
    assert fake.requests == [] and sdk.pickups.get(pickup.id) == mine and len(cancelled_journal(sdk)) == 1


def test_another_fulfilment_cancelled_leaves_the_pickup_open(sdk, fake: FakeSquare) -> None:
    pickup = placed(sdk, fake)
    fake.orders["PICK-1"]["fulfillments"].append({**shipment_fulfillment(), "state": "CANCELED"})
    event = fulfillment_updated_event(fake.spec, "PICK-1", event_id="evt-ship", uid="FULFILL-SHIP-1", location_id=MIDTOWN)
    assert told(sdk, event) == []
    assert fake.operations() == ["RetrieveOrder"] and sdk.pickups.get(pickup.id).state is PickupState.PLACED


def test_other_order_updates_are_not_read(sdk, fake: FakeSquare) -> None:
    placed(sdk, fake)
    assert told(sdk, order_updated_event(fake.spec, "PICK-1", event_id="evt-open", state="OPEN", location_id=MIDTOWN)) == []
    assert told(sdk, fulfillment_updated_event(fake.spec, "PICK-1", event_id="evt-prep", old_state="RESERVED",
                                               new_state="PREPARED", location_id=MIDTOWN)) == []  # fmt: skip
    assert fake.requests == []


@pytest.mark.parametrize("ended", ["CANCELED", "FAILED"])
def test_a_pickup_order_first_seen_cancelled_gets_no_pickup(sdk, fake: FakeSquare, ended: str) -> None:
    fake.orders["PICK-2"] = order(fake.spec, "PICK-2", location_id=MIDTOWN, fulfillments=[pickup_fulfillment(state=ended)],
                                  state="OPEN", version=3)  # fmt: skip
    [result] = told(sdk, order_created_event(fake.spec, "PICK-2", event_id="evt-new"))
    assert result.order.cancelled and (result.recorded, result.pickup) == (False, None)
    assert sdk.pickups.list() == [] and sdk.orders.list() == []


# ------------------------------------------------------------------ inventory holds


def test_holds_are_the_sdks_own_for_square_stores(sdk, fake: FakeSquare, square: SquareAdapter) -> None:
    # Square's Inventory API cannot move stock to RESERVED_FOR_SALE (read-only), so the adapter
    # does not declare inventory holds and the SDK holds the items itself.
    assert Capability.INVENTORY_HOLDS not in square.capabilities
    reservation = sdk.pickups.create("atl", [{"sku": "TEA-BLACK-R", "quantity": 2}], kind=PickupKind.RESERVATION,
                                     customer_email="ada@example.com")  # fmt: skip
    assert reservation.hold_ref == "sdk"
    assert sdk.pickups.held(["atl"], ["TEA-BLACK-R"]) == {"atl": {"TEA-BLACK-R": 2}}
    sdk.pickups.cancel(reservation.id)
    assert sdk.pickups.held(["atl"], ["TEA-BLACK-R"]).get("atl", {}).get("TEA-BLACK-R", 0) == 0
    assert fake.requests == []  # Square's inventory was not touched
    with pytest.raises(NotSupported) as caught:
        square.hold_inventory(sdk, reservation)
    assert "RESERVED_FOR_SALE" in caught.value.message
    with pytest.raises(NotSupported):
        square.release_inventory(sdk, reservation, "ref", sold=True)


def test_square_stock_minus_the_sdks_holds_in_the_locator(sdk, fake: FakeSquare) -> None:
    assert [m.store.id for m in sdk.stores.near(33.79, -84.38, k=5, skus=["TEA-BLACK-L"])] == ["atl"]  # Square has 7
    sdk.pickups.create("atl", [{"sku": "TEA-BLACK-L", "quantity": 7}], kind=PickupKind.RESERVATION, customer_email="a@example.com")
    assert sdk.stores.near(33.79, -84.38, k=5, skus=["TEA-BLACK-L"]) == []  # all 7 are held
    assert fake.operations().count("BatchRetrieveInventoryCounts") == 2
