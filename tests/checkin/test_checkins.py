"""Check-ins as records: one per customer, store and window; trust levels; staff-assisted;
plugins that add methods, veto or react; "check in to unlock" offers.

The clock is frozen at Monday 2026-06-15 12:00 UTC: 13:00 in London, 21:00 in Tokyo.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from o2o_sdk import (
    O2O,
    CheckIn,
    CheckinMethod,
    CheckinReason,
    CheckinRefused,
    CheckinRequest,
    CheckinVerdict,
    Discount,
    EventType,
    FrozenClock,
    InvalidInput,
    IssueOnCheckin,
    NotFound,
    PluginError,
    Reason,
    RedemptionRefused,
    Refuse,
    TrustLevel,
    hookimpl,
)

LONDON, NEW_YORK, TOKYO = "lon-soho", "nyc-soho", "tyo-shibuya"
SOHO_POINT = (51.5136, -0.1365)
ADA = "ada@example.com"


def here(sdk: O2O, customer: str = ADA, store: str = LONDON) -> Any:
    """A geofence check-in at the store's door (trust verified)."""
    s = sdk.stores.get(store)
    return sdk.checkins.with_location(store, s.latitude, s.longitude, 10, customer_id=customer)


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(CheckinRefused) as err:
        call()
    return err.value.reason


# --------------------------------------------------------------------------- one per window


def test_a_repeated_check_in_returns_the_first(sdk: O2O, clock: FrozenClock) -> None:
    first = here(sdk)
    clock.advance(hours=2)
    again = here(sdk)
    assert first.created and not again.created
    assert again.checkin == first.checkin and again.checkin.at == datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    assert sdk.checkins.list(customer_id=ADA) == [first.checkin]
    assert sdk.journal.counts()[EventType.CHECKED_IN] == 1


def test_the_window_is_the_stores_local_day(sdk: O2O, clock: FrozenClock) -> None:
    london = here(sdk).checkin
    assert london.window_start == datetime(2026, 6, 14, 23, 0, tzinfo=UTC)  # midnight BST
    clock.set(datetime(2026, 6, 15, 22, 59, 59, tzinfo=UTC))  # 23:59:59 in London
    assert not here(sdk).created
    clock.set(datetime(2026, 6, 15, 23, 0, tzinfo=UTC))  # midnight: a new day in London
    assert here(sdk).created
    assert len(sdk.checkins.list(customer_id=ADA, store_id=LONDON)) == 2


def test_each_store_has_its_own_window(sdk: O2O, clock: FrozenClock) -> None:
    tokyo = here(sdk, store=TOKYO).checkin
    assert tokyo.window_start == datetime(2026, 6, 14, 15, 0, tzinfo=UTC)  # midnight JST
    assert here(sdk, store=LONDON).created  # another store, another check-in
    clock.set(datetime(2026, 6, 15, 15, 0, tzinfo=UTC))  # midnight in Tokyo, 16:00 in London
    assert here(sdk, store=TOKYO).created
    assert not here(sdk, store=LONDON).created


def test_windows_follow_daylight_saving_time(sdk: O2O) -> None:
    # London springs forward on 2026-03-29: that day is 23 hours long.
    day = sdk.checkins.window_start(LONDON, datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    nxt = sdk.checkins.window_start(LONDON, datetime(2026, 3, 30, 12, 0, tzinfo=UTC))
    assert day == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert nxt == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)


def test_the_window_is_configurable(make_sdk: Callable[..., O2O], clock: FrozenClock) -> None:
    from conftest import DEMO_STORES

    hourly = make_sdk(checkin_window=timedelta(hours=1))
    hourly.stores.add(DEMO_STORES)
    assert here(hourly).created
    clock.advance(minutes=59)
    assert not here(hourly).created
    clock.advance(minutes=1)
    assert here(hourly).created

    weekly = make_sdk(checkin_window=timedelta(days=7))
    # Windows of a week start on Monday, local midnight.
    assert weekly.checkins.window_start(LONDON, datetime(2026, 6, 21, 22, 0, tzinfo=UTC)) == datetime(
        2026, 6, 14, 23, 0, tzinfo=UTC
    )


