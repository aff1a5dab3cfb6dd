"""The rotating in-store code: signed, bound to a store and a time step, single use per customer.

The clock is frozen at Monday 2026-06-15 12:00:00 UTC, the start of a 30-second step. The
store's display and the server may disagree by up to one step (``checkin_code_grace_steps``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from o2o_sdk import (
    O2O,
    CheckinMethod,
    CheckinReason,
    CheckinRefused,
    EventType,
    FrozenClock,
    InvalidInput,
    TrustLevel,
)

LONDON, NEW_YORK = "lon-soho", "nyc-soho"
ADA = "ada@example.com"


def refusal(call: Callable[[], object]) -> str:
    """The reason a check-in attempt is refused with (fails if it is not refused)."""
    with pytest.raises(CheckinRefused) as err:
        call()
    assert err.value.code == err.value.reason
    assert err.value.message
    return err.value.reason


def code_at(sdk: O2O, clock: FrozenClock, offset_s: float, store: str = LONDON) -> str:
    """The code the store's display shows when its clock is ``offset_s`` ahead of ours."""
    return sdk.checkins.current_code(store, at=clock.now() + timedelta(seconds=offset_s)).code


def test_the_current_code_checks_the_session_customer_in_with_verified_trust(sdk: O2O) -> None:
    code = sdk.checkins.current_code(LONDON)
    session = sdk.checkins.session_token(ADA)

    result = sdk.checkins.scan(code.url, session=session)

    assert result.created and not result.upgraded
    c = result.checkin
    assert (c.customer_id, c.store_id, c.method, c.trust) == (ADA, LONDON, CheckinMethod.CODE, TrustLevel.VERIFIED)
    assert c.at == sdk.clock.now()
    assert c.evidence == {"step": code.step, "skew_steps": 0}
    assert sdk.checkins.get(c.id) == c


def test_the_code_link_is_short_enough_for_a_version_4_qr(sdk: O2O) -> None:
    code = sdk.checkins.current_code(LONDON)
    assert code.url == f"https://shop.example/c/{code.code}"
    assert len(code.code) == 38
    qr = sdk.checkins.qr(code.url)
    assert qr.version <= 4 and qr.error in ("M", "Q", "H")


def test_the_code_changes_every_step(sdk: O2O, clock: FrozenClock) -> None:
    first = sdk.checkins.current_code(LONDON)
    same = sdk.checkins.current_code(LONDON, at=clock.now() + timedelta(seconds=29))
    nxt = sdk.checkins.current_code(LONDON, at=clock.now() + timedelta(seconds=30))
    assert first.code == same.code != nxt.code
    assert nxt.step == first.step + 1
    assert first.valid_until - first.valid_from == timedelta(seconds=30) and first.valid_from == clock.now()


@pytest.mark.parametrize("display_offset_s", [-30, -1, 0, 20, 30, 59])
def test_a_display_clock_off_by_less_than_the_grace_window_is_accepted(
    sdk: O2O, clock: FrozenClock, display_offset_s: int
) -> None:
    result = sdk.checkins.with_code(code_at(sdk, clock, display_offset_s), customer_id=ADA)
    assert result.created


@pytest.mark.parametrize("display_offset_s", [-31, -61, -3600])
def test_an_expired_step_is_refused(sdk: O2O, clock: FrozenClock, display_offset_s: int) -> None:
    # Our clock is at the start of a step: 31 s back is two steps back, beyond the grace.
    code = code_at(sdk, clock, display_offset_s)
    assert refusal(lambda: sdk.checkins.with_code(code, customer_id=ADA)) == CheckinReason.CODE_EXPIRED


def test_a_code_photographed_and_used_later_stops_working(sdk: O2O, clock: FrozenClock) -> None:
    photo = sdk.checkins.current_code(LONDON).code
    clock.advance(seconds=59)
    assert sdk.checkins.with_code(photo, customer_id="friend-1").created  # still inside the grace step
    clock.advance(seconds=1)
    assert refusal(lambda: sdk.checkins.with_code(photo, customer_id="friend-2")) == CheckinReason.CODE_EXPIRED


def test_a_future_step_beyond_the_grace_window_is_refused(sdk: O2O, clock: FrozenClock) -> None:
    assert (
        refusal(lambda: sdk.checkins.with_code(code_at(sdk, clock, 60), customer_id=ADA))
        == CheckinReason.CODE_NOT_YET_VALID
    )
    assert (
        refusal(lambda: sdk.checkins.with_code(code_at(sdk, clock, 3600), customer_id=ADA))
        == CheckinReason.CODE_NOT_YET_VALID
    )


