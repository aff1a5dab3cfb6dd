"""Pickups and reservations: every step and refusal, passes, holds, deadlines, slots, platform orders.

Runs on SQLite and PostgreSQL (the ``sdk`` fixture). Concurrency tests race real database
connections: each thread has its own SDK instance on the test's database.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from o2o_sdk import (
    O2O,
    AdapterBase,
    Capability,
    EventType,
    FollowUpStatus,
    FrozenClock,
    InvalidInput,
    Money,
    NotFound,
    OpeningHours,
    OrderEvent,
    OrderKind,
    OrderLine,
    Pickup,
    PickupDetails,
    PickupKind,
    PickupRefused,
    PickupState,
    SigningKey,
    StorageError,
    Store,
    TokenError,
    hookimpl,
)
from o2o_sdk.http import PlatformError

S = PickupState
SHIRT = OrderLine("SHIRT-M", 2, "Oxford shirt M", Money.of("39.00", "GBP"))


def journal_types(sdk: O2O, prefix: str = "pickup_") -> list[str]:
    return [e.type for e in sdk.journal.read(limit=10_000) if e.type.startswith(prefix)]


def place(sdk: O2O, **kw: Any) -> Pickup:
    kw.setdefault("customer_id", "cus_1")
    kw.setdefault("customer_email", "ada@example.com")
    return sdk.pickups.create(kw.pop("store_id", "lon-soho"), kw.pop("items", [SHIRT]), **kw)


# ------------------------------------------------------------------ the lifecycle
def test_order_goes_placed_accepted_ready_arrived_handed_over(sdk: O2O, clock: FrozenClock) -> None:
    p = place(sdk)
    assert (p.state, p.kind, p.version, p.deadline) == (S.PLACED, PickupKind.ORDER, 1, None)
    assert sdk.pickups.accept(p.id, staff_id="st_1").state is S.ACCEPTED
    clock.advance(timedelta(minutes=20))
    ready = sdk.pickups.ready(p.id)
    assert ready.state is S.READY and ready.ready_at == clock.now()
    assert ready.deadline == clock.now() + sdk.config.pickups.collect_within
    clock.advance(timedelta(hours=1))
    here = sdk.pickups.arrived(p.id, method="link", note="  bay 4, red Fiat  ")
    assert (here.state, here.arrival_note, here.arrival_method) == (S.ARRIVED, "bay 4, red Fiat", "link")
    done = sdk.pickups.handover(sdk.pickups.pass_url(p), store_id="lon-soho", staff_id="st_2")
    assert (done.state, done.bought, done.finished_at, done.version) == (S.HANDED_OVER, True, clock.now(), 5)
    assert journal_types(sdk) == ["pickup_placed", "pickup_accepted", "pickup_ready", "pickup_arrived", "pickup_handed_over"]
    handed = next(e for e in sdk.journal.read(limit=100) if e.type == "pickup_handed_over")
    assert (handed.store_id, handed.customer_id, handed.data["from"], handed.data["staff_id"]) == ("lon-soho", "cus_1", "arrived", "st_2")
    assert sdk.pickups.get(p.id) == done


ALL_STEPS: dict[str, Callable[[O2O, Pickup], Pickup]] = {
    "accept": lambda sdk, p: sdk.pickups.accept(p.id),
    "ready": lambda sdk, p: sdk.pickups.ready(p.id),
    "arrived": lambda sdk, p: sdk.pickups.arrived(p.id),
    "handover": lambda sdk, p: sdk.pickups.handover(p.id, store_id=p.store_id),
    "cancel": lambda sdk, p: sdk.pickups.cancel(p.id),
}
# From each state (reached by the path), the steps allowed; the others must be refused.
PATHS = {
    S.PLACED: [],
    S.ACCEPTED: ["accept"],
    S.READY: ["accept", "ready"],
    S.ARRIVED: ["accept", "ready", "arrived"],
    S.HANDED_OVER: ["accept", "ready", "handover"],
    S.CANCELLED: ["cancel"],
}
ALLOWED = {
    S.PLACED: {"accept", "ready", "arrived", "cancel"},
    S.ACCEPTED: {"ready", "arrived", "cancel"},
    S.READY: {"arrived", "handover", "cancel"},
    S.ARRIVED: {"handover", "cancel", "arrived"},  # arrived again: unchanged, no error
    S.HANDED_OVER: set(),
    S.CANCELLED: set(),
}


@pytest.mark.parametrize("state", list(PATHS), ids=lambda s: s.value)
def test_every_step_from_every_state_is_taken_or_refused_with_a_reason(sdk: O2O, state: PickupState) -> None:
    for step in ALL_STEPS:
        p = place(sdk)
        for before in PATHS[state]:
            p = ALL_STEPS[before](sdk, p)
        assert p.state is state
        events_before = len(journal_types(sdk))
        if step in ALLOWED[state]:
            ALL_STEPS[step](sdk, p)
            continue
        with pytest.raises(PickupRefused) as refused:
            ALL_STEPS[step](sdk, p)
        assert refused.value.code in ("illegal_transition", f"already_{ {'accept': 'accepted', 'ready': 'ready', 'handover': 'handed_over', 'cancel': 'cancelled', 'arrived': 'arrived'}[step]}")
        assert refused.value.current == state.value
        assert refused.value.message.startswith(f"Pickup {p.id} is {state.value}")
        assert sdk.pickups.get(p.id) == p, "a refused step changes nothing"
        assert len(journal_types(sdk)) == events_before


def test_ready_twice_is_refused_as_already_ready(sdk: O2O) -> None:
    p = place(sdk)
    sdk.pickups.ready(p.id)
    with pytest.raises(PickupRefused) as refused:
        sdk.pickups.ready(p.id)
    assert refused.value.code == "already_ready"


def test_ready_after_an_early_arrival_keeps_arrived_and_alerts_the_store(sdk: O2O) -> None:
    alerts = Alerts()
    sdk.plugins.register(alerts)
    p = place(sdk)
    sdk.pickups.arrived(p.id, note="at the counter")
    ready = sdk.pickups.ready(p.id)
    assert ready.state is S.ARRIVED and ready.ready_at is not None and ready.deadline is not None
    assert journal_types(sdk)[-1] == "pickup_ready"
    assert [w for _, w in alerts.seen] == ["placed", "arrived", "ready"]
    assert sdk.pickups.handover(p.id, store_id="lon-soho").state is S.HANDED_OVER


def test_arriving_twice_returns_the_pickup_unchanged(sdk: O2O) -> None:
    p = sdk.pickups.arrived(place(sdk).id, note="first")
    assert sdk.pickups.arrived(p.id) == p and sdk.pickups.arrived(p.id, note="first") == p
    again = sdk.pickups.arrived(p.id, note="bay 7")
    assert (again.state, again.arrival_note, again.version) == (S.ARRIVED, "bay 7", p.version + 1)
    assert journal_types(sdk).count("pickup_arrived") == 1


def test_bad_input_is_refused_with_typed_errors(sdk: O2O, clock: FrozenClock) -> None:
    with pytest.raises(NotFound):
        sdk.pickups.create("nowhere", [SHIRT])
    with pytest.raises(InvalidInput) as no_items:
        sdk.pickups.create("lon-soho", [])
    assert no_items.value.code == "invalid_item"
    with pytest.raises(InvalidInput, match="quantity"):
        sdk.pickups.create("lon-soho", [{"sku": "A", "quantity": 0}])
    with pytest.raises(InvalidInput) as kind:
        sdk.pickups.create("lon-soho", [SHIRT], kind="delivery")
    assert kind.value.code == "invalid_kind"
    with pytest.raises(InvalidInput) as naive:
        sdk.pickups.create("lon-soho", [SHIRT], deadline=datetime(2026, 7, 1, 12, 0))
    assert naive.value.code == "naive_datetime"
    with pytest.raises(InvalidInput) as past:
        sdk.pickups.create("lon-soho", [SHIRT], deadline=clock.now() - timedelta(minutes=1))
    assert past.value.code == "deadline_passed"
    with pytest.raises(InvalidInput, match="email"):
        sdk.pickups.create("lon-soho", [SHIRT], customer_email="not-an-address")
    with pytest.raises(NotFound):
        sdk.pickups.accept("pku_nope")
    with pytest.raises(InvalidInput) as state:
        sdk.pickups.list(state="lost")
    assert state.value.code == "invalid_state"
    assert sdk.pickups.list() == []


def test_a_customer_known_only_by_email_gets_a_stable_id_and_a_contact(sdk: O2O) -> None:
    p = sdk.pickups.create("lon-soho", [{"sku": "A", "quantity": 1}], customer_email="Ada@Example.com")
    assert p.customer_id == "email:ada@example.com"
    assert sdk.followups.contacts.get("email:ada@example.com").email == "Ada@Example.com"


# ------------------------------------------------------------------ the pass
def test_pass_names_the_pickup_and_a_forged_or_foreign_pass_is_refused(sdk: O2O, make_sdk: Callable[..., O2O]) -> None:
    p = place(sdk)
    sdk.pickups.ready(p.id)
    token = sdk.pickups.pass_token(p)
    assert sdk.pickups.verify_pass(token).id == p.id
    assert sdk.pickups.verify_pass(sdk.pickups.pass_url(p) + "?utm=mail").id == p.id
    with pytest.raises(TokenError):
        sdk.pickups.handover(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), store_id="lon-soho")
    with pytest.raises(TokenError):  # a voucher-style token of another purpose is not a pass
        sdk.pickups.verify_pass(sdk.followups.unsubscribe_token("cus_1", "email"))
    other_shop = make_sdk(secret_keys=(SigningKey("z", b"another-shop-secret-0123456789"),))
    with pytest.raises(TokenError):
        sdk.pickups.verify_pass(other_shop.pickups.pass_token(p.id))
    with pytest.raises(PickupRefused) as wrong:
        sdk.pickups.handover(token, store_id="nyc-soho")
    assert wrong.value.code == "wrong_store"
    assert sdk.pickups.get(p.id).state is S.READY
    qr = sdk.pickups.pass_qr(p)
    assert qr.version <= 6


def test_pass_describes_store_address_hours_today_and_deadline_in_store_time(sdk: O2O, clock: FrozenClock) -> None:
    sdk.stores.add(Store("lon-pick", "London Pickup", "Europe/London", 51.51, -0.13, "1 Test St", ("pickup",),
                         OpeningHours.parse({"weekly": {"mon-fri": ["09:00-18:00"], "sat": ["10:00-16:00"]}})))  # fmt: skip
    p = place(sdk, store_id="lon-pick")
    p = sdk.pickups.ready(p.id, deadline=datetime(2026, 6, 17, 16, 30, tzinfo=UTC))
    text = sdk.pickups.describe(p)
    assert text["store_address"] == "1 Test St" and text["hours_today"] == "09:00-18:00"
    assert text["deadline"] == "Wed 17 Jun 17:30"  # BST
    clock.set(datetime(2026, 6, 21, 12, 0, tzinfo=UTC))  # a Sunday
    assert sdk.pickups.describe(p)["hours_today"] == "closed today"


# ------------------------------------------------------------------ concurrency
def race(n: int, make: Callable[[], O2O], act: Callable[[O2O], Any]) -> list[str]:
    """Run ``act`` on ``n`` threads at once, each with its own SDK (its own connections)."""
    sdks = [make() for _ in range(n)]
    barrier = threading.Barrier(n)
    out: list[str] = [""] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            act(sdks[i])
            out[i] = "ok"
        except PickupRefused as exc:
            out[i] = exc.code
        except Exception as exc:  # pragma: no cover - shown in the assertion
            out[i] = f"error: {exc!r}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_two_to_eight_staff_handing_over_one_pickup_hand_it_over_once(sdk: O2O, make_sdk: Callable[..., O2O]) -> None:
    p = place(sdk)
    sdk.pickups.ready(p.id)
    token = sdk.pickups.pass_token(p)
    outcomes = race(8, make_sdk, lambda s: s.pickups.handover(token, store_id="lon-soho"))
    assert Counter(outcomes) == {"ok": 1, "already_handed_over": 7}
    assert journal_types(sdk).count("pickup_handed_over") == 1
    assert sdk.pickups.get(p.id).version == 3


def test_handover_racing_cancel_leaves_exactly_one_final_state(sdk: O2O, make_sdk: Callable[..., O2O]) -> None:
    p = place(sdk)
    sdk.pickups.ready(p.id)
    outcomes = race(6, make_sdk, lambda s: (s.pickups.cancel(p.id) if id(s) % 2 else s.pickups.handover(p.id, store_id="lon-soho")))
    assert outcomes.count("ok") == 1
    final = sdk.pickups.get(p.id).state
    assert final in (S.CANCELLED, S.HANDED_OVER)
    assert len([t for t in journal_types(sdk) if t in ("pickup_cancelled", "pickup_handed_over")]) == 1


# ------------------------------------------------------------------ slots
def slot_store(sdk: O2O, capacity: int = 3) -> Store:
    store = Store("lon-deli", "London Deli", "Europe/London", 51.5, -0.12, "3 Deli Row", ("pickup",),
                  OpeningHours.parse({"weekly": {"mon-sun": ["11:00-14:00"]}}), attributes={"pickup_slot_capacity": capacity})  # fmt: skip
    sdk.stores.add(store)
    return store


def test_slots_lie_within_opening_hours_in_the_store_zone_from_the_lead_time(sdk: O2O, clock: FrozenClock) -> None:
    slot_store(sdk)
    # now: Mon 15 Jun 12:00 UTC = 13:00 BST; lead time 30 min -> first slot 13:30 local, last 13:45
    today = sdk.pickups.slots("lon-deli", date(2026, 6, 15))
    assert [f"{s.start.astimezone(__import__('zoneinfo').ZoneInfo('Europe/London')):%H:%M}" for s in today] == ["13:30", "13:45"]
    tomorrow = sdk.pickups.slots("lon-deli", date(2026, 6, 16))
    assert len(tomorrow) == 12 and tomorrow[0].start == datetime(2026, 6, 16, 10, 0, tzinfo=UTC)
    assert all(s.capacity == 3 and s.available == 3 for s in tomorrow)
    assert tomorrow[0].end - tomorrow[0].start == timedelta(minutes=15)


def test_booking_a_slot_counts_and_refuses_off_grid_closed_or_too_soon(sdk: O2O) -> None:
    slot_store(sdk, capacity=1)
    start = datetime(2026, 6, 16, 10, 15, tzinfo=UTC)
    p = place(sdk, store_id="lon-deli", slot_start=start)
    assert p.slot_start == start
    assert sdk.pickups.slots("lon-deli", date(2026, 6, 16))[1].booked == 1
    with pytest.raises(PickupRefused) as full:
        place(sdk, store_id="lon-deli", slot_start=start)
    assert full.value.code == "slot_full"
    for bad in (datetime(2026, 6, 16, 10, 7, tzinfo=UTC), datetime(2026, 6, 16, 16, 0, tzinfo=UTC),
                datetime(2026, 6, 15, 12, 15, tzinfo=UTC)):  # fmt: skip
        with pytest.raises(PickupRefused) as refused:
            place(sdk, store_id="lon-deli", slot_start=bad)
        assert refused.value.code == "slot_unavailable"
    assert len(sdk.pickups.list(store_id="lon-deli")) == 1, "a refused booking creates no pickup"
    sdk.pickups.cancel(p.id)
    assert sdk.pickups.slots("lon-deli", date(2026, 6, 16))[1].booked == 0, "cancelling frees the slot"
    assert place(sdk, store_id="lon-deli", slot_start=start).slot_start == start


@pytest.mark.parametrize(("n", "capacity"), [(12, 4), (3, 5)])
def test_concurrent_bookings_into_a_slot_yield_min_n_c(sdk: O2O, make_sdk: Callable[..., O2O], n: int, capacity: int) -> None:
    slot_store(sdk, capacity=capacity)
    start = datetime(2026, 6, 16, 11, 0, tzinfo=UTC)
    outcomes = race(n, make_sdk, lambda s: place(s, store_id="lon-deli", slot_start=start))
    assert Counter(outcomes) == Counter({"ok": min(n, capacity), **({"slot_full": n - capacity} if n > capacity else {})})
    assert sdk.pickups.slots("lon-deli", date(2026, 6, 16))[4].booked == min(n, capacity)
    assert len(sdk.pickups.list(store_id="lon-deli")) == min(n, capacity)


def test_slots_on_the_day_clocks_go_forward_skip_the_missing_hour(sdk: O2O, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    sdk.stores.add(Store("lon-night", "Night Kitchen", "Europe/London", 51.5, -0.1, "", ("pickup",),
                         OpeningHours.parse({"weekly": {"sun": ["00:00-03:00"]}}),
                         attributes={"pickup_slot_minutes": 60}))  # fmt: skip
    # Sunday 29 March 2026: 01:00 local does not exist
    slots = sdk.pickups.slots("lon-night", date(2026, 3, 29))
    assert [s.start for s in slots] == [datetime(2026, 3, 29, 0, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]


# ------------------------------------------------------------------ reservations and holds
class Stock:
    def __init__(self, levels: dict[str, dict[str, int]]) -> None:
        self.levels = levels

    @hookimpl
    def o2o_check_inventory(self, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]]:
        return {s.id: {k: v for k, v in self.levels.get(s.id, {}).items() if k in skus} for s in stores}


def test_reservation_holds_items_that_the_locator_stops_offering_until_released(sdk: O2O, clock: FrozenClock) -> None:
    sdk.plugins.register(Stock({"lon-soho": {"DRESS-S": 1}, "nyc-soho": {"DRESS-S": 4}}))
    near = lambda: [m.store.id for m in sdk.stores.near(51.5136, -0.1365, k=3, skus=["DRESS-S"])]  # noqa: E731
    assert near()[0] == "lon-soho"
    r = sdk.pickups.create("lon-soho", [OrderLine("DRESS-S", 1)], kind="reservation", customer_id="cus_2")
    assert (r.kind, r.hold_ref, r.deadline) == (PickupKind.RESERVATION, "sdk", clock.now() + timedelta(hours=48))
    assert sdk.pickups.held(["lon-soho"], ["DRESS-S"]) == {"lon-soho": {"DRESS-S": 1}}
    assert "lon-soho" not in near(), "the only dress is held"
    sdk.pickups.ready(r.id)
    sdk.pickups.arrived(r.id)
    with pytest.raises(InvalidInput) as outcome:
        sdk.pickups.handover(r.id, store_id="lon-soho")
    assert outcome.value.code == "outcome_required"
    done = sdk.pickups.handover(r.id, store_id="lon-soho", bought=False)
    assert done.bought is False and journal_types(sdk)[-1] == "pickup_handed_over"
    assert sdk.pickups.held(["lon-soho"], ["DRESS-S"]) == {}
    assert near()[0] == "lon-soho"


def test_not_collected_by_the_deadline_is_released_with_holds_and_a_winback(sdk: O2O, clock: FrozenClock) -> None:
    r = sdk.pickups.create("lon-soho", [OrderLine("DRESS-S", 1)], kind="reservation", customer_id="cus_3",
                           customer_email="cus3@example.com")  # fmt: skip
    order = place(sdk, customer_id="cus_4")
    sdk.pickups.ready(order.id, deadline=clock.now() + timedelta(hours=47, minutes=30))
    clock.advance(timedelta(hours=47))
    assert sdk.pickups.release_due() == []
    clock.advance(timedelta(hours=1))
    released = sdk.pickups.release_due()
    assert {p.id for p in released} == {r.id, order.id}
    assert all(p.state is S.RELEASED and p.reason == "not_collected" for p in released)
    assert sdk.pickups.held(["lon-soho"], ["DRESS-S"]) == {}
    assert sdk.pickups.release_due() == []
    sdk.followups.plan()
    winbacks = [f for f in sdk.followups.list() if f.flow == "pickup_winback"]
    assert sorted(f.customer_id for f in winbacks) == ["cus_3", "cus_4"]


def test_a_purchase_during_a_tryon_is_attributed_to_the_reservation(sdk: O2O, clock: FrozenClock) -> None:
    r = sdk.pickups.create("lon-soho", [OrderLine("DRESS-S", 1)], kind="reservation", customer_id="cus_5")
    sdk.pickups.arrived(r.id, method="staff")
    clock.advance(timedelta(minutes=40))
    sdk.stores.add(Store("lon-soho", "London Soho", "Europe/London", 51.5136, -0.1365, "12 Old Compton St", ("pickup",),
                         external_ids={"pos": "LS1"}))  # fmt: skip
    recorded = sdk.orders.record(OrderEvent("pos", "sale-1", OrderKind.IN_STORE, clock.now(), Money.of("89.00", "GBP"),
                                            location_id="LS1", customer_id="cus_5"))  # fmt: skip
    assert recorded.event is not None and recorded.event.data["reservation_id"] == r.id
    other = sdk.orders.record(OrderEvent("pos", "sale-2", OrderKind.IN_STORE, clock.now() + timedelta(hours=5),
                                         location_id="LS1", customer_id="cus_5"))  # fmt: skip
    assert other.event is not None and "reservation_id" not in other.event.data


# ------------------------------------------------------------------ follow-ups and check-in arrival
def test_ready_plans_the_pass_and_a_reminder_that_is_skipped_once_collected(sdk: O2O, clock: FrozenClock) -> None:
    p = place(sdk)
    sdk.pickups.ready(p.id, deadline=clock.now() + timedelta(days=1))
    sdk.followups.plan()
    by_flow = {f.flow: f for f in sdk.followups.list(customer_id="cus_1")}
    ready, reminder = by_flow["pickup_ready"], by_flow["pickup_reminder"]
    assert ready.transactional and ready.data["pass_url"] == sdk.pickups.pass_url(p)
    assert ready.data["store_address"].startswith("12 Old Compton St")
    assert reminder.due_at == clock.now() + timedelta(hours=12)
    preview = sdk.followups.preview(ready.id)
    assert sdk.pickups.pass_url(p) in preview.text and "12 Old Compton St" in preview.text
    sdk.pickups.arrived(p.id)
    sdk.pickups.handover(p.id, store_id="lon-soho")
    sdk.followups.plan()
    assert "pickup_thanks" in {f.flow for f in sdk.followups.list(customer_id="cus_1")}
    from o2o_sdk.default_plugins.pickup_flows import o2o_check_followup

    assert o2o_check_followup(sdk, reminder, sdk.followups.contacts.get("cus_1")) == "pickup_handed_over"


def test_a_check_in_at_the_store_marks_the_waiting_pickup_arrived(sdk: O2O, clock: FrozenClock) -> None:
    p = place(sdk)
    sdk.pickups.ready(p.id)
    code = sdk.checkins.current_code("lon-soho").code
    sdk.checkins.with_code(code, customer_id="cus_1")
    got = sdk.pickups.get(p.id)
    assert (got.state, got.arrival_method) == (S.ARRIVED, "checkin:code")


def test_i_am_here_with_the_rotating_code_of_the_pickup_store_only(sdk: O2O) -> None:
    from o2o_sdk import CheckinRefused, CheckinRequest

    p = place(sdk)
    token = sdk.pickups.pass_token(p)
    other = sdk.checkins.current_code("nyc-soho").code
    with pytest.raises((PickupRefused, CheckinRefused)):
        sdk.pickups.arrive_with_checkin(token, CheckinRequest("code", code=other))
    assert sdk.pickups.get(p.id).state is S.PLACED
    code = sdk.checkins.current_code("lon-soho").code
    here = sdk.pickups.arrive_with_checkin(token, CheckinRequest("code", code=code, data={"note": "by the door"}))
    assert (here.state, here.arrival_method, here.arrival_note) == (S.ARRIVED, "checkin:code", "by the door")


# ------------------------------------------------------------------ platform orders
class PickupPlatform(AdapterBase):
    name = "shopfront"
    capabilities = frozenset({Capability.WEBHOOKS, Capability.PICKUPS})

    def __init__(self, fail: bool = False) -> None:
        self.told: list[tuple[str, str, str]] = []
        self.fail = fail

    def pickup_changed(self, sdk: O2O, pickup: Pickup, previous: PickupState) -> None:
        self.told.append((pickup.order_id or "", previous.value, pickup.state.value))
        if self.fail:
            raise PlatformError("shopfront says no", code="platform_down")


def pickup_order(order_id: str, delivery: str) -> OrderEvent:
    return OrderEvent(
        "shopfront", order_id, OrderKind.ONLINE, datetime(2026, 6, 15, 11, 0, tzinfo=UTC), Money.of("78.00", "GBP"),
        customer_id="sf-cus-9", customer_email="nine@example.com", delivery_id=delivery, items=(SHIRT,),
        pickup=PickupDetails(location_id="SF-LON", note="blue car", curbside=True),
    )  # fmt: skip


def test_a_platform_pickup_order_becomes_one_pickup_however_often_delivered(sdk: O2O) -> None:
    sdk.stores.add(Store("lon-soho", "London Soho", "Europe/London", 51.5136, -0.1365, "12 Old Compton St", ("pickup",),
                         external_ids={"shopfront": "SF-LON"}))  # fmt: skip
    platform = PickupPlatform()
    sdk.plugins.register(platform)
    first = sdk.orders.record(pickup_order("o-1", "d-1"))
    again = sdk.orders.record(pickup_order("o-1", "d-1"))
    update = sdk.orders.record(pickup_order("o-1", "d-2"))
    assert first.recorded and not again.recorded and not update.recorded
    assert first.pickup is not None and first.pickup == again.pickup == update.pickup
    assert (first.pickup.store_id, first.pickup.platform, first.pickup.curbside, first.pickup.items) == ("lon-soho", "shopfront", True, (SHIRT,))
    assert len(sdk.pickups.list()) == 1 and sdk.pickups.for_order("shopfront", "o-1") == first.pickup
    sdk.pickups.ready(first.pickup.id)
    sdk.pickups.handover(first.pickup.id, store_id="lon-soho")
    assert platform.told == [("o-1", "placed", "ready"), ("o-1", "ready", "handed_over")]


def test_a_platform_refusal_is_journaled_and_the_step_stands(sdk: O2O) -> None:
    sdk.stores.add(Store("lon-soho", "London Soho", "Europe/London", 51.5136, -0.1365, "", ("pickup",),
                         external_ids={"shopfront": "SF-LON"}))  # fmt: skip
    sdk.plugins.register(PickupPlatform(fail=True))
    recorded = sdk.orders.record(pickup_order("o-2", "d-3"))
    assert recorded.pickup is not None
    assert sdk.pickups.ready(recorded.pickup.id).state is S.READY
    failed = [e for e in sdk.journal.read(limit=100) if e.type == EventType.PICKUP_PLATFORM_FAILED]
    assert [(e.data["call"], e.data["error"], e.data["state"]) for e in failed] == [("pickup_changed", "platform_down", "ready")]


def test_a_pickup_order_for_an_unknown_location_is_recorded_without_a_pickup(sdk: O2O) -> None:
    recorded = sdk.orders.record(pickup_order("o-3", "d-4"))
    assert recorded.recorded and recorded.pickup is None and sdk.pickups.list() == []


def test_a_database_failure_while_creating_the_pickup_is_raised_and_the_redelivery_creates_it(
    sdk: O2O, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not swallowed like an unknown location: the webhook then answers 503, the platform
    delivers again, and the order (recorded the first time) gets its pickup."""
    sdk.stores.add(Store("lon-soho", "London Soho", "Europe/London", 51.5136, -0.1365, "", ("pickup",),
                         external_ids={"shopfront": "SF-LON"}))  # fmt: skip
    real = sdk.pickups.from_order

    def failing(order: OrderEvent) -> Pickup | None:
        raise StorageError("PostgreSQL error: the server closed the connection")

    monkeypatch.setattr(sdk.pickups, "from_order", failing)
    with pytest.raises(StorageError):
        sdk.orders.record(pickup_order("o-4", "d-5"))
    assert sdk.orders.get("shopfront", "o-4").order_id == "o-4" and sdk.pickups.list() == []
    monkeypatch.setattr(sdk.pickups, "from_order", real)
    again = sdk.orders.record(pickup_order("o-4", "d-5"))
    assert not again.recorded and again.pickup is not None and again.pickup.order_id == "o-4"


