"""Planning: journal events (and the time-based scan) → follow-ups in the outbox, exactly once.

**From the journal.** The planner keeps a cursor (the last planned ``seq``) in
``followup_cursors``. It reads the events after it, asks the ``o2o_plan_followups`` plugins for
plans (outside any transaction: a flow may issue vouchers or call an adapter), then in one
transaction locks the cursor, checks that nobody advanced it meanwhile, inserts the new rows
(``ON CONFLICT (dedupe_key) DO NOTHING``) and moves the cursor. Any number of processes may
plan; each event is planned once and each dedupe key exists once.

On PostgreSQL a sequence number can become visible after a later one (two transactions
commit out of order), so the planner stops at a gap in ``seq`` and waits for it to fill; a
gap still open after :data:`GAP_WAIT_S` seconds is a rolled-back transaction and is skipped.

**Time-based triggers** (a voucher about to expire unused, no visit for N days) come from a
scan that plans directly: it builds synthetic events (``voucher_expiring`` dated now, ``no_visit`` dated
at the last visit; not stored in the journal) for the window since the previous scan (a watermark in
``followup_cursors``) and hands them to the same hook. Dedupe keys make a repeated scan harmless.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import InvalidInput
from ..ids import new_id
from ..models import EventType, FollowUp, FollowUpEvent, FollowUpPlan, FollowUpStatus, JournalEvent

if TYPE_CHECKING:
    from ..sdk import O2O
    from ._outbox import Outbox

__all__ = ["GAP_WAIT_S", "VISIT_TYPES", "Planner", "idempotency_key"]

log = logging.getLogger("o2o_sdk.followups")

#: How long a gap in journal sequence numbers is waited for before it is taken as a rollback.
GAP_WAIT_S = 5.0
#: Journal event types that count as a store visit (win-back, ``visited_since``).
VISIT_TYPES = (EventType.CHECKED_IN.value, EventType.REDEEMED.value, EventType.ORDER_IN_STORE.value)
_MAX_KEY = 255


def idempotency_key(dedupe_key: str) -> str:
    """The idempotency key of a follow-up: derived from its dedupe key, so it is the same on
    every attempt and even if the outbox were rebuilt from the journal."""
    return "o2o-fu-" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]


class Planner:
    """Turns events into outbox rows."""

    def __init__(self, sdk: O2O, outbox: Outbox) -> None:
        self._sdk = sdk
        self._outbox = outbox
        self._gaps: dict[tuple[int, int], float] = {}

    # ------------------------------------------------------------------ rows from plans
    def row(self, plan: FollowUpPlan, trigger_at: datetime, source_seq: int | None, now: datetime) -> FollowUp | None:
        """The outbox row for ``plan``, or ``None`` when it is stale (old history replayed)."""
        _check_plan(plan)
        settings = self._sdk.config.followups
        due = plan.send_at if plan.send_at is not None else trigger_at + plan.delay
        if due < now - settings.stale_after:
            log.info("follow-up %s dropped: it was due %s, longer ago than stale_after", plan.dedupe_key, due)
            return None
        return FollowUp(
            id=new_id("fu"), dedupe_key=plan.dedupe_key, flow=plan.flow, channel=plan.channel, template=plan.template,
            customer_id=plan.customer_id, status=FollowUpStatus.PENDING, due_at=due, created_at=now,
            trigger_at=trigger_at, idempotency_key=idempotency_key(plan.dedupe_key), attempts=0,
            max_attempts=settings.max_attempts, exit_on=tuple(plan.exit_on), offer_id=plan.offer_id,
            voucher_id=plan.voucher_id, transactional=plan.transactional,
            data={str(k): v for k, v in plan.data.items()}, source_seq=source_seq,
        )  # fmt: skip

    def _rows_for(self, events: Sequence[JournalEvent], now: datetime) -> list[FollowUp]:
        rows = []
        for event in events:
            for plan in self._sdk.plugins.plan_followups(self._sdk, event):
                try:
                    row = self.row(plan, event.at, event.seq, now)
                except InvalidInput as exc:
                    log.error("a planning plugin returned a bad plan for event %s: %s", event.seq, exc)
                    continue
                if row is not None:
                    rows.append(row)
        return rows

    # ------------------------------------------------------------------ the journal
    def plan(self, limit: int = 1000) -> int:
        """Plan the journal events after the stored cursor (up to ``limit``); returns rows added."""
        cursor = self._outbox.cursor("journal")
        after = int(cursor) if cursor else 0
        events = self._sdk.storage.read_journal(after, limit)
        usable = self._contiguous(after, events)
        if not usable:
            return 0
        now = self._sdk.clock.now()
        rows = self._rows_for(usable, now)
        visits: dict[str, datetime] = {}
        for e in usable:
            if e.type in VISIT_TYPES and e.customer_id:
                visits[e.customer_id] = max(e.at, visits.get(e.customer_id, e.at))
        with self._outbox.transaction() as tx:
            if self._outbox.lock_cursor(tx, "journal") != cursor:
                return 0  # another planner took these events; ours are discarded
            added = self._outbox.insert_many(tx, rows)
            self._outbox.visits_seen(tx, visits)
            self._outbox.set_cursor(tx, "journal", str(usable[-1].seq))
        return added

    def _contiguous(self, after: int, events: Sequence[JournalEvent]) -> list[JournalEvent]:
        usable: list[JournalEvent] = []
        expected = after + 1
        clock = time.monotonic()
        for e in events:
            seq = int(e.seq or 0)
            if seq != expected:
                gap = (expected, seq)
                first_seen = self._gaps.setdefault(gap, clock)
                if clock - first_seen < GAP_WAIT_S:
                    break
                self._gaps.pop(gap, None)
            usable.append(e)
            expected = seq + 1
        return usable

    # ------------------------------------------------------------------ time-based triggers
    def scan(self) -> int:
        """Plan the time-based triggers due since the last scan; returns rows added."""
        flows = self._sdk.config.followups.flows
        now = self._sdk.clock.now()
        mark = self._outbox.cursor("scan")
        prev = datetime.fromisoformat(mark) if mark else None
        events: list[JournalEvent] = []
        if flows.expiry_notice is not None:
            lo = max(now, prev + flows.expiry_notice) if prev else now
            for vid, offer_id, customer_id, expires in self._outbox.expiring_vouchers(lo, now + flows.expiry_notice):
                events.append(JournalEvent(FollowUpEvent.VOUCHER_EXPIRING.value, now, offer_id, vid, None, customer_id,
                                           {"expires_at": expires.isoformat()}))  # fmt: skip
        if flows.winback_after is not None:
            after = prev - flows.winback_after if prev else None
            for customer_id, last in self._outbox.lapsed_contacts(after, now - flows.winback_after):
                # The event is dated at the last visit: "since" of the exit conditions is that visit.
                events.append(JournalEvent(FollowUpEvent.NO_VISIT.value, last, customer_id=customer_id,
                                           data={"last_visit_at": last.isoformat(), "days": flows.winback_after.days}))  # fmt: skip
        rows = self._rows_for(events, now)
        with self._outbox.transaction() as tx:
            if self._outbox.lock_cursor(tx, "scan") != mark:
                return 0
            added = self._outbox.insert_many(tx, rows)
            self._outbox.set_cursor(tx, "scan", now.isoformat())
        return added

    # ------------------------------------------------------------------ in code
    def add(self, plan: FollowUpPlan, trigger_at: datetime | None = None) -> FollowUp | None:
        """Plan one follow-up directly; ``None`` if its dedupe key exists (the existing row stays)."""
        now = self._sdk.clock.now()
        row = self.row(plan, trigger_at or now, None, now)
        if row is None:
            return None
        with self._outbox.transaction() as tx:
            added = self._outbox.insert_many(tx, [row])
        return row if added else None


def _check_plan(plan: FollowUpPlan) -> None:
    if not isinstance(plan, FollowUpPlan):
        raise InvalidInput(f"A follow-up plan must be a FollowUpPlan, not {type(plan).__name__}.")
    if not plan.dedupe_key or len(plan.dedupe_key) > _MAX_KEY:
        raise InvalidInput(f"A follow-up's dedupe key must have 1 to {_MAX_KEY} characters.")
    if not plan.customer_id or not plan.channel or not plan.template or not plan.flow:
        raise InvalidInput("A follow-up plan needs a flow, a channel, a template and a customer.")
    if plan.send_at is not None and plan.send_at.tzinfo is None:
        raise InvalidInput("A follow-up's send time needs a time zone.")
    if any("," in cond for cond in plan.exit_on):
        raise InvalidInput("An exit condition name cannot contain a comma.")