def test_customers_and_stores_are_counted_separately(sdk: O2O) -> None:
    ids = {here(sdk, c, s).checkin.id for c in (ADA, "bob") for s in (LONDON, TOKYO)}
    assert len(ids) == 4


# --------------------------------------------------------------------------- trust levels


def test_each_method_records_its_trust_level(sdk: O2O) -> None:
    from o2o_sdk import Store

    sdk.stores.add([Store(f"s{i}", f"Store {i}", "Europe/London", 51.5, -0.1) for i in range(4)])
    got = {
        "poster": sdk.checkins.with_poster(sdk.checkins.poster_code("s0"), customer_id=ADA),
        "code": sdk.checkins.with_code(sdk.checkins.current_code("s1").code, customer_id=ADA),
        "geofence": sdk.checkins.with_location("s2", 51.5, -0.1, 5, customer_id=ADA),
        "staff": sdk.checkins.by_staff("s3", customer_id=ADA, staff_id="till-4"),
    }
    assert {m: r.checkin.trust for m, r in got.items()} == {
        "poster": TrustLevel.LOW, "code": TrustLevel.VERIFIED, "geofence": TrustLevel.VERIFIED, "staff": TrustLevel.HIGH,
    }  # fmt: skip
    assert {m: r.checkin.method for m, r in got.items()} == {m: m for m in got}
    assert got["staff"].checkin.evidence == {"via": "customer_id", "staff_id": "till-4"}


def test_trust_levels_are_ordered() -> None:
    assert [t.rank for t in TrustLevel] == [0, 1, 2]
    assert TrustLevel.HIGH.at_least("verified") and TrustLevel.VERIFIED.at_least(TrustLevel.VERIFIED)
    assert not TrustLevel.LOW.at_least("verified")


def test_a_stronger_check_in_upgrades_the_windows_check_in(sdk: O2O, clock: FrozenClock) -> None:
    weak = sdk.checkins.with_poster(sdk.checkins.poster_code(LONDON), customer_id=ADA)
    clock.advance(minutes=5)
    strong = sdk.checkins.with_code(sdk.checkins.current_code(LONDON).code, customer_id=ADA)

    assert strong.upgraded and not strong.created
    c = strong.checkin
    assert (c.id, c.method, c.trust, c.at, c.upgraded_at) == (
        weak.checkin.id,
        "code",
        TrustLevel.VERIFIED,
        weak.checkin.at,
        clock.now(),
    )
    assert sdk.checkins.get(c.id) == c
    [event] = sdk.journal.read(types=[EventType.CHECKIN_UPGRADED])
    assert event.data == {"checkin_id": c.id, "method": "code", "trust": "verified", "previous_trust": "low"}
    # A weaker one never downgrades it.
    again = sdk.checkins.with_poster(sdk.checkins.poster_code(LONDON), customer_id=ADA)
    assert not again.upgraded and again.checkin.trust is TrustLevel.VERIFIED


# --------------------------------------------------------------------------- staff-assisted


def test_staff_check_a_customer_in_by_scanning_their_voucher(sdk: O2O, clock: FrozenClock) -> None:
    voucher = sdk.offers.issue(sdk.offers.create("Coffee", Discount.percent_off(10)), ADA, ttl=timedelta(hours=1))
    clock.advance(hours=2)  # an expired voucher still says who the customer is
    result = sdk.checkins.by_staff(LONDON, token=sdk.offers.url(voucher), staff_id="sam")
    c = result.checkin
    assert (c.customer_id, c.method, c.trust) == (ADA, CheckinMethod.STAFF, TrustLevel.HIGH)
    assert c.evidence == {"via": "voucher", "voucher_id": voucher.id, "staff_id": "sam"}


def test_staff_check_a_customer_in_by_their_member_qr(sdk: O2O) -> None:
    link = sdk.checkins.member_url(sdk.checkins.member_token(ADA))
    assert link.startswith("https://shop.example/m/")
    assert sdk.checkins.by_staff(LONDON, token=link).checkin.customer_id == ADA
    assert sdk.checkins.by_staff(TOKYO, token=link.rsplit("/", 1)[1]).checkin.evidence == {"via": "member"}