# ------------------------------------------------------------------ hooks
class Alerts:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def o2o_pickup_alert(self, pickup: Pickup, what: str) -> None:
        self.seen.append((pickup.id, what))


def test_hook_o2o_pickup_alert(sdk: O2O) -> None:
    alerts = Alerts()
    sdk.plugins.register(alerts)

    class Broken:
        @hookimpl
        def o2o_pickup_alert(self, pickup: Pickup, what: str) -> None:
            raise RuntimeError("display offline")

    sdk.plugins.register(Broken())
    p = place(sdk, curbside=True)
    sdk.pickups.ready(p.id)
    here = sdk.pickups.arrived(p.id, note="bay 2")
    assert alerts.seen == [(p.id, "placed"), (p.id, "arrived")]
    assert here.state is S.ARRIVED, "a failing alert never undoes the step"


def test_pickups_follow_the_journal_cursor_of_follow_ups_without_losing_events(sdk: O2O) -> None:
    for i in range(3):
        sdk.pickups.ready(place(sdk, customer_id=f"c{i}").id)
    assert sdk.followups.plan() >= 3
    assert sorted(f.customer_id for f in sdk.followups.list(status=FollowUpStatus.PENDING) if f.flow == "pickup_ready") == ["c0", "c1", "c2"]


class HoldingPlatform(AdapterBase):
    """A platform that sets stock aside itself (like Square's RESERVED_FOR_SALE)."""

    name = "holdco"
    capabilities = frozenset({Capability.INVENTORY_HOLDS})

    def __init__(self, short: bool = False) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.short = short

    def hold_inventory(self, sdk: O2O, pickup: Pickup) -> str:
        if self.short:
            raise PlatformError("only 0 left", code="insufficient_stock")
        self.calls.append(("hold", pickup.id, ",".join(f"{i.sku}x{i.quantity}" for i in pickup.items)))
        return f"adj-{pickup.id[-4:]}"

    def release_inventory(self, sdk: O2O, pickup: Pickup, hold_ref: str, sold: bool) -> None:
        self.calls.append(("release", hold_ref, str(sold)))