def test_no_grace_accepts_only_the_current_step(make_sdk: Callable[..., O2O], clock: FrozenClock) -> None:
    from conftest import DEMO_STORES

    strict = make_sdk(checkin_code_grace_steps=0)
    strict.stores.add(DEMO_STORES)
    assert (
        refusal(lambda: strict.checkins.with_code(code_at(strict, clock, -30), customer_id=ADA))
        == CheckinReason.CODE_EXPIRED
    )
    assert (
        refusal(lambda: strict.checkins.with_code(code_at(strict, clock, 30), customer_id=ADA))
        == CheckinReason.CODE_NOT_YET_VALID
    )
    assert strict.checkins.with_code(code_at(strict, clock, 29), customer_id=ADA).created


def test_a_longer_step_is_configurable(make_sdk: Callable[..., O2O], clock: FrozenClock) -> None:
    from conftest import DEMO_STORES

    slow = make_sdk(checkin_code_step=timedelta(minutes=5))
    slow.stores.add(DEMO_STORES)
    code = slow.checkins.current_code(LONDON)
    assert code.valid_until - code.valid_from == timedelta(minutes=5)
    clock.advance(minutes=9)
    assert slow.checkins.with_code(code.code, customer_id=ADA).created
    clock.advance(minutes=1)
    assert refusal(lambda: slow.checkins.with_code(code.code, customer_id="bob")) == CheckinReason.CODE_EXPIRED


def test_a_code_from_another_store_is_refused(sdk: O2O) -> None:
    new_york = sdk.checkins.current_code(NEW_YORK).code
    assert (
        refusal(lambda: sdk.checkins.with_code(new_york, customer_id=ADA, store_id=LONDON)) == CheckinReason.WRONG_STORE
    )
    assert sdk.checkins.list(customer_id=ADA) == []
    # Without an expected store the code says where the customer is.
    assert sdk.checkins.with_code(new_york, customer_id=ADA).checkin.store_id == NEW_YORK


def test_the_same_code_is_refused_the_second_time_for_the_same_customer(sdk: O2O) -> None:
    code = sdk.checkins.current_code(LONDON).code
    first = sdk.checkins.with_code(code, customer_id=ADA)

    assert refusal(lambda: sdk.checkins.with_code(code, customer_id=ADA)) == CheckinReason.CODE_REUSED
    # Another customer may scan the same displayed code.
    assert sdk.checkins.with_code(code, customer_id="bob").created
    assert sdk.checkins.list(customer_id=ADA) == [first.checkin]


def test_a_later_step_in_the_same_window_returns_the_existing_check_in(sdk: O2O, clock: FrozenClock) -> None:
    first = sdk.checkins.with_code(sdk.checkins.current_code(LONDON).code, customer_id=ADA)
    clock.advance(hours=3)
    again = sdk.checkins.with_code(sdk.checkins.current_code(LONDON).code, customer_id=ADA)

    assert again.created is False and again.checkin == first.checkin
    # ...and that step is used up too.
    assert (
        refusal(lambda: sdk.checkins.with_code(sdk.checkins.current_code(LONDON).code, customer_id=ADA))
        == CheckinReason.CODE_REUSED
    )


def test_a_reused_code_leaves_nothing_behind(sdk: O2O) -> None:
    code = sdk.checkins.current_code(LONDON).code
    sdk.checkins.with_code(code, customer_id=ADA)
    before = sdk.journal.counts()
    refusal(lambda: sdk.checkins.with_code(code, customer_id=ADA))
    after = sdk.journal.counts()
    assert after.get(EventType.CHECKED_IN) == before.get(EventType.CHECKED_IN) == 1
    assert after[EventType.CHECKIN_REFUSED] == 1
    [event] = sdk.journal.read(types=[EventType.CHECKIN_REFUSED])
    assert (event.customer_id, event.store_id, event.data) == (ADA, LONDON, {"reason": "code_reused", "method": "code"})


@pytest.mark.parametrize("mangle", [
    lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # altered signature
    lambda c: c[:5] + ("x" if c[5] != "x" else "y") + c[6:],  # altered step or store
    lambda c: "not a code",
    lambda c: "z" + c[1:],  # unknown key id
])  # fmt: skip
def test_an_altered_or_forged_code_is_refused(sdk: O2O, mangle: Callable[[str], str]) -> None:
    code = sdk.checkins.current_code(LONDON).code
    assert refusal(lambda: sdk.checkins.with_code(mangle(code), customer_id=ADA)) == CheckinReason.INVALID_CODE


def test_a_voucher_token_is_not_a_check_in_code(sdk: O2O) -> None:
    from o2o_sdk import Discount

    voucher = sdk.offers.issue(sdk.offers.create("Coffee", Discount.percent_off(10)), ADA)
    assert refusal(lambda: sdk.checkins.with_code(voucher.token, customer_id=ADA)) == CheckinReason.INVALID_CODE