def test_staff_refusals(sdk: O2O, clock: FrozenClock) -> None:
    anonymous = sdk.offers.issue(sdk.offers.create("Coffee", Discount.percent_off(10)))
    assert refusal(lambda: sdk.checkins.by_staff(LONDON, token=anonymous.token)) == CheckinReason.CUSTOMER_REQUIRED
    assert (
        refusal(lambda: sdk.checkins.by_staff(LONDON, token="0AAAABBBB.abcdefghijklmnopqrst"))
        == CheckinReason.INVALID_CODE
    )
    session = sdk.checkins.session_token(ADA)  # a session is not a card to show at the till
    assert refusal(lambda: sdk.checkins.by_staff(LONDON, token=session)) == CheckinReason.INVALID_CODE
    card = sdk.checkins.member_token(ADA, ttl=timedelta(days=1))
    clock.advance(days=1)
    assert refusal(lambda: sdk.checkins.by_staff(LONDON, token=card)) == CheckinReason.SESSION_EXPIRED
    with pytest.raises(InvalidInput):
        sdk.checkins.by_staff(LONDON)
    with pytest.raises(InvalidInput):
        sdk.checkins.by_staff(LONDON, token=sdk.checkins.member_token("bob"), customer_id=ADA)
    assert sdk.checkins.list() == []


# --------------------------------------------------------------------------- hooks


class NfcTags:
    """A third-party method: an NFC tag at the till whose id maps to a store."""

    def __init__(self) -> None:
        self.tags = {"04:a2:19": LONDON}

    @hookimpl
    def o2o_verify_checkin(self, sdk: O2O, request: CheckinRequest) -> CheckinVerdict | None:
        if request.method != "nfc":
            return None
        store = self.tags.get(request.data.get("tag", ""))
        if store is None:
            return CheckinVerdict.refuse("unknown_tag", "This tag is not one of ours.")
        return CheckinVerdict.accept(store, request.customer_id, TrustLevel.VERIFIED,
                                     nonce=f"nfc:{request.data['counter']}", evidence={"tag": request.data["tag"]})  # fmt: skip


def test_hook_o2o_verify_checkin(sdk: O2O) -> None:
    with sdk.plugins.registered(NfcTags(), name="nfc"):
        tap = CheckinRequest("nfc", customer_id=ADA, data={"tag": "04:a2:19", "counter": 7})
        result = sdk.checkins.check_in(tap)
        assert (result.checkin.method, result.checkin.store_id, result.checkin.evidence) == (
            "nfc",
            LONDON,
            {"tag": "04:a2:19"},
        )
        # The plugin's nonce is single-use like a code step, and its own reasons come through.
        assert refusal(lambda: sdk.checkins.check_in(tap)) == CheckinReason.CODE_REUSED
        assert (
            refusal(lambda: sdk.checkins.check_in(CheckinRequest("nfc", customer_id=ADA, data={"tag": "?"})))
            == "unknown_tag"
        )
    with pytest.raises(InvalidInput) as err:
        sdk.checkins.check_in(CheckinRequest("nfc", customer_id=ADA, data={"tag": "04:a2:19", "counter": 8}))
    assert err.value.code == "unsupported_checkin_method"


def test_a_plugin_overrides_a_built_in_method(sdk: O2O) -> None:
    class NoMockLocations:
        @hookimpl
        def o2o_verify_checkin(self, request: CheckinRequest) -> CheckinVerdict | None:
            if request.method == "geofence" and request.data.get("mock_location"):
                return CheckinVerdict.refuse("mock_location", "Mock locations are not accepted.")
            return None

    with sdk.plugins.registered(NoMockLocations()):
        mocked = CheckinRequest(
            "geofence", LONDON, ADA, latitude=51.5136, longitude=-0.1365, accuracy_m=5, data={"mock_location": True}
        )
        assert refusal(lambda: sdk.checkins.check_in(mocked)) == "mock_location"
        assert here(sdk).created  # the built-in still answers what the plugin leaves alone


def test_a_verification_plugin_breaking_the_contract_is_reported(sdk: O2O) -> None:
    class Broken:
        @hookimpl
        def o2o_verify_checkin(self, request: CheckinRequest) -> Any:
            return "yes" if request.method == "broken" else None

    with sdk.plugins.registered(Broken()), pytest.raises(PluginError):
        sdk.checkins.check_in(CheckinRequest("broken", LONDON, ADA))