def holding_store(sdk: O2O) -> None:
    sdk.stores.add(Store("lon-hold", "Hold Street", "Europe/London", 51.5, -0.1, "", ("pickup",),
                         external_ids={"holdco": "LOC-1"}))  # fmt: skip


def test_a_reservation_is_held_on_the_platform_and_released_as_sold_or_not(sdk: O2O) -> None:
    holding_store(sdk)
    platform = HoldingPlatform()
    sdk.plugins.register(platform)
    bought = sdk.pickups.create("lon-hold", [OrderLine("DRESS-S", 1)], kind="reservation", customer_id="c1")
    assert bought.hold_ref == f"adj-{bought.id[-4:]}" and sdk.pickups.held(["lon-hold"], ["DRESS-S"]) == {}
    sdk.pickups.arrived(bought.id)
    sdk.pickups.handover(bought.id, store_id="lon-hold", bought=True)
    left = sdk.pickups.create("lon-hold", [OrderLine("DRESS-M", 2)], kind="reservation", customer_id="c2")
    sdk.pickups.cancel(left.id, reason="changed her mind")
    assert platform.calls == [
        ("hold", bought.id, "DRESS-Sx1"), ("release", bought.hold_ref, "True"),
        ("hold", left.id, "DRESS-Mx2"), ("release", f"adj-{left.id[-4:]}", "False"),
    ]  # fmt: skip


