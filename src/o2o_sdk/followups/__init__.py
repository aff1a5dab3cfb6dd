"""Follow-ups (online after offline): durable, idempotent messages after a store visit.

::

    journal event ──► o2o_plan_followups (flows) ──► outbox row (due time, unique dedupe key)
                  ──► worker claims (SKIP LOCKED + per-customer lock / BEGIN IMMEDIATE, lease;
                      one worker per customer at a time)
                  ──► send-time policy: ledger, consent, suppression, exit conditions,
                      quiet hours (recipient's zone), caps (a claimed row counts until recorded)
                  ──► template + o2o_personalize_followup ──► channel.send(message, idempotency_key)
                  ──► ledger + status + journal ``followup_sent`` in one transaction

Channels are plugins (``o2o_register_channels``): ``o2o-smtp``, ``o2o-webhook``, ``o2o-sms``,
``o2o-console``. The default flows (thank-you, next-visit offer, expiry reminder, win-back)
are the default plugin ``followup_flows``, configured by
:class:`~o2o_sdk.models.FollowupFlows`. Delivery is at-least-once with the same idempotency
key on every attempt; the send ledger keeps the SDK's own view to one send per follow-up.
"""

from __future__ import annotations

import builtins
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from .._checks import check_limit
from ..errors import InvalidInput, NotFound, PluginError, Reason, TokenError
from ..models import (
    Contact,
    FollowUp,
    FollowUpEvent,
    FollowUpPlan,
    FollowUpStatus,
    FollowUpTemplate,
    OutboundMessage,
)
from ._channels import (
    Channel,
    ChannelBase,
    ChannelRegistry,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from ._contacts import Contacts
from ._outbox import Outbox
from ._planner import Planner, idempotency_key
from ._policy import zone
from ._templates import render
from ._worker import Worker

if TYPE_CHECKING:
    from ..sdk import O2O

__all__ = [
    "Channel",
    "ChannelBase",
    "Contacts",
    "DeliveryError",
    "Followups",
    "PermanentDeliveryError",
    "RunCounts",
    "TransientDeliveryError",
    "idempotency_key",
]

UNSUBSCRIBE_PURPOSE = "unsubscribe"
UNSUBSCRIBE_PATH = "u"


@attrs.define
class RunCounts:
    """What a run did. ``duplicates``: sends the ledger already had (a rescued row sent twice;
    the receiver drops it by idempotency key)."""

    planned: int = 0
    claimed: int = 0
    sent: int = 0
    #: Rows whose send was in the ledger already (their worker died before marking them).
    recovered: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0
    postponed: int = 0
    released: int = 0
    duplicates: int = 0
    batches: int = 0

    def add(self, other: RunCounts) -> None:
        """Add ``other`` into these counts."""
        for field in attrs.fields(RunCounts):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return attrs.asdict(self)

    def __str__(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.as_dict().items() if v or k in ("sent", "claimed"))


def _payload(channel: str, customer_id: str) -> bytes:
    raw = f"{channel}\x1f{customer_id}".encode()
    return raw + b"\x00" * (-len(raw) % 3)  # whole base64 groups: the signer's token shape


def default_worker_id() -> str:
    """``host:pid:random`` — unique per worker process."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(2).hex()}"


class Followups:
    """``sdk.followups``: contacts, planning, the outbox and its workers, unsubscribes."""

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk
        #: The delivery channels (from ``o2o_register_channels``).
        self.channels = ChannelRegistry(sdk)
        self._templates: dict[str, FollowUpTemplate] | None = None
        self._parts: tuple[Outbox, Contacts, Planner, Worker] | None = None
        self._last_plan = 0.0
        self._last_scan = 0.0

    def _open(self) -> tuple[Outbox, Contacts, Planner, Worker]:
        # Built on first use: a third-party storage without the outbox tables still opens the SDK.
        if self._parts is None:
            outbox = Outbox(self._sdk.storage, self._sdk.converter)
            self._parts = (outbox, Contacts(self._sdk, outbox), Planner(self._sdk, outbox), Worker(self._sdk, self, outbox))
        return self._parts

    @property
    def _outbox(self) -> Outbox:
        return self._open()[0]

    @property
    def contacts(self) -> Contacts:
        """Addresses, time zones and consent of customers (and the suppression list)."""
        return self._open()[1]

    @property
    def _planner(self) -> Planner:
        return self._open()[2]

    @property
    def _worker(self) -> Worker:
        return self._open()[3]

    # ------------------------------------------------------------------ templates
    def templates(self) -> dict[str, FollowUpTemplate]:
        """Templates by name: from ``o2o_register_templates`` (first registered wins) and :meth:`add_template`."""
        if self._templates is None:
            found: dict[str, FollowUpTemplate] = {}

            def register(template: FollowUpTemplate) -> None:
                if not isinstance(template, FollowUpTemplate):
                    raise PluginError(f"Register a FollowUpTemplate, not {type(template).__name__}.")
                found.setdefault(template.name, template)

            self._sdk.plugins.register_templates(self._sdk, register)
            self._templates = found
        return self._templates

    def add_template(self, template: FollowUpTemplate) -> None:
        """Add or replace a template in code (wins over plugins' templates of the same name)."""
        self.templates()[template.name] = template

    # ------------------------------------------------------------------ planning
    def plan(self, limit: int = 1000) -> int:
        """Plan follow-ups for journal events not planned yet (any process may call it); rows added."""
        check_limit(limit)
        total = 0
        while True:
            before = self._outbox.cursor("journal")
            total += self._planner.plan(limit)
            if self._outbox.cursor("journal") == before:  # nothing new (or waiting for a gap to fill)
                return total

    def scan(self) -> int:
        """Plan time-based follow-ups (vouchers about to expire unused, no visit for N days); rows added."""
        return self._planner.scan()

    def add(self, plan: FollowUpPlan, *, trigger_at: datetime | None = None) -> FollowUp | None:
        """Put one follow-up in the outbox from code; ``None`` if its dedupe key exists already."""
        return self._planner.add(plan, trigger_at)

    # ------------------------------------------------------------------ running
    def run_batch(self, *, worker_id: str | None = None, batch_size: int | None = None) -> RunCounts:
        """Claim and process one batch of due follow-ups (no planning)."""
        settings = self._sdk.config.followups
        worker_id = worker_id or default_worker_id()
        now = self._sdk.clock.now()
        batch = self._outbox.claim(worker_id, now, batch_size or settings.batch_size, now + settings.lease)
        counts = RunCounts(claimed=len(batch), batches=1 if batch else 0)
        if batch:
            self._worker.process(worker_id, batch, counts)
        return counts

    def run_once(self, *, worker_id: str | None = None, batch_size: int | None = None, plan: bool = True,
                 max_batches: int | None = None, progress: Callable[[RunCounts], None] | None = None) -> RunCounts:  # fmt: skip
        """Plan (journal and scan), then deliver everything due now, batch after batch, and return the counts."""
        worker_id = worker_id or default_worker_id()
        counts = RunCounts()
        if plan:
            counts.planned += self.plan() + self.scan()
        while max_batches is None or counts.batches < max_batches:
            batch = self.run_batch(worker_id=worker_id, batch_size=batch_size)
            counts.add(batch)
            if progress is not None and batch.claimed:
                progress(counts)
            if not batch.claimed:
                break
        return counts

    def run(self, *, worker_id: str | None = None, batch_size: int | None = None, poll_interval: float = 1.0,
            plan_interval: float = 1.0, scan_interval: float = 60.0, stop: threading.Event | None = None,
            progress: Callable[[RunCounts], None] | None = None) -> RunCounts:  # fmt: skip
        """Work until ``stop`` is set: plan every ``plan_interval`` s, scan every ``scan_interval`` s,
        deliver due batches, sleep ``poll_interval`` s when idle. Returns the totals."""
        worker_id = worker_id or default_worker_id()
        stop = stop or threading.Event()
        totals = RunCounts()
        while not stop.is_set():
            mono = time.monotonic()
            if mono - self._last_plan >= plan_interval:
                totals.planned += self.plan()
                self._last_plan = mono
            if mono - self._last_scan >= scan_interval:
                totals.planned += self.scan()
                self._last_scan = mono
            batch = self.run_batch(worker_id=worker_id, batch_size=batch_size)
            totals.add(batch)
            if progress is not None and batch.claimed:
                progress(totals)
            if not batch.claimed:
                stop.wait(poll_interval)
        return totals

    # ------------------------------------------------------------------ the outbox
    def get(self, followup_id: str) -> FollowUp:
        """One follow-up; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        found = self._outbox.get(followup_id)
        if found is None:
            raise NotFound(f"Unknown follow-up {followup_id!r}.")
        return found

    def find(self, dedupe_key: str) -> FollowUp | None:
        """The follow-up with this dedupe key, if planned."""
        return self._outbox.get_by_key(dedupe_key)

    def list(self, *, status: FollowUpStatus | str | None = None, customer_id: str | None = None,
             limit: int = 1000) -> builtins.list[FollowUp]:  # fmt: skip
        """Follow-ups, oldest first, optionally of one status or customer."""
        try:
            value = FollowUpStatus(status).value if status is not None else None
        except ValueError:
            raise InvalidInput(f"{status!r} is not a follow-up status ({', '.join(s.value for s in FollowUpStatus)}).") from None
        return self._outbox.list_rows(value, customer_id, check_limit(limit))

    def counts(self) -> dict[str, int]:
        """How many follow-ups are in each status."""
        return self._outbox.counts()

    def sends(self) -> int:
        """How many sends the ledger holds (one per follow-up, ever)."""
        return self._outbox.ledger_count()

    def retry(self, ids: Iterable[str] | None = None) -> int:
        """Make dead follow-ups (all, or the given ones — also skipped or cancelled) due now, attempts reset."""
        return self._outbox.retry(None if ids is None else list(ids), self._sdk.clock.now())

    def cancel(self, ids: Iterable[str] | None = None, *, customer_id: str | None = None, channel: str | None = None,
               reason: str = "cancelled by the shop") -> int:  # fmt: skip
        """Cancel pending follow-ups by id, or every pending one of a customer (on one channel)."""
        if ids is None and customer_id is None:
            raise InvalidInput("Name the follow-ups to cancel, or a customer.")
        return self._outbox.cancel(None if ids is None else list(ids), customer_id, channel, self._sdk.clock.now(), reason)

    # ------------------------------------------------------------------ unsubscribe (RFC 8058)
    def unsubscribe_token(self, customer_id: str, channel: str) -> str:
        """A signed token that withdraws ``customer_id``'s consent to ``channel`` (no expiry)."""
        return self._sdk.signer.sign(_payload(channel, customer_id), UNSUBSCRIBE_PURPOSE)

    def unsubscribe_url(self, customer_id: str, channel: str) -> str:
        """``<base_url>/u/<token>``: the one-click unsubscribe link (GET shows a page, POST unsubscribes)."""
        return f"{self._sdk.config.base_url}/{UNSUBSCRIBE_PATH}/{self.unsubscribe_token(customer_id, channel)}"

    def unsubscribe(self, token: str) -> Contact:
        """Process an unsubscribe link (or its token): withdraw consent, suppress the address on
        that channel, cancel the customer's pending follow-ups there, journal ``unsubscribed``.
        Idempotent. :class:`~o2o_sdk.errors.TokenError` if the token is not ours."""
        token = token.strip().rsplit(f"/{UNSUBSCRIBE_PATH}/", 1)[-1].split("?", 1)[0]
        raw = self._sdk.signer.verify(token, UNSUBSCRIBE_PURPOSE).rstrip(b"\x00").decode()
        channel, sep, customer_id = raw.partition("\x1f")
        if not sep:  # pragma: no cover - only our own payloads carry this purpose
            raise TokenError(Reason.MALFORMED_TOKEN, "This is not an unsubscribe link.")
        contact = self.contacts.withdraw(customer_id, channel, source="unsubscribe")
        ch = self.channels.get(channel)
        address = ch.address(contact) if ch is not None else (contact.email if channel == "email" else None)
        if address:
            self.contacts.suppress(channel, address, reason="unsubscribe")
        self.cancel(customer_id=customer_id, channel=channel, reason="unsubscribed")
        self._sdk.journal.append(FollowUpEvent.UNSUBSCRIBED.value, customer_id=customer_id, data={"channel": channel})
        return contact

    # ------------------------------------------------------------------ rendering
    def _variables(self, f: FollowUp, contact: Contact, channel: Channel) -> dict[str, str]:
        sdk = self._sdk
        tz = zone(contact.timezone, sdk.config.followups.default_timezone)
        values: dict[str, str] = {}
        for key, value in sdk.plugins.personalize_followup(sdk, f, contact).items():
            values[key] = "" if value is None else str(value)
        values.update({k: "" if v is None else str(v) for k, v in f.data.items()})
        core = {
            "customer_id": contact.customer_id, "name": contact.name, "email": contact.email or "",
            "phone": contact.phone or "", "flow": f.flow, "followup_id": f.id, "base_url": sdk.config.base_url,
            "unsubscribe_url": self.unsubscribe_url(contact.customer_id, channel.name),
        }  # fmt: skip
        store_id = f.data.get("store_id")
        store = sdk.storage.get_store(str(store_id)) if store_id else None
        if store is not None:
            core.update(store_name=store.name, store_address=store.address)
        offer_id = f.offer_id
        voucher_id = f.voucher_id or f.data.get("voucher_id")
        voucher = sdk.storage.get_voucher(str(voucher_id)) if voucher_id else None
        if voucher is not None:
            offer_id = voucher.offer_id
            core.update(voucher_url=sdk.offers.url(voucher), voucher_id=voucher.id,
                        voucher_expires=f"{voucher.expires_at.astimezone(tz):%d %b %Y}")  # fmt: skip
        if offer_id is not None:
            offer = sdk.storage.get_offer(offer_id)
            if offer is not None:
                core.update(offer_title=offer.title, offer_discount=offer.discount.describe())
        values.update(core)
        return values

    def _message(self, f: FollowUp, contact: Contact, channel: Channel, address: str) -> OutboundMessage:
        template = self.templates().get(f.template)
        if template is None:
            raise PermanentDeliveryError(f"No template named {f.template!r} is registered.", code="unknown_template")
        variables = self._variables(f, contact, channel)
        subject, text, html = render(template, variables)
        unsubscribe = variables["unsubscribe_url"]
        headers: dict[str, str] = {}
        if channel.is_email:
            # Every email carries a one-click unsubscribe link, in the body and in RFC 8058 headers.
            if unsubscribe not in text:
                text = f"{text.rstrip()}\n\n--\nUnsubscribe: {unsubscribe}\n"
            if html is not None and unsubscribe not in html:
                html = f'{html}\n<p style="font-size:12px;color:#666"><a href="{unsubscribe}">Unsubscribe</a></p>\n'
            headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        return OutboundMessage(
            followup_id=f.id, channel=f.channel, to=address, subject=subject, text=text, html=html,
            customer_id=f.customer_id, flow=f.flow, headers=headers, unsubscribe_url=unsubscribe, variables=variables,
        )  # fmt: skip

    def preview(self, followup_id: str) -> OutboundMessage:
        """The message a follow-up would send now (nothing is sent, no voucher is issued)."""
        f = self.get(followup_id)
        contact = self.contacts.get(f.customer_id)
        channel = self.channels.get(f.channel)
        if channel is None:
            raise NotFound(f"No channel named {f.channel!r} is installed.")
        address = channel.address(contact)
        if address is None:
            raise InvalidInput(f"Customer {f.customer_id} has no address for {f.channel}.")
        return self._message(f, contact, channel, address)

    def close(self) -> None:
        """Close the channels' connections."""
        self.channels.close()

