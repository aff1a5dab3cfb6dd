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
9. over the daily / weekly cap → postponed until the window frees, or skipped (``cap_policy``);
10. the claim's lease is about to end → released (another worker may take it);
11. otherwise: issue the voucher if the plan asked for one (once: remembered on the row),
    render the template, ``channel.send(message, idempotency_key)``.

Outcomes of a batch, the ledger entries and the journal events (``followup_sent``,
``followup_skipped``, ``followup_dead``) are written in one transaction at the end of the
batch. A worker killed before that loses nothing: its rows come back when the lease ends and
are sent again with the same idempotency key (at-least-once; the receiver drops duplicates).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import InvalidInput, O2OError
from ..models import (
    Contact,
    EventType,
    ExitCondition,
    FollowUp,
    FollowUpEvent,
    JournalEvent,
)
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


class _Decided(Exception):
    """Ends the decision for one row with a completion."""

    def __init__(self, completion: Completion) -> None:
        self.completion = completion


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
        recent = self._outbox.recent_sends(
            sorted({f.customer_id for f in batch if not f.transactional}), now - timedelta(days=7)
        ) if capped else {}  # fmt: skip
        addresses: dict[str, str | None] = {}
        for f in batch:
            channel = self._svc.channels.get(f.channel)
            contact = contacts.get(f.customer_id)
            addresses[f.id] = channel.address(contact) if channel is not None and contact is not None else None
        suppressed = self._outbox.suppressed(
            (f.channel, normalize_address(a)) for f in batch if (a := addresses[f.id])
        )
        done: list[Completion] = []
        events: list[JournalEvent] = []
        for f in batch:
            try:
                self._one(f, worker_id, ledger, contacts.get(f.customer_id), addresses[f.id], suppressed, recent)
            except _Decided as decided:
                c = decided.completion
            else:  # pragma: no cover - _one always decides
                continue
            done.append(c)
            self._count(c, counts, events)
        committed, duplicates = self._outbox.complete(worker_id, done, events)
        counts.duplicates += duplicates
        self._sdk._emit(committed)

    # ------------------------------------------------------------------ one row
    def _one(self, f: FollowUp, worker_id: str, ledger: set[str], contact: Contact | None, address: str | None,
             suppressed: set[tuple[str, str]], recent: dict[str, list[datetime]]) -> None:  # fmt: skip
        settings = self._sdk.config.followups
        now = self._sdk.clock.now()

        def finish(outcome: str, error: str | None = None, due_at: datetime | None = None, **kw: Any) -> _Decided:
            return _Decided(Completion(f, outcome, now, due_at=due_at, error=error, **kw))

        if f.id in ledger:
            raise finish("recovered")
        if f.attempts > f.max_attempts:
            raise finish("dead", f"Gave up after {f.max_attempts} attempts: its workers stopped before finishing it.")
        channel = self._svc.channels.get(f.channel)
        if channel is None:
            raise self._failed(f, TransientDeliveryError(f"No channel named {f.channel!r} is installed.", code="unknown_channel"), now)
        if contact is None:
            raise finish("skipped", "no_contact: the customer has no contact record.")
        if address is None:
            raise finish("skipped", f"no_address: the customer has no address for {f.channel}.")
        if (f.channel, normalize_address(address)) in suppressed:
            raise finish("skipped", f"suppressed: {f.channel} to this address is suppressed.")
        if channel.requires_consent and not f.transactional and not contact.consented(f.channel):
            raise finish("skipped", f"no_consent: the customer has not consented to {f.channel}.")
        reason = self._exit_reason(f, contact)
        if reason is not None:
            raise finish("skipped", f"exit: {reason}")
        if not f.transactional:
            tz = zone(contact.timezone, settings.default_timezone)
            until = quiet_until(now, tz, settings.quiet_hours)
            if until is not None:
                raise finish("postponed", due_at=until)
            sent = recent.get(f.customer_id, [])
            release = cap_release(sent, now, settings.cap_per_day, settings.cap_per_week)
            if release is not None:
                if settings.cap_policy == "skip":
                    raise finish("skipped", "cap: the customer reached the frequency cap.")
                raise finish("postponed", due_at=release)
        margin = min(timedelta(seconds=5), settings.lease / 4)
        if f.lease_until is not None and now >= f.lease_until - margin:
            raise finish("released", due_at=now)
        voucher_id = f.voucher_id
        try:
            if f.offer_id is not None and voucher_id is None:
                voucher_id = self._sdk.offers.issue(f.offer_id, f.customer_id).id
                self._outbox.set_voucher(f.id, voucher_id)
                f = attrs.evolve(f, voucher_id=voucher_id)
            message = self._svc._message(f, contact, channel, address)
            result = channel.send(message, f.idempotency_key)
        except InvalidInput as exc:  # e.g. the offer of a next-visit voucher was stopped
            raise self._failed(f, PermanentDeliveryError(str(exc), code=exc.code), now, voucher_id) from None
        except DeliveryError as exc:
            raise self._failed(f, exc, now, voucher_id) from None
        except O2OError as exc:
            raise self._failed(f, TransientDeliveryError(str(exc), code=exc.code), now, voucher_id) from None
        except Exception as exc:  # a channel's bug or an unexpected network error: retry
            log.warning("channel %s raised %s for follow-up %s", f.channel, type(exc).__name__, f.id, exc_info=True)
            raise self._failed(f, TransientDeliveryError(f"{type(exc).__name__}: {exc}"), now, voucher_id) from None
        if not f.transactional:
            recent.setdefault(f.customer_id, []).append(now)
        raise finish("sent", provider_id=getattr(result, "provider_id", None), voucher_id=voucher_id)

    def _failed(self, f: FollowUp, exc: DeliveryError, now: datetime, voucher_id: str | None = None) -> _Decided:
        error = f"{exc.code}: {exc.message}"
        if isinstance(exc, PermanentDeliveryError) or f.attempts >= f.max_attempts:
            if not isinstance(exc, PermanentDeliveryError):
                error = f"{error} (after {f.attempts} attempts)"
            return _Decided(Completion(f, "dead", now, error=error, voucher_id=voucher_id))
        settings = self._sdk.config.followups
        delay = backoff(f.attempts, settings.backoff_base, settings.backoff_max, self._rng, exc.retry_after)
        return _Decided(Completion(f, "retry", now, due_at=now + delay, error=error, voucher_id=voucher_id))

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