def test_when_the_platform_cannot_hold_the_sdk_holds_and_journals_why(sdk: O2O) -> None:
    holding_store(sdk)
    sdk.plugins.register(HoldingPlatform(short=True))
    r = sdk.pickups.create("lon-hold", [OrderLine("DRESS-S", 1)], kind="reservation", customer_id="c1")
    assert r.hold_ref == "sdk" and sdk.pickups.held(["lon-hold"], ["DRESS-S"]) == {"lon-hold": {"DRESS-S": 1}}
    [failed] = [e for e in sdk.journal.read(limit=100) if e.type == EventType.PICKUP_PLATFORM_FAILED]
    assert (failed.data["call"], failed.data["error"]) == ("hold_inventory", "insufficient_stock")
    sdk.pickups.cancel(r.id)
    assert sdk.pickups.held(["lon-hold"], ["DRESS-S"]) == {}


def test_attribution_credits_the_reservation_and_counts_a_collected_pickup_as_a_visit(sdk: O2O, clock: FrozenClock) -> None:
    from o2o_sdk import AttributionModel

    sdk.stores.add(Store("lon-soho", "London Soho", "Europe/London", 51.5136, -0.1365, "", ("pickup",),
                         external_ids={"pos": "LS1"}))  # fmt: skip
    r = sdk.pickups.create("lon-soho", [OrderLine("DRESS-S", 1)], kind="reservation", customer_id="cus_7")
    clock.advance(timedelta(hours=3))
    sdk.pickups.arrived(r.id)
    clock.advance(timedelta(minutes=30))
    sdk.orders.record(OrderEvent("pos", "sale-7", OrderKind.IN_STORE, clock.now(), Money.of("120.00", "GBP"),
                                 location_id="LS1", customer_id="cus_7"))  # fmt: skip
    sdk.pickups.handover(r.id, store_id="lon-soho", bought=True)
    clock.advance(timedelta(days=2))
    sdk.orders.record(OrderEvent("web", "web-8", OrderKind.ONLINE, clock.now(), Money.of("35.00", "GBP"), customer_id="cus_7"))
    sdk.analytics.attribute()
    by_order = {a.order_id: a for a in sdk.analytics.attributions(customer_id="cus_7")}
    tryon = by_order["sale-7"]
    placed = next(e for e in sdk.journal.read(limit=100) if e.type == "pickup_placed")
    assert (tryon.model, tryon.touch_type, tryon.touch_seq, tryon.amount_minor) == (AttributionModel.RESERVATION, "pickup_placed", placed.seq, 12000)
    back = by_order["web-8"]
    assert back.model == AttributionModel.O2O2O and back.touch_type in ("pickup_handed_over", "order_in_store")
