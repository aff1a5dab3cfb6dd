"""The outbox: planning exactly once, delivery, the ledger, policy at send time, retries, leases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest

from o2o_sdk import (
    O2O,
    EventType,
    ExitCondition,
    FollowUpPlan,
    FollowUpStatus,
    FollowUpTemplate,
    FrozenClock,
    PermanentDeliveryError,
    TokenError,
    TransientDeliveryError,
    hookimpl,
)

from .conftest import RecordingChannel

TEMPLATE = FollowUpTemplate("hello", "Hello $name", "Hi $name, $note", "<p>Hi $name, $note</p>")


def _plan(customer: str = "c1", key: str = "k1", **kw: object) -> FollowUpPlan:
    kw.setdefault("data", {"note": "thanks"})
    return FollowUpPlan("test", "email", "hello", customer, key, **kw)  # type: ignore[arg-type]


def _contact(sdk: O2O, customer: str = "c1", *, tz: str = "UTC", consent: bool = True) -> None:
    sdk.followups.contacts.upsert(customer, email=f"{customer}@example.com", name="Ada", timezone=tz,
                                  consents=["email"] if consent else [])  # fmt: skip


@pytest.fixture
def shop(make_shop: Callable[..., O2O]) -> O2O:
    sdk = make_shop()
    sdk.followups.add_template(TEMPLATE)
    return sdk


def test_a_planned_follow_up_is_delivered_once_with_its_idempotency_key(shop: O2O, channel: RecordingChannel) -> None:
    _contact(shop)
    planned = shop.followups.add(_plan())
    assert planned is not None and planned.status is FollowUpStatus.PENDING
    counts = shop.followups.run_once()
    assert (counts.claimed, counts.sent) == (1, 1)
    [(message, key)] = channel.sent
    assert key == planned.idempotency_key
    assert message.subject == "Hello Ada" and message.text.startswith("Hi Ada, thanks")
    assert message.to == "c1@example.com"
    done = shop.followups.get(planned.id)
    assert done.status is FollowUpStatus.SENT and done.sent_at == shop.clock.now() and done.provider_id == "p-1"
    assert shop.followups.sends() == 1
    assert shop.journal.counts().get("followup_sent") == 1
    assert shop.followups.run_once().sent == 0  # nothing left


def test_the_same_dedupe_key_is_planned_once(shop: O2O) -> None:
    assert shop.followups.add(_plan()) is not None
    assert shop.followups.add(_plan(data={"note": "other"})) is None
    assert len(shop.followups.list()) == 1


def test_journal_events_are_planned_once_whoever_plans(make_shop: Callable[..., O2O], clock: FrozenClock) -> None:
    first, second = make_shop(), make_shop()
    _contact(first)
    first.checkins.by_staff("lon-soho", customer_id="c1")
    first.journal.append(EventType.ORDER_IN_STORE, store_id="lon-soho", customer_id="c1")
    assert first.followups.plan() == 1  # one thank-you for the day, whatever the visit events
    assert second.followups.plan() == 0
    assert first.followups.plan() == 0
    [thanks] = second.followups.list()
    assert thanks.flow == "thank_you" and thanks.due_at == clock.now() + timedelta(hours=2)
    assert thanks.source_seq is not None


def test_the_planner_waits_for_a_gap_in_the_journal_then_moves_on(shop: O2O, monkeypatch: pytest.MonkeyPatch) -> None:
    from o2o_sdk.followups import _planner
    from o2o_sdk.models import JournalEvent

    planner = shop.followups._planner
    at = shop.clock.now()
    events = [JournalEvent("x", at, seq=1), JournalEvent("x", at, seq=3)]
    assert [e.seq for e in planner._contiguous(0, events)] == [1]  # 2 may still commit
    monkeypatch.setattr(_planner, "GAP_WAIT_S", 0.0)
    assert [e.seq for e in planner._contiguous(0, events)] == [1, 3]  # 2 was rolled back


def test_stale_plans_from_old_history_are_dropped(shop: O2O, clock: FrozenClock) -> None:
    assert shop.followups.add(_plan(), trigger_at=clock.now() - timedelta(days=30)) is None
    assert shop.followups.list() == []


# ------------------------------------------------------------------ consent, suppression, unsubscribe


def test_without_consent_a_marketing_follow_up_is_skipped(shop: O2O, channel: RecordingChannel) -> None:
    _contact(shop, consent=False)
    f = shop.followups.add(_plan())
    assert shop.followups.run_once().skipped == 1
    assert channel.sent == []
    skipped = shop.followups.get(f.id)  # type: ignore[union-attr]
    assert skipped.status is FollowUpStatus.SKIPPED and (skipped.last_error or "").startswith("no_consent")
    assert shop.journal.counts().get("followup_skipped") == 1


def test_a_transactional_message_needs_no_marketing_consent_but_respects_suppression(shop: O2O, channel: RecordingChannel) -> None:
    _contact(shop, consent=False)
    shop.followups.add(_plan(key="t1", transactional=True))
    assert shop.followups.run_once().sent == 1
    shop.followups.contacts.suppress("email", " C1@Example.com ")
    shop.followups.add(_plan(key="t2", transactional=True))
    counts = shop.followups.run_once()
    assert (counts.sent, counts.skipped) == (0, 1)
    assert shop.followups.find("t2").last_error.startswith("suppressed")  # type: ignore[union-attr]


def test_every_email_carries_a_signed_one_click_unsubscribe(shop: O2O, channel: RecordingChannel) -> None:
    _contact(shop)
    shop.followups.add(_plan(key="a"))
    shop.followups.run_once()
    [(message, _)] = channel.sent
    url = message.unsubscribe_url
    assert url is not None and url.startswith("https://shop.example/u/")
    assert message.headers == {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert url in message.text and url in (message.html or "")
    # A later follow-up is pending when the customer clicks.
    pending = shop.followups.add(_plan(key="b", delay=timedelta(days=1)))
    contact = shop.followups.unsubscribe(url)
    assert not contact.consented("email") and contact.consents["email"].source == "unsubscribe"
    assert shop.followups.get(pending.id).status is FollowUpStatus.CANCELLED  # type: ignore[union-attr]
    assert shop.followups.contacts.is_suppressed("email", "c1@example.com")
    assert shop.journal.counts().get("unsubscribed") == 1
    # Consent given again later does not lift the suppression: nothing is ever sent again there.
    shop.followups.contacts.grant("c1", "email")
    shop.followups.add(_plan(key="c"))
    assert shop.followups.run_once().skipped == 1
    assert len(channel.sent) == 1
    shop.followups.unsubscribe(url)  # idempotent
    with pytest.raises(TokenError):
        shop.followups.unsubscribe(url[:-3] + "AAA")


# ------------------------------------------------------------------ quiet hours, caps


def test_quiet_hours_postpone_to_the_morning_in_the_recipients_zone(shop: O2O, clock: FrozenClock, channel: RecordingChannel) -> None:
    _contact(shop, tz="Asia/Tokyo")  # 12:00 UTC is 21:00 in Tokyo: quiet
    f = shop.followups.add(_plan())
    counts = shop.followups.run_once()
    assert (counts.postponed, counts.sent) == (1, 0)
    waiting = shop.followups.get(f.id)  # type: ignore[union-attr]
    assert waiting.status is FollowUpStatus.PENDING and waiting.attempts == 0
    assert waiting.due_at == datetime(2026, 6, 15, 23, 0, tzinfo=UTC)  # 08:00 JST
    clock.set(waiting.due_at)
    assert shop.followups.run_once().sent == 1


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Spring forward in New York (8 March 2026): 08:00 EDT is 12:00 UTC.
        (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
        # The evening before, still EST: quiet until 08:00 EDT the next morning.
        (datetime(2026, 3, 8, 2, 30, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
        # Fall back (1 November 2026): 08:00 EST is 13:00 UTC.
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
        # 01:30 happens twice that night; both are quiet and end at the same 08:00.
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours_are_right_across_daylight_saving_changes(
    make_shop: Callable[..., O2O], clock: FrozenClock, now: datetime, expected: datetime
) -> None:
    clock.set(now)
    shop = make_shop()
    shop.followups.add_template(TEMPLATE)
    _contact(shop, tz="America/New_York")
    f = shop.followups.add(_plan())
    assert shop.followups.run_once().postponed == 1
    assert shop.followups.get(f.id).due_at == expected  # type: ignore[union-attr]


def test_quiet_hours_ending_inside_the_spring_forward_gap_end_when_the_gap_ends() -> None:
    from zoneinfo import ZoneInfo

    from o2o_sdk.followups._policy import quiet_until

    ny = ZoneInfo("America/New_York")
    # Quiet 21:00-02:30; 02:30 does not exist on 8 March 2026 (02:00 EST -> 03:00 EDT = 07:00 UTC).
    assert quiet_until(datetime(2026, 3, 8, 5, 0, tzinfo=UTC), ny, (time(21), time(2, 30))) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 3, 8, 15, 0, tzinfo=UTC), ny, (time(21), time(8))) is None
    assert quiet_until(datetime(2026, 3, 8, 15, 0, tzinfo=UTC), ny, (time(9), time(12))) == datetime(2026, 3, 8, 16, 0, tzinfo=UTC)


def test_a_daily_cap_postpones_until_the_window_frees(make_shop: Callable[..., O2O], clock: FrozenClock, channel: RecordingChannel) -> None:
    shop = make_shop(cap_per_day=1, cap_per_week=None)
    shop.followups.add_template(TEMPLATE)
    _contact(shop)
    first_sent_at = clock.now()
    shop.followups.add(_plan(key="a"))
    shop.followups.add(_plan(key="b"))
    counts = shop.followups.run_once()
    assert (counts.sent, counts.postponed) == (1, 1)
    [later] = shop.followups.list(status="pending")
    assert later.due_at == first_sent_at + timedelta(days=1)
    shop.followups.add(_plan(key="t", transactional=True))  # transactional messages are not capped
    assert shop.followups.run_once().sent == 1
    clock.advance(days=1)
    assert shop.followups.run_once().sent == 1


def test_a_weekly_cap_can_skip_instead(make_shop: Callable[..., O2O], clock: FrozenClock) -> None:
    shop = make_shop(cap_per_day=None, cap_per_week=2, cap_policy="skip")
    shop.followups.add_template(TEMPLATE)
    _contact(shop)
    for key in "abc":
        shop.followups.add(_plan(key=key))
        clock.advance(hours=1)
    counts = shop.followups.run_once()
    assert (counts.sent, counts.skipped) == (2, 1)
    assert (shop.followups.find("c").last_error or "").startswith("cap")  # type: ignore[union-attr]


# ------------------------------------------------------------------ exit conditions


def test_exit_conditions_are_checked_at_send_time(shop: O2O, clock: FrozenClock, channel: RecordingChannel) -> None:
    _contact(shop)
    offer = shop.offers.create("Coffee", __import__("o2o_sdk").Discount.percent_off(10))
    voucher = shop.offers.issue(offer, "c1")
    shop.followups.add(_plan(key="remind", voucher_id=voucher.id, exit_on=(ExitCondition.VOUCHER_REDEEMED.value,),
                             delay=timedelta(hours=1)))  # fmt: skip
    shop.followups.add(_plan(key="online", exit_on=(ExitCondition.ORDERED_ONLINE_SINCE.value,), delay=timedelta(hours=1)))
    shop.followups.add(_plan(key="visit", exit_on=(ExitCondition.VISITED_SINCE.value,), delay=timedelta(hours=1)))
    clock.advance(minutes=10)
    shop.offers.redeem(voucher.token, "lon-soho")  # planned before, redeemed after: a visit too
    shop.journal.append(EventType.ORDER_ONLINE, customer_id="c1")
    clock.advance(hours=1)
    counts = shop.followups.run_once(plan=False)
    assert (counts.sent, counts.skipped) == (0, 3)
    reasons = {f.dedupe_key: f.last_error for f in shop.followups.list()}
    assert reasons["remind"].startswith("exit: voucher_redeemed")  # type: ignore[union-attr]
    assert reasons["online"] == "exit: ordered_online_since"
    assert reasons["visit"] == "exit: visited_since"


def test_hook_o2o_check_followup(shop: O2O, channel: RecordingChannel) -> None:
    class VipOnly:
        @hookimpl
        def o2o_check_followup(self, followup, contact):  # type: ignore[no-untyped-def]
            return None if contact.name == "VIP" else "not a VIP"

    _contact(shop)
    shop.followups.add(_plan())
    with shop.plugins.registered(VipOnly()):
        assert shop.followups.run_once().skipped == 1
    assert shop.followups.find("k1").last_error.startswith("exit: not a VIP")  # type: ignore[union-attr]


# ------------------------------------------------------------------ retries, dead letters, leases


def test_transient_errors_back_off_with_jitter_then_dead_letter(make_shop: Callable[..., O2O], clock: FrozenClock, channel: RecordingChannel) -> None:
    shop = make_shop(max_attempts=3, backoff_base=timedelta(seconds=10))
    shop.followups.add_template(TEMPLATE)
    _contact(shop)
    channel.fail = [TransientDeliveryError("busy", code="http_503")] * 3
    f = shop.followups.add(_plan())
    delays = []
    for attempt in (1, 2):
        start = clock.now()
        assert shop.followups.run_once().retried == 1
        row = shop.followups.get(f.id)  # type: ignore[union-attr]
        assert row.status is FollowUpStatus.PENDING and row.attempts == attempt and row.last_error == "http_503: busy"
        delays.append((row.due_at - start).total_seconds())
        assert shop.followups.run_once().claimed == 0  # not due yet
        clock.set(row.due_at)
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20  # base x 2^(n-1), half of it random
    assert shop.followups.run_once().dead == 1
    dead = shop.followups.get(f.id)  # type: ignore[union-attr]
    assert dead.status is FollowUpStatus.DEAD and dead.last_error == "http_503: busy (after 3 attempts)"
    assert shop.journal.counts().get("followup_dead") == 1
    assert shop.followups.retry() == 1
    assert shop.followups.run_once().sent == 1
    assert shop.followups.get(f.id).attempts == 1  # type: ignore[union-attr]


def test_a_permanent_error_is_dead_at_once(shop: O2O, channel: RecordingChannel) -> None:
    _contact(shop)
    channel.fail = [PermanentDeliveryError("no such mailbox", code="smtp_550")]
    f = shop.followups.add(_plan())
    assert shop.followups.run_once().dead == 1
    assert shop.followups.get(f.id).last_error == "smtp_550: no such mailbox"  # type: ignore[union-attr]


def test_a_template_variable_nobody_supplied_is_a_dead_letter_naming_it(shop: O2O) -> None:
    _contact(shop)
    shop.followups.add(_plan(data={}))
    assert shop.followups.run_once().dead == 1
    assert "$note" in (shop.followups.find("k1").last_error or "")  # type: ignore[union-attr]


def test_html_values_are_escaped(shop: O2O, channel: RecordingChannel) -> None:
    _contact(shop)
    shop.followups.add(_plan(data={"note": "<script>x</script>"}))
    shop.followups.run_once()
    [(message, _)] = channel.sent
    assert "<script>" in message.text and "&lt;script&gt;" in (message.html or "") and "<script>" not in (message.html or "")


def test_a_claim_whose_lease_ran_out_is_taken_by_another_worker(shop: O2O, clock: FrozenClock, channel: RecordingChannel) -> None:
    _contact(shop)
    f = shop.followups.add(_plan())
    outbox = shop.followups._outbox
    now = clock.now()
    [claimed] = outbox.claim("dead-worker", now, 10, now + timedelta(seconds=60))
    assert claimed.id == f.id and claimed.attempts == 1  # type: ignore[union-attr]
    assert shop.followups.run_once(worker_id="w2").claimed == 0  # leased
    clock.advance(seconds=61)
    counts = shop.followups.run_once(worker_id="w2")
    assert counts.sent == 1
    assert shop.followups.get(f.id).attempts == 2  # type: ignore[union-attr]


def test_a_send_already_in_the_ledger_is_not_sent_again(shop: O2O, clock: FrozenClock, channel: RecordingChannel) -> None:
    _contact(shop)
    f = shop.followups.add(_plan())
    outbox = shop.followups._outbox
    now = clock.now()
    [claimed] = outbox.claim("w1", now, 10, now + timedelta(seconds=60))
    # w1 sent it and wrote the ledger, but the row was rescued before w1 marked it.
    from o2o_sdk.followups._outbox import Completion

    with outbox.transaction() as tx:
        tx.cur.execute(outbox._q("INSERT INTO followup_sends (followup_id, idempotency_key, customer_id, channel, transactional,"
                                 " sent_at, worker_id) VALUES (?, ?, ?, ?, 0, ?, 'w1')"),
                       (f.id, f.idempotency_key, "c1", "email", outbox._d.ts_in(now)))  # type: ignore[union-attr]  # fmt: skip
    clock.advance(seconds=61)
    counts = shop.followups.run_once(worker_id="w2")
    assert (counts.recovered, counts.sent) == (1, 0)
    assert channel.sent == []
    assert shop.followups.get(f.id).status is FollowUpStatus.SENT  # type: ignore[union-attr]
    # A late completion by w1 is counted as a duplicate, and the ledger stays at one.
    _, duplicates = outbox.complete("w1", [Completion(claimed, "sent", now)], [])
    assert duplicates == 1 and shop.followups.sends() == 1


def test_an_unknown_channel_is_retried_then_dead(make_shop: Callable[..., O2O], clock: FrozenClock) -> None:
    shop = make_shop(max_attempts=1)
    shop.followups.add_template(TEMPLATE)
    _contact(shop)
    shop.followups.add(FollowUpPlan("test", "pigeon", "hello", "c1", "p", data={"note": "x"}))
    assert shop.followups.run_once().dead == 1
    assert (shop.followups.find("p").last_error or "").startswith("unknown_channel")  # type: ignore[union-attr]


def test_cancel_by_id_and_by_customer(shop: O2O) -> None:
    a = shop.followups.add(_plan(key="a", delay=timedelta(hours=3)))
    shop.followups.add(_plan(key="b", delay=timedelta(hours=3)))
    assert shop.followups.cancel([a.id]) == 1  # type: ignore[union-attr]
    assert shop.followups.cancel(customer_id="c1") == 1
    assert shop.followups.counts() == {"cancelled": 2}
    assert shop.followups.retry([a.id]) == 1  # type: ignore[union-attr]
    assert shop.followups.counts() == {"cancelled": 1, "pending": 1}


def test_run_loops_until_stopped_and_plans_along_the_way(shop: O2O, channel: RecordingChannel) -> None:
    import threading

    _contact(shop)
    shop.followups.add(_plan(key="a"))
    shop.followups.add(_plan(key="b", transactional=True))
    stop = threading.Event()
    seen = []

    def progress(counts: object) -> None:
        seen.append(str(counts))
        stop.set()

    totals = shop.followups.run(batch_size=1, poll_interval=0.01, stop=stop, progress=progress)
    assert totals.sent == 1 and totals.batches == 1 and seen == ["claimed 1, sent 1, batches 1"]
    later = threading.Event()
    threading.Timer(0.2, later.set).start()
    assert shop.followups.run(stop=later, poll_interval=0.01).sent == 1  # the other one, then idle until stopped


def test_preview_renders_without_sending(shop: O2O, channel: RecordingChannel) -> None:
    _contact(shop)
    f = shop.followups.add(_plan())
    message = shop.followups.preview(f.id)  # type: ignore[union-attr]
    assert message.subject == "Hello Ada" and channel.sent == []
    assert shop.followups.get(f.id).status is FollowUpStatus.PENDING  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email": "not-an-email"}, "is not an email address"),
        ({"phone": "07700 900123"}, "international format"),
        ({"timezone": "Mars/Olympus"}, "is not an IANA time zone"),
    ],
)
def test_contacts_refuse_malformed_addresses(shop: O2O, kwargs: dict[str, str], message: str) -> None:
    from o2o_sdk import InvalidInput

    with pytest.raises(InvalidInput, match=message):
        shop.followups.contacts.upsert("c1", **kwargs)  # type: ignore[arg-type]


def test_contacts_keep_what_is_not_given_and_record_consent(shop: O2O, clock: FrozenClock) -> None:
    contacts = shop.followups.contacts
    contacts.upsert("c1", email="a@example.com", phone="+44 (7700) 900-123", consents=["email"], source="form")
    clock.advance(hours=1)
    contact = contacts.upsert("c1", name="Ada")
    assert (contact.email, contact.phone, contact.name, contact.timezone) == ("a@example.com", "+447700900123", "Ada", "UTC")
    assert contact.consents["email"].at == clock.now() - timedelta(hours=1) and contact.consents["email"].source == "form"
    assert contacts.upsert("c1", email="").email is None
    from o2o_sdk import NotFound

    with pytest.raises(NotFound):
        contacts.grant("nobody", "email")