def test_a_code_of_a_removed_store_is_refused(sdk: O2O) -> None:
    code = sdk.checkins.current_code(NEW_YORK).code
    sdk.stores.remove(NEW_YORK)
    assert refusal(lambda: sdk.checkins.with_code(code, customer_id=ADA)) == CheckinReason.UNKNOWN_STORE


def test_keys_rotate_without_breaking_displayed_codes(make_sdk: Callable[..., O2O]) -> None:
    from conftest import DEMO_STORES, TEST_KEYS

    from o2o_sdk import SigningKey

    old = make_sdk(secret_keys=TEST_KEYS[1:])
    old.stores.add(DEMO_STORES)
    code = old.checkins.current_code(LONDON).code
    new = make_sdk(secret_keys=(SigningKey("c", b"a-brand-new-secret-0123456789"), *TEST_KEYS[1:]))
    assert new.checkins.with_code(code, customer_id=ADA).created


# --------------------------------------------------------------------------- who checks in


def test_the_customer_comes_from_a_signed_session_token(sdk: O2O) -> None:
    token = sdk.checkins.session_token("ünïcode-customer@example.com")
    assert sdk.checkins.customer_from_session(token) == "ünïcode-customer@example.com"
    result = sdk.checkins.with_code(sdk.checkins.current_code(LONDON).code, session=token)
    assert result.checkin.customer_id == "ünïcode-customer@example.com"


def test_an_expired_session_is_refused(sdk: O2O, clock: FrozenClock) -> None:
    token = sdk.checkins.session_token(ADA, ttl=timedelta(minutes=10))
    clock.advance(minutes=10)
    code = sdk.checkins.current_code(LONDON).code
    assert refusal(lambda: sdk.checkins.with_code(code, session=token)) == CheckinReason.SESSION_EXPIRED
    [event] = sdk.journal.read(types=[EventType.CHECKIN_REFUSED])
    assert event.data["reason"] == "session_expired"


@pytest.mark.parametrize("kind", ["member", "tampered", "garbage"])
def test_a_session_token_that_is_not_one_is_refused(sdk: O2O, kind: str) -> None:
    token = sdk.checkins.session_token(ADA)
    bad = {
        "member": sdk.checkins.member_token(ADA),  # right customer, wrong purpose
        "tampered": token[:3] + ("A" if token[3] != "A" else "B") + token[4:],
        "garbage": "x.y",
    }[kind]
    code = sdk.checkins.current_code(LONDON).code
    assert refusal(lambda: sdk.checkins.with_code(code, session=bad)) == CheckinReason.INVALID_SESSION


def test_a_session_for_another_customer_than_the_one_given_is_a_caller_mistake(sdk: O2O) -> None:
    with pytest.raises(InvalidInput):
        sdk.checkins.with_code(
            sdk.checkins.current_code(LONDON).code, session=sdk.checkins.session_token("bob"), customer_id=ADA
        )


def test_a_check_in_without_a_customer_is_refused(sdk: O2O) -> None:
    assert (
        refusal(lambda: sdk.checkins.with_code(sdk.checkins.current_code(LONDON).code))
        == CheckinReason.CUSTOMER_REQUIRED
    )


def test_customer_ids_must_fit_a_token(sdk: O2O) -> None:
    with pytest.raises(InvalidInput):
        sdk.checkins.session_token("x" * 201)
    with pytest.raises(InvalidInput):
        sdk.checkins.session_token(" ")
    assert sdk.checkins.customer_from_session(sdk.checkins.session_token("x" * 200)) == "x" * 200


# --------------------------------------------------------------------------- printed poster


def test_a_printed_poster_checks_in_with_low_trust_and_does_not_expire(sdk: O2O, clock: FrozenClock) -> None:
    link = sdk.checkins.poster_url(LONDON)
    assert link.startswith("https://shop.example/p/")
    clock.advance(days=200)

    result = sdk.checkins.scan(link, customer_id=ADA)

    assert (result.checkin.method, result.checkin.trust) == (CheckinMethod.POSTER, TrustLevel.LOW)
    assert result.checkin.evidence == {"poster_printed_at": "2026-06-15T12:00:00+00:00"}
    # A poster is not single-use: the same customer scanning again just gets the check-in back.
    assert sdk.checkins.scan(link, customer_id=ADA).checkin == result.checkin


def test_a_poster_code_is_not_a_rotating_code_and_vice_versa(sdk: O2O) -> None:
    poster = sdk.checkins.poster_code(LONDON)
    rotating = sdk.checkins.current_code(LONDON).code
    assert refusal(lambda: sdk.checkins.with_code(poster, customer_id=ADA)) == CheckinReason.INVALID_CODE
    assert refusal(lambda: sdk.checkins.with_poster(rotating, customer_id=ADA)) == CheckinReason.INVALID_CODE
    assert (
        refusal(lambda: sdk.checkins.with_poster(poster, customer_id=ADA, store_id=NEW_YORK))
        == CheckinReason.WRONG_STORE
    )