def test_hook_o2o_check_checkin(sdk: O2O) -> None:
    seen: list[tuple[CheckinRequest, CheckIn]] = []

    class Blocklist:
        @hookimpl
        def o2o_check_checkin(self, request: CheckinRequest, checkin: CheckIn) -> Refuse | None:
            seen.append((request, checkin))
            return Refuse("This account is suspended.") if checkin.customer_id == "mallory" else None

    with sdk.plugins.registered(Blocklist(), name="blocklist"):
        with pytest.raises(CheckinRefused) as err:
            here(sdk, "mallory")
        assert (err.value.reason, err.value.source, err.value.message) == (
            "refused_by_rule",
            "blocklist",
            "This account is suspended.",
        )
        assert here(sdk).created
    assert sdk.checkins.list(customer_id="mallory") == []
    [event] = sdk.journal.read(types=[EventType.CHECKIN_REFUSED])
    assert event.data == {"reason": "refused_by_rule", "method": "geofence", "source": "blocklist"}
    request, proposed = seen[1]
    assert (proposed.customer_id, proposed.store_id, proposed.method, proposed.trust) == (
        ADA,
        LONDON,
        "geofence",
        TrustLevel.VERIFIED,
    )
    assert request.method == "geofence"


def test_hook_o2o_after_checkin(sdk: O2O, clock: FrozenClock) -> None:
    calls: list[CheckIn] = []

    class Recorder:
        @hookimpl
        def o2o_after_checkin(self, sdk: O2O, checkin: CheckIn) -> None:
            calls.append(checkin)

    with sdk.plugins.registered(Recorder()):
        first = sdk.checkins.with_poster(sdk.checkins.poster_code(LONDON), customer_id=ADA)
        sdk.checkins.with_code(sdk.checkins.current_code(LONDON).code, customer_id=ADA)  # upgrade: no call
        here(sdk)  # repeat: no call
        clock.advance(days=1)
        second = here(sdk)
    assert calls == [first.checkin, second.checkin]


def test_a_failing_after_checkin_plugin_does_not_undo_the_check_in(sdk: O2O) -> None:
    class Crashes:
        @hookimpl
        def o2o_after_checkin(self, checkin: CheckIn) -> None:
            raise RuntimeError("boom")

    with sdk.plugins.registered(Crashes()):
        result = here(sdk)
    assert sdk.checkins.get(result.checkin.id) == result.checkin


def test_check_in_events_are_journaled_for_attribution(sdk: O2O) -> None:
    c = here(sdk).checkin
    [event] = sdk.journal.read(types=[EventType.CHECKED_IN])
    assert (event.type, event.store_id, event.customer_id, event.at) == ("checked_in", LONDON, ADA, c.at)
    assert event.data == {"checkin_id": c.id, "method": "geofence", "trust": "verified"}


# --------------------------------------------------------------------------- offers: issue on check-in, check in to unlock


