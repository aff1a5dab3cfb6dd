"""Frequency caps hold under concurrency: one worker at a time per customer, a claimed row
counting against its customer's caps until it is recorded, leases kept alive, next-visit
vouchers never orphaned.

The multi-process test runs four real worker processes delivering through the console channel;
the others drive two SDK instances (two workers) on one database, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import TEST_KEYS

from o2o_sdk import (
    O2O,
    Config,
    DeliveryResult,
    Discount,
    FollowUpPlan,
    FollowUpStatus,
    FollowUpTemplate,
    FrozenClock,
    OutboundMessage,
    SystemClock,
    TransientDeliveryError,
    hookimpl,
)

from .conftest import RecordingChannel

CAPPED_WORKER = Path(__file__).with_name("capped_worker.py")
CLAIM_RACER = Path(__file__).with_name("claim_racer.py")
TEMPLATE = FollowUpTemplate("hello", "Hello $name", "Hi $name")


def _plan(customer: str, key: str, **kw: object) -> FollowUpPlan:
    return FollowUpPlan("test", "email", "hello", customer, key, **kw)  # type: ignore[arg-type]


def _contact(sdk: O2O, customer: str) -> None:
    sdk.followups.contacts.upsert(customer, email=f"{customer}@example.com", name="Ada", consents=["email"])


def _shop(make_shop: Callable[..., O2O], **settings: object) -> O2O:
    sdk = make_shop(quiet_hours=None, **settings)
    sdk.followups.add_template(TEMPLATE)
    return sdk


# ------------------------------------------------------------------ four worker processes


@pytest.mark.slow
def test_four_worker_processes_never_send_a_customer_more_than_the_cap(
    make_sdk: Callable[..., O2O], database_url: str, tmp_path: Path
) -> None:
    cap, batch, workers = 3, 2, 4
    sdk = make_sdk(clock=SystemClock())
    now = sdk.clock.now()
    due: dict[str, int] = {}
    transactional: set[str] = set()
    for i in range(36):
        customer = f"c{i:02}"
        sdk.followups.contacts.upsert(customer, email=f"{customer}@example.com")
        due[customer] = i % 6 + 1  # 1 to 6 marketing messages due, against a cap of 3
        # A customer's rows are next to each other in due order, so that consecutive small
        # batches — taken by different workers — hold rows of the same customer.
        for k in range(due[customer]):
            at = now - timedelta(hours=1) + timedelta(seconds=10 * i + k)
            sdk.followups.add(FollowUpPlan("test", "console", "ping", customer, f"m:{customer}:{k}", send_at=at))
        if i % 3 == 0:  # transactional messages are neither capped nor counted
            at = now - timedelta(hours=1) + timedelta(seconds=10 * i + 1, milliseconds=500)
            plan = FollowUpPlan("test", "console", "ping", customer, f"t:{customer}", send_at=at, transactional=True)
            transactional.add(sdk.followups.add(plan).id)  # type: ignore[union-attr]
    go = tmp_path / "go"
    outs = [tmp_path / f"worker-{n}.jsonl" for n in range(workers)]
    procs = [
        subprocess.Popen([sys.executable, str(CAPPED_WORKER), database_url, str(out), str(go), str(cap), str(batch), "0.005"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        for out in outs
    ]  # fmt: skip
    go.write_text("go")
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err

    records = [json.loads(line) for out in outs if out.exists() for line in out.read_text().splitlines()]
    keys = [r["idempotency_key"] for r in records]
    assert len(keys) == len(set(keys))  # no worker died: not even a repeat with the same key
    marketing = Counter(r["customer_id"] for r in records if r["followup_id"] not in transactional)
    expected = Counter({customer: min(n, cap) for customer, n in due.items()})
    assert max(marketing.values()) <= cap
    assert marketing == expected  # each customer exactly min(due, cap)
    assert {r["followup_id"] for r in records} >= transactional  # all transactional ones went out
    ledger = dict(sdk.followups._outbox._all(
        "SELECT customer_id, COUNT(*) FROM followup_sends WHERE transactional = 0 GROUP BY customer_id"
    ))  # fmt: skip
    assert {c: int(n) for c, n in ledger.items()} == dict(expected)
    postponed = sum(max(n - cap, 0) for n in due.values())
    assert sdk.followups.counts() == {"sent": sum(expected.values()) + len(transactional), "pending": postponed}
    later = sdk.followups.list(status="pending")
    assert all(f.due_at > now + timedelta(hours=22) for f in later)  # until the day's window frees
    assert sum(1 for out in outs if out.exists() and out.read_text()) >= 2  # the work was actually shared


@pytest.mark.slow
@pytest.mark.postgres
def test_racing_claims_on_postgresql_never_hand_one_customer_to_two_workers(pg_url: str, tmp_path: Path) -> None:
    """Four processes claim one row at a time and never finish: each customer (four due rows,
    next to each other in due order, so that racing claimers reach for the same customer) must
    end up with exactly one claimed row, held by one worker. (On SQLite claims take the write
    lock in turn, so they cannot race.)"""
    sdk = O2O(Config(database_url=pg_url, secret_keys=TEST_KEYS, auto_migrate=True))
    now = sdk.clock.now()
    customers = [f"c{i:03}" for i in range(200)]
    for i, customer in enumerate(customers):
        for k in range(4):
            at = now - timedelta(hours=1) + timedelta(seconds=10 * i + k)
            sdk.followups.add(FollowUpPlan("test", "console", "ping", customer, f"m:{customer}:{k}", send_at=at))
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, str(CLAIM_RACER), pg_url, str(go), f"w{n}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        for n in range(4)
    ]  # fmt: skip
    go.write_text("go")
    claimed: dict[str, list[str]] = {}
    for n, proc in enumerate(procs):
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        for _, customer in json.loads(out):
            claimed.setdefault(customer, []).append(f"w{n}")
    assert {c: len(workers) for c, workers in claimed.items()} == dict.fromkeys(customers, 1)
    assert sdk.followups.counts() == {"claimed": 200, "pending": 600}
    assert len({w for workers in claimed.values() for w in workers}) >= 2  # the claims really raced
    sdk.close()


# ------------------------------------------------------------------ two workers in one test


def test_a_worker_does_not_claim_a_customer_another_worker_holds(make_shop: Callable[..., O2O], clock: FrozenClock) -> None:
    first = _shop(make_shop)
    second = _shop(make_shop)
    for customer in ("a", "b"):
        _contact(first, customer)
        for k in range(3):
            first.followups.add(_plan(customer, f"{customer}{k}", delay=timedelta(seconds=k)))
    clock.advance(minutes=1)
    now = clock.now()
    held = first.followups._outbox.claim("w1", now, 2, now + timedelta(seconds=60))
    assert sorted(f.dedupe_key for f in held) == ["a0", "b0"]  # the two due first
    # w2 finds a1, a2, b1, b2 due, but their customers are being worked on by w1.
    assert second.followups._outbox.claim("w2", now, 10, now + timedelta(seconds=60)) == []
    clock.advance(seconds=61)  # w1's lease ran out: w1 is presumed dead
    now = clock.now()
    taken = second.followups._outbox.claim("w2", now, 10, now + timedelta(seconds=60))
    assert sorted(f.dedupe_key for f in taken) == ["a0", "a1", "a2", "b0", "b1", "b2"]


def test_a_row_whose_lease_ran_out_mid_send_still_counts_against_the_cap(
    make_shop: Callable[..., O2O], clock: FrozenClock
) -> None:
    """Worker 1 sends the one message of the day allowed and stalls in the channel past its
    lease; worker 2 then claims the customer's other follow-up: it must count the one in flight."""
    rival = _shop(make_shop, cap_per_day=1, cap_per_week=None)
    rival_channel = RecordingChannel()
    rival.followups.channels.add(rival_channel)

    class Stalling(RecordingChannel):
        def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
            clock.advance(seconds=61)  # the lease (60 s) ran out while the provider was slow
            self.rival = rival.followups.run_batch(worker_id="w2", batch_size=1)
            return super().send(message, idempotency_key)

    shop = _shop(make_shop, cap_per_day=1, cap_per_week=None)
    stalling = Stalling()
    shop.followups.channels.add(stalling)
    _contact(shop, "c1")
    shop.followups.add(_plan("c1", "x1"))
    shop.followups.add(_plan("c1", "x2"))
    counts = shop.followups.run_batch(worker_id="w1", batch_size=1)
    assert counts.sent == 1 and len(stalling.sent) == 1
    assert stalling.rival.claimed == 1 and stalling.rival.postponed == 1  # x2: over the cap
    assert rival_channel.sent == []
    assert shop.followups.sends() == 1
    waiting = shop.followups.find("x2")
    assert waiting is not None and waiting.status is FollowUpStatus.PENDING
    assert waiting.due_at > clock.now() + timedelta(hours=23)


