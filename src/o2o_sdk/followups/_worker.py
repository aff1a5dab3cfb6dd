"""The worker: claim a batch, decide each follow-up at send time, deliver, record the batch.

For each claimed row, in this order (the first that applies decides):

1. already in the send ledger (its worker died after the channel accepted it and the ledger
   was written, before the row was marked) → marked sent, the channel is not called again;
2. claimed more than ``max_attempts`` times (workers keep dying on it) → dead;
3. channel not installed → retried (transient);
4. no contact / no address on the channel → skipped;
5. the address is suppressed on the channel → skipped (transactional messages too);
6. no consent for the channel (marketing messages) → skipped;
7. an exit condition holds (built-in, or a plugin's ``o2o_check_followup``) → skipped;
8. inside the recipient's quiet hours → postponed to their end (not an attempt);
9. over the daily / weekly cap → postponed until the window frees, or skipped (``cap_policy``).
   Counted: the customer's recorded sends, and rows of theirs claimed by other workers (none
   unless a lease ran out: one worker at a time holds a customer), read in one statement after
   this batch was claimed (:meth:`~o2o_sdk.followups._outbox.Outbox.cap_usage`). A row over
   the cap only because of rows this batch lets through before it → released (decided again
   once those sends are recorded, since one of them may still fail);
10. the claim's lease is past its half → extended for the rest of the batch (a heartbeat); a
    row another worker took meanwhile → released, not sent;
11. otherwise: issue the voucher if the plan asked for one (once: inserted in the transaction
    that remembers it on the row), render the template, ``channel.send(message, idempotency_key)``.

Outcomes of a batch, the ledger entries and the journal events (``followup_sent``,
``followup_skipped``, ``followup_dead``) are written in one transaction at the end of the
batch. A worker killed before that loses nothing: its rows come back when the lease ends and
are sent again with the same idempotency key (at-least-once; the receiver drops duplicates),
and they count against their customers' caps until then.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from ..errors import InvalidInput, O2OError
from ..models import (
    Contact,
    EventType,
    ExitCondition,
    FollowUp,
    FollowUpEvent,
    JournalEvent,
    Voucher,
)
from ..offers import VOUCHER_PURPOSE
from ..tokens import encode_voucher_payload
from ._channels import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from ._contacts import normalize_address
from ._outbox import Completion
from ._planner import VISIT_TYPES
from ._policy import backoff, cap_release, quiet_until, zone

if TYPE_CHECKING:
    from ..sdk import O2O
    from . import Followups, RunCounts
    from ._outbox import Outbox

__all__ = ["Worker"]

log = logging.getLogger("o2o_sdk.followups")

_EXIT_TYPES: dict[str, tuple[str, ...]] = {
    ExitCondition.REDEEMED_SINCE.value: (EventType.REDEEMED.value,),
    ExitCondition.ORDERED_ONLINE_SINCE.value: (EventType.ORDER_ONLINE.value,),
    ExitCondition.VISITED_SINCE.value: VISIT_TYPES,
}
#: The longest cap window: sends older than this never count.
_CAP_HORIZON = timedelta(days=7)


class Worker:
    """Processes claimed batches for one SDK instance."""

    def __init__(self, sdk: O2O, service: Followups, outbox: Outbox) -> None:
        self._sdk = sdk
        self._svc = service
        self._outbox = outbox
        self._rng = random.Random()

    def process(self, worker_id: str, batch: Sequence[FollowUp], counts: RunCounts) -> None:
        """Decide, deliver and record one claimed batch."""
        settings = self._sdk.config.followups
        now = self._sdk.clock.now()
        customers = sorted({f.customer_id for f in batch})
        ledger = self._outbox.already_sent([f.id for f in batch])
        contacts = self._outbox.contacts(customers)
        capped = settings.cap_per_day is not None or settings.cap_per_week is not None
        marketing = sorted({f.customer_id for f in batch if not f.transactional})
        usage = self._outbox.cap_usage(marketing, [f.id for f in batch], now - _CAP_HORIZON, now) if capped else {}
        addresses: dict[str, str | None] = {}
        for f in batch:
            channel = self._svc.channels.get(f.channel)
            contact = contacts.get(f.customer_id)
            addresses[f.id] = channel.address(contact) if channel is not None and contact is not None else None
        suppressed = self._outbox.suppressed((f.channel, normalize_address(a)) for f in batch if (a := addresses[f.id]))
        decided: dict[str, Completion] = {}
        ready: list[FollowUp] = []
        for f in batch:
            c = self._check(f, now, ledger, contacts.get(f.customer_id), addresses[f.id], suppressed)
            if c is None:
                ready.append(f)
            else:
                decided[f.id] = c
        decided.update(self._over_cap(ready, usage, now))
        # Deliver, keeping the claim alive: past half of the lease, extend it for the whole batch
        # (rows already sent too: until the batch is recorded, another worker would send them again).
        until = min((f.lease_until for f in batch if f.lease_until is not None), default=None)
        lost: set[str] = set()
        for f in ready:
            if f.id in decided:
                continue
            at = self._sdk.clock.now()
            if until is not None and at >= until - settings.lease / 2:
                held = [g.id for g in batch if g.id not in lost]
                until = at + settings.lease
                lost |= set(held) - self._outbox.extend_lease(worker_id, held, until)
            if f.id in lost:  # another worker took it when our lease ran out
                decided[f.id] = Completion(f, "released", at, due_at=at)
                continue
            contact = contacts[f.customer_id]
            address = addresses[f.id]
            assert address is not None  # _check let it through
            decided[f.id] = self._send(f, contact, address, at)
        done = [decided[f.id] for f in batch]
        events: list[JournalEvent] = []
        for c in done:
            self._count(c, counts, events)
        committed, duplicates = self._outbox.complete(worker_id, done, events)
        counts.duplicates += duplicates
        self._sdk._emit(committed)

    # ------------------------------------------------------------------ one row
    def _check(self, f: FollowUp, now: datetime, ledger: set[str], contact: Contact | None, address: str | None,
               suppressed: set[tuple[str, str]]) -> Completion | None:  # fmt: skip
        """Steps 1-8: the outcome, or ``None`` when the row may go on to the caps and the send."""
        settings = self._sdk.config.followups
        if f.id in ledger:
            return Completion(f, "recovered", now)
        if f.attempts > f.max_attempts:
            return Completion(f, "dead", now, error=f"Gave up after {f.max_attempts} attempts: its workers stopped before finishing it.")
        channel = self._svc.channels.get(f.channel)
        if channel is None:
            return self._failed(f, TransientDeliveryError(f"No channel named {f.channel!r} is installed.", code="unknown_channel"), now)
        if contact is None:
            return Completion(f, "skipped", now, error="no_contact: the customer has no contact record.")
        if address is None:
            return Completion(f, "skipped", now, error=f"no_address: the customer has no address for {f.channel}.")
        if (f.channel, normalize_address(address)) in suppressed:
            return Completion(f, "skipped", now, error=f"suppressed: {f.channel} to this address is suppressed.")
        if channel.requires_consent and not f.transactional and not contact.consented(f.channel):
            return Completion(f, "skipped", now, error=f"no_consent: the customer has not consented to {f.channel}.")
        reason = self._exit_reason(f, contact)
        if reason is not None:
            return Completion(f, "skipped", now, error=f"exit: {reason}")
        if not f.transactional:
            until = quiet_until(now, zone(contact.timezone, settings.default_timezone), settings.quiet_hours)
            if until is not None:
                return Completion(f, "postponed", now, due_at=until)
        return None

    def _over_cap(self, ready: Sequence[FollowUp], usage: dict[str, list[datetime]], now: datetime) -> dict[str, Completion]:
        """Step 9: the outcomes of the marketing rows of ``ready`` that the caps stop."""
        settings = self._sdk.config.followups
        per_day, per_week = settings.cap_per_day, settings.cap_per_week
        decided: dict[str, Completion] = {}
        ours: dict[str, list[datetime]] = {}
        for f in ready:
            if f.transactional or (per_day is None and per_week is None):
                continue
            before = usage.get(f.customer_id, [])
            release = cap_release(before, now, per_day, per_week)
            if release is not None:
                if settings.cap_policy == "skip":
                    decided[f.id] = Completion(f, "skipped", now, error="cap: the customer reached the frequency cap.")
                else:
                    decided[f.id] = Completion(f, "postponed", now, due_at=release)
            elif cap_release([*before, *ours.get(f.customer_id, [])], now, per_day, per_week) is not None:
                # Only rows ahead of it in this batch stand in the way, and one may still fail:
                # back to the queue, to be decided once their outcomes are recorded.
                decided[f.id] = Completion(f, "released", now, due_at=now)
            else:
                ours.setdefault(f.customer_id, []).append(now)
        return decided

    def _send(self, f: FollowUp, contact: Contact, address: str, now: datetime) -> Completion:
        """Step 11: the voucher (once), the message, the channel."""
        channel = self._svc.channels.get(f.channel)
        assert channel is not None  # _check let it through
        voucher_id = f.voucher_id
        try:
            if f.offer_id is not None and voucher_id is None:
                voucher_id = self._issue_voucher(f, f.offer_id, now)
                f = attrs.evolve(f, voucher_id=voucher_id)
            message = self._svc._message(f, contact, channel, address)
            result = channel.send(message, f.idempotency_key)
        except InvalidInput as exc:  # e.g. the offer of a next-visit voucher was stopped
            return self._failed(f, PermanentDeliveryError(str(exc), code=exc.code), now, voucher_id)
        except DeliveryError as exc:
            return self._failed(f, exc, now, voucher_id)
        except O2OError as exc:
            return self._failed(f, TransientDeliveryError(str(exc), code=exc.code), now, voucher_id)
        except Exception as exc:  # a channel's bug or an unexpected network error: retry
            log.warning("channel %s raised %s for follow-up %s", f.channel, type(exc).__name__, f.id, exc_info=True)
            return self._failed(f, TransientDeliveryError(f"{type(exc).__name__}: {exc}"), now, voucher_id)
        return Completion(f, "sent", now, provider_id=getattr(result, "provider_id", None), voucher_id=voucher_id)

    def _issue_voucher(self, f: FollowUp, offer_id: str, now: datetime) -> str:
        """Issue the plan's voucher as ``sdk.offers.issue`` does, but inserted in the transaction
        that remembers it on the row: a worker that dies at any point leaves either no voucher or
        one the retry finds and sends (never an orphan and a second one)."""
        sdk = self._sdk
        offer = sdk.offers.get(offer_id)
        if not offer.active:
            raise InvalidInput(f"Offer {offer.id} is inactive; it cannot issue vouchers.")
        expiry = sdk.offers._expiry(offer, now, None, None)
        vid = secrets.token_bytes(8).hex()
        token = sdk.signer.sign(encode_voucher_payload(vid, expiry), VOUCHER_PURPOSE)
        voucher = Voucher(vid, offer.id, token, now, expiry, f.customer_id)
        event = JournalEvent(EventType.ISSUED, now, offer.id, vid, None, f.customer_id)
        kept, committed = self._outbox.issue_voucher(f.id, voucher, event)
        if committed:
            sdk._emit(committed)
            sdk.plugins.after_issue(sdk, offer, [voucher])
        return kept

    def _failed(self, f: FollowUp, exc: DeliveryError, now: datetime, voucher_id: str | None = None) -> Completion:
        error = f"{exc.code}: {exc.message}"
        if isinstance(exc, PermanentDeliveryError) or f.attempts >= f.max_attempts:
            if not isinstance(exc, PermanentDeliveryError):
                error = f"{error} (after {f.attempts} attempts)"
            return Completion(f, "dead", now, error=error, voucher_id=voucher_id)
        settings = self._sdk.config.followups
        delay = backoff(f.attempts, settings.backoff_base, settings.backoff_max, self._rng, exc.retry_after)
        return Completion(f, "retry", now, due_at=now + delay, error=error, voucher_id=voucher_id)

    def _exit_reason(self, f: FollowUp, contact: Contact) -> str | None:
        for cond in f.exit_on:
            if cond == ExitCondition.VOUCHER_REDEEMED.value:
                vid = f.voucher_id or f.data.get("voucher_id")
                voucher = self._sdk.storage.get_voucher(str(vid)) if vid else None
                if voucher is not None and voucher.status.value != "active":
                    return f"{cond} (the voucher is {voucher.status.value})"
            elif cond in _EXIT_TYPES and self._outbox.journal_has(f.customer_id, _EXIT_TYPES[cond], f.trigger_at):
                return cond
            # Unknown names are left to plugins (o2o_check_followup).
        for plugin, reason in self._sdk.plugins.check_followup(self._sdk, f, contact):
            return f"{reason} ({plugin})"
        return None

    # ------------------------------------------------------------------ bookkeeping
    def _count(self, c: Completion, counts: RunCounts, events: list[JournalEvent]) -> None:
        f = c.followup
        data = {"followup_id": f.id, "flow": f.flow, "channel": f.channel, "attempts": f.attempts}
        voucher_id = c.voucher_id or f.voucher_id
        if c.outcome == "sent":
            counts.sent += 1
            events.append(JournalEvent(FollowUpEvent.SENT.value, c.at, f.offer_id, voucher_id, None, f.customer_id, data))
        elif c.outcome == "recovered":
            counts.recovered += 1
        elif c.outcome == "retry":
            counts.retried += 1
        elif c.outcome == "postponed":
            counts.postponed += 1
        elif c.outcome == "released":
            counts.released += 1
        elif c.outcome == "dead":
            counts.dead += 1
            events.append(JournalEvent(FollowUpEvent.DEAD.value, c.at, f.offer_id, voucher_id, None, f.customer_id,
                                       {**data, "error": c.error}))  # fmt: skip
        elif c.outcome == "skipped":
            counts.skipped += 1
            events.append(JournalEvent(FollowUpEvent.SKIPPED.value, c.at, f.offer_id, voucher_id, None, f.customer_id,
                                       {**data, "reason": c.error}))  # fmt: skip