def test_issue_on_checkin_gives_one_voucher_per_window(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create("Welcome coffee", Discount.free_item("COFFEE"))
    with sdk.plugins.registered(IssueOnCheckin(offer.id, stores=[LONDON, TOKYO])):
        sdk.checkins.with_poster(sdk.checkins.poster_code(LONDON), customer_id="paula")  # trust low: no reward
        here(sdk)
        here(sdk)
        sdk.checkins.by_staff(LONDON, customer_id=ADA)
        here(sdk, store=NEW_YORK)  # not a rewarding store
        clock.advance(days=1)
        here(sdk)
    vouchers = sdk.storage.list_vouchers(offer.id)
    assert [v.customer_id for v in vouchers] == [ADA, ADA]
    assert [v.issued_at for v in vouchers] == [
        datetime(2026, 6, 15, 12, 0, tzinfo=UTC),
        datetime(2026, 6, 16, 12, 0, tzinfo=UTC),
    ]


def test_check_in_to_unlock(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create("In-store only", Discount.percent_off(20), requires_checkin=True)
    assert sdk.offers.get(offer.id).requires_checkin
    voucher = sdk.offers.issue(offer, ADA)

    locked = sdk.offers.validate(voucher.token, LONDON)
    assert [r.code for r in locked.refusals] == [Reason.CHECKIN_REQUIRED]
    assert "London Soho" in locked.refusals[0].message

    sdk.checkins.with_poster(sdk.checkins.poster_code(LONDON), customer_id=ADA)
    assert not sdk.offers.validate(voucher.token, LONDON).ok, "a poster is not proof enough"
    here(sdk, store=TOKYO)
    assert not sdk.offers.validate(voucher.token, LONDON).ok, "a check-in elsewhere does not unlock this store"

    sdk.checkins.with_code(sdk.checkins.current_code(LONDON).code, customer_id=ADA)
    assert sdk.offers.validate(voucher.token, LONDON).ok
    assert sdk.checkins.unlocked(ADA, LONDON) and not sdk.checkins.unlocked(ADA, NEW_YORK)

    clock.set(datetime(2026, 6, 15, 23, 0, tzinfo=UTC))  # a new day in London
    with pytest.raises(RedemptionRefused) as err:
        sdk.offers.redeem(voucher.token, LONDON)
    assert err.value.reasons == (Reason.CHECKIN_REQUIRED,)
    sdk.checkins.by_staff(LONDON, token=voucher.token)
    assert sdk.offers.redeem(voucher.token, LONDON).customer_id == ADA


def test_an_anonymous_voucher_unlocks_with_the_customer_given_at_the_till(sdk: O2O) -> None:
    offer = sdk.offers.create("In-store only", Discount.percent_off(20), requires_checkin=True)
    voucher = sdk.offers.issue(offer)
    here(sdk)
    assert [r.code for r in sdk.offers.validate(voucher.token, LONDON).refusals] == [Reason.CHECKIN_REQUIRED]
    assert sdk.offers.validate(voucher.token, LONDON, customer_id=ADA).ok


def test_the_unlocking_trust_level_is_configurable(make_sdk: Callable[..., O2O]) -> None:
    from conftest import DEMO_STORES

    lenient = make_sdk(checkin_unlock_trust="low")
    lenient.stores.add(DEMO_STORES)
    voucher = lenient.offers.issue(
        lenient.offers.create("Poster deal", Discount.percent_off(5), requires_checkin=True), ADA
    )
    lenient.checkins.with_poster(lenient.checkins.poster_code(LONDON), customer_id=ADA)
    assert lenient.offers.validate(voucher.token, LONDON).ok


def test_the_loop_closes_check_in_issues_a_voucher_that_redeems_in_that_store(sdk: O2O) -> None:
    offer = sdk.offers.create("Thanks for visiting", Discount.percent_off(15), requires_checkin=True)
    with sdk.plugins.registered(IssueOnCheckin(offer.id)):
        sdk.checkins.with_code(sdk.checkins.current_code(LONDON).code, session=sdk.checkins.session_token(ADA))
    [voucher] = sdk.storage.list_vouchers(offer.id)
    assert sdk.offers.redeem(voucher.token, LONDON).customer_id == ADA
    assert [r.code for r in sdk.offers.validate(sdk.offers.issue(offer, ADA).token, TOKYO).refusals] == [
        Reason.CHECKIN_REQUIRED
    ]


# --------------------------------------------------------------------------- reading and housekeeping


def test_reading_check_ins(sdk: O2O, clock: FrozenClock) -> None:
    a = here(sdk).checkin
    clock.advance(minutes=1)
    b = here(sdk, "bob", TOKYO).checkin
    assert sdk.checkins.list() == [a, b]
    assert sdk.checkins.list(store_id=TOKYO) == [b]
    assert sdk.checkins.list(customer_id=ADA, store_id=TOKYO) == []
    assert sdk.checkins.current(ADA, LONDON) == a
    assert sdk.checkins.current(ADA, LONDON, at=clock.now() + timedelta(days=1)) is None
    with pytest.raises(NotFound):
        sdk.checkins.get("chk_missing")
    with pytest.raises(NotFound):
        sdk.checkins.current_code("nowhere")


def test_used_code_steps_can_be_forgotten_once_they_cannot_verify(sdk: O2O, clock: FrozenClock) -> None:
    code = sdk.checkins.current_code(LONDON).code
    sdk.checkins.with_code(code, customer_id=ADA)
    with pytest.raises(InvalidInput):
        sdk.checkins.forget_used_codes(timedelta(seconds=30))
    assert sdk.checkins.forget_used_codes() == 0
    clock.advance(days=1, seconds=1)
    assert sdk.checkins.forget_used_codes() == 1