def test_a_batch_slower_than_half_its_lease_extends_it(make_shop: Callable[..., O2O], clock: FrozenClock) -> None:
    """Each send takes 50 s of a 60 s lease. Without a heartbeat the second row's claim would
    run out during its send and another worker would send it again."""
    rival = _shop(make_shop)
    rival.followups.channels.add(RecordingChannel())

    class Slow(RecordingChannel):
        def __init__(self) -> None:
            super().__init__()
            self.rival_claims: list[int] = []

        def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
            clock.advance(seconds=50)
            self.rival_claims.append(rival.followups.run_batch(worker_id="w2").claimed)
            return super().send(message, idempotency_key)

    shop = _shop(make_shop)
    slow = Slow()
    shop.followups.channels.add(slow)
    _contact(shop, "c1")
    _contact(shop, "c2")
    shop.followups.add(_plan("c1", "x1"))
    shop.followups.add(_plan("c2", "x2"))
    counts = shop.followups.run_batch(worker_id="w1", batch_size=2)
    assert counts.sent == 2 and len(slow.sent) == 2
    assert slow.rival_claims == [0, 0]  # the lease was extended before the second send
    assert shop.followups.sends() == 2
    assert {f.worker_id for f in shop.followups.list()} == {"w1"}


def test_a_send_that_fails_leaves_the_cap_to_the_next_follow_up(
    make_shop: Callable[..., O2O], clock: FrozenClock, channel: RecordingChannel
) -> None:
    shop = _shop(make_shop, cap_per_day=1, cap_per_week=None)
    _contact(shop, "c1")
    shop.followups.add(_plan("c1", "x1"))
    clock.advance(seconds=1)
    shop.followups.add(_plan("c1", "x2"))
    channel.fail = [TransientDeliveryError("busy", code="http_503")]
    counts = shop.followups.run_once()
    # x1 went first and failed; x2 waited for that outcome (released), then went.
    assert (counts.retried, counts.released, counts.sent) == (1, 1, 1)
    assert [m.to for m, _ in channel.sent] == ["c1@example.com"]
    assert shop.followups.find("x2").status is FollowUpStatus.SENT  # type: ignore[union-attr]
    retry = shop.followups.find("x1")
    assert retry is not None and retry.status is FollowUpStatus.PENDING
    clock.set(retry.due_at)
    assert shop.followups.run_once().postponed == 1  # now over the cap: x2 was sent


def test_a_worker_dying_right_after_issuing_a_voucher_does_not_orphan_it(
    make_shop: Callable[..., O2O], clock: FrozenClock, channel: RecordingChannel
) -> None:
    """The worker dies inside ``o2o_after_issue`` (after the voucher is committed); the retry
    sends that voucher instead of issuing a second one."""

    class Died(BaseException):
        """Stands for the process being killed: nothing below this frame runs."""

    class DieAfterIssue:
        armed = True

        @hookimpl
        def o2o_after_issue(self, sdk: O2O, offer: object, vouchers: list[object]) -> None:
            if self.armed:
                self.armed = False
                raise Died

    shop = _shop(make_shop)
    shop.followups.add_template(FollowUpTemplate("next", "A gift", "Here: $voucher_url"))
    offer = shop.offers.create("Next coffee", Discount.percent_off(20))
    _contact(shop, "c1")
    planned = shop.followups.add(FollowUpPlan("next_visit", "email", "next", "c1", "next:1", offer_id=offer.id))
    assert planned is not None
    with shop.plugins.registered(DieAfterIssue()), pytest.raises(Died):
        shop.followups.run_batch(worker_id="w1")
    assert channel.sent == []
    clock.advance(seconds=61)  # the dead worker's lease runs out
    assert shop.followups.run_once(worker_id="w2").sent == 1
    [voucher] = shop.storage.list_vouchers(offer.id)  # one voucher, not an orphan and a second
    [(message, _)] = channel.sent
    assert shop.offers.url(voucher) in message.text
    assert shop.followups.get(planned.id).voucher_id == voucher.id
    assert shop.journal.counts().get("issued") == 1


def test_claims_of_one_customer_are_exclusive_even_for_rows_already_claimed(
    make_shop: Callable[..., O2O], clock: FrozenClock
) -> None:
    """A rescued row (claimed, lease run out) is claimable; a live claim of the same customer is not."""
    shop = _shop(make_shop)
    _contact(shop, "c1")
    shop.followups.add(_plan("c1", "x1"))
    shop.followups.add(_plan("c1", "x2", delay=timedelta(minutes=2)))
    outbox = shop.followups._outbox
    now = clock.now()
    assert [f.dedupe_key for f in outbox.claim("w1", now, 10, now + timedelta(seconds=60))] == ["x1"]
    clock.advance(minutes=2)  # w1's lease ran out; x2 is due
    now = clock.now()
    assert sorted(f.dedupe_key for f in outbox.claim("w2", now, 10, now + timedelta(seconds=60))) == ["x1", "x2"]
    assert outbox.claim("w3", now, 10, now + timedelta(seconds=60)) == []

