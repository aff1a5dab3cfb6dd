"""Offers: define, issue signed vouchers, validate, reserve, redeem and void.

Checks fall in two groups. *Static* checks need no lock: the token's signature and expiry,
the voucher's status, the offer's window in the store's time zone, the store, the customer,
the basket, and plugin rules. *Cap* checks — single use, holds, total / per-customer /
budget caps — are repeated inside one storage transaction that locks the voucher and, when
the offer has a total, budget or per-customer cap, the offer, so they hold under any
concurrency. An offer without caps is not locked: the voucher lock (and a unique index)
makes each voucher single-use, and its counters are bumped by an atomic increment.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs

from .._checks import check_limit, later
from ..errors import (
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    Reason,
    RedemptionRefused,
    Refusal,
    StorageError,
    TokenError,
)
from ..ids import new_id
from ..models import (
    AppliedDiscount,
    Basket,
    Caps,
    Discount,
    DiscountKind,
    EventType,
    JournalEvent,
    Offer,
    Redemption,
    Reservation,
    ReservationStatus,
    Store,
    Validation,
    Voucher,
    VoucherStatus,
)
from ..money import Money
from ..rules import Adjust, RedemptionContext, Refuse
from ..storage import IdempotencyKeyTaken, OfferUsage, Transaction, VoucherState
from ..tokens import VoucherClaims, decode_voucher_payload, encode_voucher_payload

if TYPE_CHECKING:
    import segno

    from ..sdk import O2O

__all__ = ["Offers"]

VOUCHER_PURPOSE = "voucher"
MAX_IDEMPOTENCY_KEY = 255
#: The most vouchers one ``issue_many`` call makes (they are all returned, so all in memory).
MAX_BULK_ISSUE = 1_000_000
_BEYOND_2105 = "A voucher cannot be valid beyond the year 2105."
#: The range of an offer's start and end (a day and a half inside what tokens and zones can hold).
_FIRST_DAY, _LAST_DAY = datetime(1970, 1, 2, 12), datetime(2105, 12, 30)
#: The westernmost UTC offset in use (UTC-12): the last instant a local wall time occurs.
_LATEST_OFFSET = timedelta(hours=12)

ProgressCallback = Callable[[int, int], None]


@attrs.frozen
class _Checked:
    """The outcome of the static checks."""

    refusals: tuple[Refusal, ...]
    voucher: Voucher | None = None
    offer: Offer | None = None
    store: Store | None = None
    customer_id: str | None = None
    discount: AppliedDiscount | None = None
    #: What is stored under the request's idempotency key: replay it, skip the checks.
    idempotent: tuple[str, str, str] | None = None


def _r(code: Reason, message: str, source: str | None = None) -> Refusal:
    return Refusal(code, message, source)


def _local_instant(value: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall time in ``tz`` (or an aware instant) as an aware UTC datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _zone(store: Store) -> ZoneInfo:
    try:
        return ZoneInfo(store.timezone)
    except Exception:
        raise InvalidInput(f"Store {store.id} has an unknown time zone {store.timezone!r}.") from None


class Offers:
    """``sdk.offers``: the online → offline voucher lifecycle."""

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk
        clock = sdk.clock
        # Token checks run on every scan: bind the signer and a cheap clock reading once.
        self._verify_token = sdk.signer.verify
        self._now_ts: Callable[[], float] = getattr(clock, "timestamp", None) or (lambda: clock.now().timestamp())

    # ------------------------------------------------------------------ definitions
    def create(
        self,
        title: str,
        discount: Discount,
        *,
        id: str | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        stores: Sequence[str] | None = None,
        caps: Caps | None = None,
        min_basket: Money | None = None,
        metadata: dict[str, Any] | None = None,
        requires_checkin: bool = False,
    ) -> Offer:
        """Define an offer. See :class:`~o2o_sdk.models.Offer` for the meaning of naive times.

        ``requires_checkin``: "check in to unlock" — a voucher is only accepted from a customer
        with a check-in at the redeeming store in the current check-in window, of at least
        ``config.checkin_unlock_trust`` (refusal ``checkin_required``).
        """
        if not title.strip():
            raise InvalidInput("An offer needs a title.")
        if starts_at and ends_at and (starts_at.tzinfo is None) != (ends_at.tzinfo is None):
            raise InvalidInput("Give both start and end as store-local (naive) times, or both with a time zone.")
        for name, when in (("start", starts_at), ("end", ends_at)):
            # Store-local times move by up to a day and a half between zones; vouchers end by 2105.
            if when is not None and not _FIRST_DAY <= when.replace(tzinfo=None) <= _LAST_DAY:
                raise InvalidInput(f"The offer's {name} {when.isoformat()} is outside 1970-01-02 to 2105-12-30.")
        if starts_at and ends_at and starts_at >= ends_at:
            raise InvalidInput("The offer ends before it starts.")
        caps = caps or Caps()
        if caps.budget and discount.amount and caps.budget.currency != discount.amount.currency:
            raise InvalidInput("The budget and the discount are in different currencies.")
        store_ids = tuple(stores) if stores is not None else None
        if store_ids is not None:
            if not store_ids:
                raise InvalidInput("An offer limited to stores needs at least one store.")
            for sid in store_ids:
                if self._sdk.storage.get_store(sid) is None:
                    raise NotFound(f"Unknown store {sid!r}.")
        offer = Offer(
            id=id or new_id("off"), title=title.strip(), discount=discount, starts_at=starts_at,
            ends_at=ends_at, stores=store_ids, caps=caps, min_basket=min_basket,
            requires_checkin=requires_checkin, created_at=self._sdk.clock.now(), metadata=dict(metadata or {}),
        )  # fmt: skip
        try:
            self._sdk.storage.insert_offer(offer)
        except StorageError as exc:
            if self._sdk.storage.get_offer(offer.id) is not None:
                raise InvalidInput(f"An offer with id {offer.id!r} already exists.") from None
            raise exc
        return offer

    def get(self, offer_id: str) -> Offer:
        """The offer with this id; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        offer = self._sdk.storage.get_offer(offer_id)
        if offer is None:
            raise NotFound(f"Unknown offer {offer_id!r}.")
        return offer

    def list(self) -> builtins.list[Offer]:
        """Every offer, oldest first."""
        return self._sdk.storage.list_offers()

    def usage(self, offer_id: str) -> OfferUsage:
        """Redemptions and money spent so far (holds included)."""
        self.get(offer_id)
        with self._sdk.storage.snapshot() as snap:
            return snap.usage(offer_id, None, self._sdk.clock.now())

    def deactivate(self, offer_id: str) -> Offer:
        """Stop an offer: its vouchers are refused from now on (``offer_inactive``)."""
        offer = attrs.evolve(self.get(offer_id), active=False)
        self._sdk.storage.update_offer(offer)
        return offer

    # ------------------------------------------------------------------ issuing
    def issue(
        self,
        offer: Offer | str,
        customer_id: str | None = None,
        *,
        expires_at: datetime | None = None,
        ttl: timedelta | None = None,
    ) -> Voucher:
        """Issue one signed voucher, optionally bound to a customer."""
        return self.issue_many(offer, [customer_id], expires_at=expires_at, ttl=ttl)[0]

    def issue_many(
        self,
        offer: Offer | str,
        customers: int | Iterable[str | None],
        *,
        expires_at: datetime | None = None,
        ttl: timedelta | None = None,
        batch_size: int = 500,
        progress: ProgressCallback | None = None,
    ) -> builtins.list[Voucher]:
        """Issue vouchers in bulk: ``customers`` is a count (anonymous vouchers) or customer ids.

        Vouchers are written in batches of ``batch_size``, each batch with its ``issued``
        journal events in one transaction; ``progress(done, total)`` is called after each.
        """
        offer = self.get(offer) if isinstance(offer, str) else offer
        if not offer.active:
            raise InvalidInput(f"Offer {offer.id} is inactive; it cannot issue vouchers.")
        if batch_size < 1:
            raise InvalidInput(f"batch_size must be 1 or more; got {batch_size!r}.")
        if isinstance(customers, int) and not 1 <= customers <= MAX_BULK_ISSUE:
            raise InvalidInput(f"Issue from 1 to {MAX_BULK_ISSUE:,} vouchers per call; got {customers:,}.")
        targets: builtins.list[str | None] = [None] * customers if isinstance(customers, int) else list(customers)
        if len(targets) > MAX_BULK_ISSUE:
            raise InvalidInput(f"Issue at most {MAX_BULK_ISSUE:,} vouchers per call; got {len(targets):,} customers.")
        now = self._sdk.clock.now()
        expiry = self._expiry(offer, now, expires_at, ttl)
        signer = self._sdk.signer
        out: builtins.list[Voucher] = []
        total = len(targets)
        for start in range(0, total, batch_size):
            chunk = targets[start : start + batch_size]
            vouchers = []
            for customer in chunk:
                vid = secrets.token_bytes(8).hex()
                token = signer.sign(encode_voucher_payload(vid, expiry), VOUCHER_PURPOSE)
                vouchers.append(Voucher(vid, offer.id, token, now, expiry, customer or None))
            events = [
                JournalEvent(EventType.ISSUED, now, offer.id, v.id, None, v.customer_id)
                for v in vouchers
            ]
            with self._sdk.storage.atomic() as tx:
                tx.insert_vouchers(vouchers)
                committed = tx.append_events(events)
            self._sdk._emit(committed)
            self._sdk.plugins.after_issue(self._sdk, offer, vouchers)
            out.extend(vouchers)
            if progress is not None:
                progress(len(out), total)
        return out

    def _expiry(self, offer: Offer, now: datetime, expires_at: datetime | None, ttl: timedelta | None) -> datetime:
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise InvalidInput("A voucher's expiry needs a time zone (e.g. ...+00:00).")
            expiry = expires_at.astimezone(UTC)
        else:
            expiry = later(now, ttl or self._sdk.config.voucher_ttl, _BEYOND_2105)
            if offer.ends_at is not None:
                latest = (
                    offer.ends_at.replace(tzinfo=UTC) + _LATEST_OFFSET
                    if offer.ends_at.tzinfo is None
                    else offer.ends_at.astimezone(UTC)
                )
                expiry = min(expiry, latest)
        expiry = expiry.replace(microsecond=0)
        if expiry <= now:
            raise InvalidInput("The voucher would already be expired.")
        if expiry.year >= 2106:
            raise InvalidInput(_BEYOND_2105)
        return expiry

    def url(self, voucher: Voucher | str) -> str:
        """The redemption link ``<base_url>/o/<token>`` for a voucher or token."""
        token = voucher.token if isinstance(voucher, Voucher) else voucher
        return f"{self._sdk.config.base_url}/o/{token}"

    def qr(self, voucher: Voucher | str) -> segno.QRCode:
        """The voucher's link as a QR code (segno): ``.svg(...)``, ``.png(...)``, ``.terminal()``.

        Level M at least; with a base URL of up to 30 characters after ``https://`` the
        symbol is version 5 or lower (37x37 modules), easy to scan from a phone screen.
        """
        import segno

        return segno.make(self.url(voucher), error="m", boost_error=True, micro=False)

    # ------------------------------------------------------------------ checking
    def verify(self, token: str) -> VoucherClaims:
        """Check a token's signature and expiry; raise :class:`~o2o_sdk.errors.TokenError`."""
        try:
            payload = self._verify_token(token, VOUCHER_PURPOSE)
        except TokenError as exc:
            if exc.reason is Reason.MALFORMED_TOKEN:
                raise TokenError(Reason.MALFORMED_TOKEN, "This is not a voucher code.") from None
            raise
        claims = decode_voucher_payload(payload)
        if claims.expires <= self._now_ts():
            raise TokenError(Reason.EXPIRED, f"This voucher expired on {claims.expires_at:%Y-%m-%d %H:%M} UTC.")
        return claims

    def _store(self, store_id: str) -> Store:
        store = self._sdk.storage.get_store(store_id)
        if store is None:
            raise NotFound(f"Unknown store {store_id!r}.")
        return store

    def _check(self, operation: str, token: str, store_id: str, customer_id: str | None,
               basket: Basket | None, reservation_id: str | None = None,
               idempotency_key: str | None = None) -> _Checked:  # fmt: skip
        """The static checks. With ``idempotency_key`` a stored result comes back first
        (``idempotent``), before any check: a retry replays even if the voucher changed since."""
        try:
            claims = self.verify(token)
        except TokenError as exc:
            stored = self._sdk.storage.get_idempotent(idempotency_key) if idempotency_key is not None else None
            if stored is not None:
                return _Checked((), idempotent=stored)
            return _Checked((_r(exc.reason, exc.message),), store=self._store(store_id))
        # Store, voucher, offer and stored key in one round trip.
        ctx = self._sdk.storage.voucher_context(store_id, claims.voucher_id, idempotency_key)
        if ctx.idempotent is not None:
            return _Checked((), idempotent=ctx.idempotent)
        store, voucher, offer = ctx.store, ctx.voucher, ctx.offer
        if store is None:
            raise NotFound(f"Unknown store {store_id!r}.")
        if voucher is None or voucher.token != token:
            return _Checked((_r(Reason.UNKNOWN_VOUCHER, "This voucher is not known to this shop."),), store=store)
        if offer is None:  # pragma: no cover - a foreign key guarantees it
            raise NotFound(f"Unknown offer {voucher.offer_id!r}.")
        now = self._sdk.clock.now()
        refusals: builtins.list[Refusal] = []
        if voucher.status is VoucherStatus.REDEEMED:
            refusals.append(_r(Reason.ALREADY_REDEEMED, "This voucher has already been redeemed."))
        elif voucher.status is VoucherStatus.REVOKED:
            refusals.append(_r(Reason.VOUCHER_REVOKED, "This voucher was revoked by the shop."))
        if not offer.active:
            refusals.append(_r(Reason.OFFER_INACTIVE, f"The offer '{offer.title}' has been stopped."))
        tz = _zone(store)
        if offer.starts_at and now < _local_instant(offer.starts_at, tz):
            start = _local_instant(offer.starts_at, tz).astimezone(tz)
            refusals.append(_r(Reason.NOT_YET_VALID, f"This offer starts on {start:%Y-%m-%d %H:%M} store time."))
        if offer.ends_at and now >= _local_instant(offer.ends_at, tz):
            end = _local_instant(offer.ends_at, tz).astimezone(tz)
            refusals.append(_r(Reason.OFFER_ENDED, f"This offer ended on {end:%Y-%m-%d %H:%M} store time."))
        if offer.stores is not None and store.id not in offer.stores:
            refusals.append(_r(Reason.WRONG_STORE, f"This offer is not valid at {store.name}."))
        if voucher.customer_id and customer_id and customer_id != voucher.customer_id:
            refusals.append(_r(Reason.CUSTOMER_MISMATCH, "This voucher belongs to another customer."))
        customer = voucher.customer_id or customer_id
        if offer.requires_checkin and not self._sdk.checkins.unlocked(customer, store.id):
            refusals.append(_r(Reason.CHECKIN_REQUIRED, f"Check in at {store.name} first to unlock this offer."))
        discount, basket_refusals = self._discount(offer, basket)
        refusals += basket_refusals
        if not refusals and discount is not None:
            discount, rule_refusals = self._rules(operation, offer, voucher, store, customer, basket, discount, now)
            refusals += rule_refusals
        if not refusals and operation == "validate":
            # reserve and redeem repeat these checks under lock; validate reads a snapshot.
            with self._sdk.storage.snapshot() as snap:
                state = self._voucher_state(snap, offer, voucher.id, customer, now, reservation_id)
            refusals += self._cap_refusals(offer, state, customer, discount, reservation_id)
        return _Checked(tuple(refusals), voucher, offer, store, customer, discount)

    def _discount(self, offer: Offer, basket: Basket | None) -> tuple[AppliedDiscount | None, builtins.list[Refusal]]:
        d = offer.discount
        refusals: builtins.list[Refusal] = []
        currencies = {m.currency for m in (d.amount, offer.min_basket, offer.caps.budget) if m is not None}
        if basket is not None and currencies and basket.total.currency not in currencies:
            refusals.append(_r(Reason.CURRENCY_MISMATCH, f"The basket is in {basket.total.currency}; this offer is in {', '.join(sorted(currencies))}."))
            return None, refusals
        if offer.min_basket is not None:
            if basket is None:
                refusals.append(_r(Reason.BASKET_REQUIRED, f"This offer needs a basket of at least {offer.min_basket}; give the basket total."))
            elif basket.total.minor < offer.min_basket.minor:
                refusals.append(_r(Reason.BELOW_MINIMUM_BASKET, f"The basket is below the minimum of {offer.min_basket}."))
        amount: Money | None = None
        if d.kind is DiscountKind.PERCENT:
            assert d.percent is not None
            amount = basket.total.percent(d.percent) if basket is not None else None
        elif d.kind is DiscountKind.AMOUNT:
            assert d.amount is not None
            amount = d.amount if basket is None else Money(min(d.amount.minor, basket.total.minor), d.amount.currency)
        elif basket is not None:
            item = next((i for i in basket.items if i.sku == d.sku), None)
            if item is None:
                refusals.append(_r(Reason.ITEM_NOT_IN_BASKET, f"Add the free item {d.sku} to the basket first."))
            else:
                amount = item.unit_price
        if offer.caps.budget is not None and amount is None and basket is None:
            refusals.append(_r(Reason.BASKET_REQUIRED, "This offer has a budget; give the basket so the discount amount is known."))
        applied = AppliedDiscount(d.kind, amount, d.percent, d.sku, d.describe())
        return (None if refusals else applied), refusals

    def _rules(self, operation: str, offer: Offer, voucher: Voucher, store: Store, customer: str | None,
               basket: Basket | None, discount: AppliedDiscount, now: datetime) -> tuple[AppliedDiscount, builtins.list[Refusal]]:  # fmt: skip
        ctx = RedemptionContext(operation, offer, voucher, store, customer, basket, discount, now)
        refusals: builtins.list[Refusal] = []
        adjusted = discount
        for plugin, outcome in self._sdk.plugins.check_redemption(ctx):
            if isinstance(outcome, Refuse):
                refusals.append(_r(Reason.REFUSED_BY_RULE, outcome.message, plugin))
            elif isinstance(outcome, Adjust):
                new = outcome.discount
                if adjusted is discount or _smaller(new, adjusted):
                    adjusted = new
        return adjusted, refusals

    @staticmethod
    def _voucher_state(tx: Transaction, offer: Offer, voucher_id: str, customer: str | None, now: datetime,
                       reservation_id: str | None, idempotency_key: str | None = None) -> VoucherState:  # fmt: skip
        """Lock the voucher — and the offer, only if its caps are at stake — and read what the
        cap checks need (in a snapshot: the same reads, unlocked)."""
        caps = offer.caps
        # Only the queries the caps need: holds count against total and budget caps.
        holds_matter = caps.total is not None or caps.budget is not None
        per_customer = customer if caps.per_customer is not None else None
        return tx.voucher_state(voucher_id, offer.id if _capped(offer, customer) else None, now, idempotency_key=idempotency_key,
                                customer_id=per_customer, reservations=holds_matter,
                                exclude_reservation=reservation_id)  # fmt: skip

    @staticmethod
    def _cap_refusals(offer: Offer, state: VoucherState, customer: str | None, discount: AppliedDiscount | None,
                      reservation_id: str | None) -> builtins.list[Refusal]:  # fmt: skip
        """Single use, holds and caps, decided on ``state`` (read under the locks in a write transaction)."""
        refusals: builtins.list[Refusal] = []
        current = state.voucher
        if current is None or current.status is VoucherStatus.REDEEMED:
            return [_r(Reason.ALREADY_REDEEMED, "This voucher has already been redeemed.")]
        if current.status is VoucherStatus.REVOKED:
            return [_r(Reason.VOUCHER_REVOKED, "This voucher was revoked by the shop.")]
        hold = state.hold
        if reservation_id is not None:
            if hold is None or hold.id != reservation_id:
                return [_r(Reason.RESERVATION_INVALID, "That hold has expired or was released; validate the voucher again.")]
        elif hold is not None:
            refusals.append(_r(Reason.RESERVED, "This voucher is held for another checkout."))
        caps = offer.caps
        u = state.usage
        if u is None:  # no cap at stake
            return refusals
        if caps.total is not None and u.redeemed + u.reserved >= caps.total:
            refusals.append(_r(Reason.CAP_REACHED, "This offer has been fully redeemed."))
        if caps.per_customer is not None and customer is not None and u.customer_redeemed + u.customer_reserved >= caps.per_customer:
            refusals.append(_r(Reason.CUSTOMER_CAP_REACHED, "You have already used this offer as often as it allows."))
        if caps.budget is not None and discount is not None and discount.amount is not None:  # noqa: SIM102
            if u.spent_minor + u.reserved_minor + discount.amount.minor > caps.budget.minor:
                refusals.append(_r(Reason.BUDGET_EXHAUSTED, "This offer's budget is used up."))
        return refusals

    # ------------------------------------------------------------------ public checks and commits
    def validate(self, token: str, store_id: str, *, customer_id: str | None = None,
                 basket: Basket | None = None) -> Validation:  # fmt: skip
        """Dry run: the discount that would apply now at ``store_id``, or every reason it would not.

        Writes nothing but a ``validated`` journal event. Raises only for caller mistakes
        (unknown store); refusals are in the result.
        """
        c = self._check("validate", token, store_id, customer_id, basket)
        result = Validation(
            ok=not c.refusals, voucher_id=c.voucher.id if c.voucher else None,
            offer_id=c.offer.id if c.offer else None, store_id=store_id,
            customer_id=c.customer_id, discount=c.discount if not c.refusals else None, refusals=c.refusals,
        )  # fmt: skip
        data: dict[str, Any] = {"ok": result.ok}
        if c.refusals:
            data["reasons"] = [r.code.value for r in c.refusals]
        self._sdk.journal.append(EventType.VALIDATED, offer_id=result.offer_id, voucher_id=result.voucher_id,
                                 store_id=store_id, customer_id=c.customer_id, data=data)  # fmt: skip
        return result

    def reserve(self, token: str, store_id: str, *, customer_id: str | None = None, basket: Basket | None = None,
                ttl: timedelta = timedelta(minutes=15), idempotency_key: str | None = None) -> Reservation:  # fmt: skip
        """Hold a voucher for a checkout until ``ttl`` passes or :meth:`release` is called.

        A hold counts against the caps and blocks other redemptions of the voucher; redeem
        with ``reservation_id`` to convert it. Raises :class:`~o2o_sdk.errors.RedemptionRefused`.
        """
        if ttl <= timedelta(0):
            raise InvalidInput("A hold needs a positive time to live.")
        later(self._sdk.clock.now(), ttl, "A hold cannot last beyond the year 9999.")
        request = self._request_hash("reserve", token, store_id, customer_id, basket, None) if idempotency_key is not None else ""
        if idempotency_key is not None:
            self._check_key(idempotency_key)
        c = self._check("reserve", token, store_id, customer_id, basket, idempotency_key=idempotency_key)
        if c.idempotent is not None:
            return self._sdk.converter.structure(self._match(c.idempotent, idempotency_key, "reserve", request), Reservation)
        self._refuse_if(c, store_id)
        assert c.voucher and c.offer and c.discount
        now = self._sdk.clock.now()
        reservation = Reservation(new_id("res"), c.voucher.id, c.offer.id, store_id, c.customer_id, now,
                                  now + ttl, ReservationStatus.ACTIVE, c.discount.amount)  # fmt: skip
        event = JournalEvent(EventType.RESERVED, now, c.offer.id, c.voucher.id, store_id, c.customer_id,
                             {"reservation_id": reservation.id, "expires_at": reservation.expires_at.isoformat()})  # fmt: skip
        committed: builtins.list[JournalEvent] = []
        try:
            with self._sdk.storage.atomic() as tx:
                state = self._voucher_state(tx, c.offer, c.voucher.id, c.customer_id, now, None, idempotency_key)
                if state.idempotent is not None:
                    return self._sdk.converter.structure(self._match(state.idempotent, idempotency_key, "reserve", request), Reservation)
                refusals = self._cap_refusals(c.offer, state, c.customer_id, c.discount, None)
                if not refusals:
                    tx.insert_reservation(reservation)
                    self._remember(tx, idempotency_key, "reserve", request, reservation, now)
                    committed = tx.append_events([event])
        except IdempotencyKeyTaken:
            return self._sdk.converter.structure(self._after_race(idempotency_key, "reserve", request), Reservation)
        if refusals:
            self._refused(c, store_id, refusals)
        self._sdk._emit(committed)
        self._sdk.plugins.after_reserve(self._sdk, c.offer, reservation)
        return reservation

    def release(self, reservation_id: str, reason: str = "released") -> Reservation:
        """Give a hold back (failed payment, abandoned checkout). Releasing twice is harmless."""
        current = self._sdk.storage.get_reservation(reservation_id)
        if current is None:
            raise NotFound(f"Unknown reservation {reservation_id!r}.")
        now = self._sdk.clock.now()
        committed: builtins.list[JournalEvent] = []
        with self._sdk.storage.atomic() as tx:
            tx.lock_voucher(current.voucher_id)  # the lock order: voucher, offer, reservation
            tx.lock_offer(current.offer_id)
            res = tx.lock_reservation(reservation_id)
            assert res is not None
            if res.status is ReservationStatus.ACTIVE:
                status = ReservationStatus.EXPIRED if res.expires_at <= now else ReservationStatus.RELEASED
                tx.set_reservation_status(res.id, status)
                tx.clear_hold(res.voucher_id)
                res = attrs.evolve(res, status=status)
                committed = tx.append_events([JournalEvent(
                    EventType.RELEASED, now, res.offer_id, res.voucher_id, res.store_id, res.customer_id,
                    {"reservation_id": res.id, "reason": reason},
                )])  # fmt: skip
        self._sdk._emit(committed)
        return res

    def release_expired(self, limit: int = 1000) -> int:
        """Mark holds past their time to live as expired (journaled); returns how many."""
        check_limit(limit)
        now = self._sdk.clock.now()
        with self._sdk.storage.atomic() as tx:
            expired = tx.expired_reservations(now, limit)
            for res in expired:
                tx.set_reservation_status(res.id, ReservationStatus.EXPIRED)
            committed = tx.append_events([
                JournalEvent(EventType.RELEASED, now, r.offer_id, r.voucher_id, r.store_id, r.customer_id,
                             {"reservation_id": r.id, "reason": "expired"})
                for r in expired
            ])  # fmt: skip
        self._sdk._emit(committed)
        return len(expired)

    def redeem(self, token: str, store_id: str, *, customer_id: str | None = None, basket: Basket | None = None,
               idempotency_key: str | None = None, reservation_id: str | None = None) -> Redemption:  # fmt: skip
        """Commit a voucher at ``store_id``: exactly once, within caps.

        With ``idempotency_key`` (one per POS transaction, at most 255 characters) a retry
        returns the original redemption, and the same key with different parameters raises
        :class:`~o2o_sdk.errors.IdempotencyConflict`. Refusals raise
        :class:`~o2o_sdk.errors.RedemptionRefused` and are journaled as ``refused``; a
        refused request changes nothing, so a refusal is not remembered under the key.
        """
        # Only idempotency keys use the hash (about 3% of a redemption: benchmarks/bench_redeem.py).
        request = self._request_hash("redeem", token, store_id, customer_id, basket, reservation_id) if idempotency_key is not None else ""
        if idempotency_key is not None:
            self._check_key(idempotency_key)
        c = self._check("redeem", token, store_id, customer_id, basket, reservation_id, idempotency_key)
        if c.idempotent is not None:
            return self._sdk.converter.structure(self._match(c.idempotent, idempotency_key, "redeem", request), Redemption)
        self._refuse_if(c, store_id)
        assert c.voucher and c.offer and c.discount
        now = self._sdk.clock.now()
        redemption = Redemption(
            id=new_id("red"), voucher_id=c.voucher.id, offer_id=c.offer.id, store_id=store_id,
            customer_id=c.customer_id, discount=c.discount, redeemed_at=now,
            basket_total=basket.total if basket else None, idempotency_key=idempotency_key,
            reservation_id=reservation_id,
        )  # fmt: skip
        data: dict[str, Any] = {"redemption_id": redemption.id}
        if c.discount.amount is not None:
            data["discount_minor"] = c.discount.amount.minor
            data["currency"] = c.discount.amount.currency
        if basket is not None:
            data["basket_minor"] = basket.total.minor
        event = JournalEvent(EventType.REDEEMED, now, c.offer.id, c.voucher.id, store_id, c.customer_id, data)
        remembered = None
        if idempotency_key is not None:
            remembered = (idempotency_key, "redeem", request, json.dumps(self._sdk.converter.unstructure(redemption)))
        refusals: builtins.list[Refusal] = []
        try:
            fast = None
            if reservation_id is None and not _capped(c.offer, c.customer_id):
                # No cap at stake: one step, decided by the voucher row alone (active, not held).
                fast = self._sdk.storage.try_redeem(redemption, event, now, idempotent=remembered)
            if fast is not None:
                committed = fast
            else:  # caps, a hold to convert, or the voucher was not free: decide under the locks
                with self._sdk.storage.atomic() as tx:
                    state = self._voucher_state(tx, c.offer, c.voucher.id, c.customer_id, now, reservation_id, idempotency_key)
                    if state.idempotent is not None:  # the same request committed while we waited for the voucher
                        return self._sdk.converter.structure(self._match(state.idempotent, idempotency_key, "redeem", request), Redemption)
                    refusals = self._cap_refusals(c.offer, state, c.customer_id, c.discount, reservation_id)
                    if not refusals:
                        committed = tx.record_redemption(redemption, event, idempotent=remembered)
        except IdempotencyKeyTaken:
            return self._sdk.converter.structure(self._after_race(idempotency_key, "redeem", request), Redemption)
        if refusals:
            self._refused(c, store_id, refusals)
        self._sdk._emit(committed)
        self._sdk.plugins.after_redeem(self._sdk, c.offer, redemption)
        return redemption

    def void(self, redemption_id: str, reason: str) -> Redemption:
        """Undo a redemption (refund, cancelled sale): caps and budget are given back and
        the voucher can be used again. Voiding twice returns the first void."""
        if not reason.strip():
            raise InvalidInput("Say why the redemption is voided.")
        current = self._sdk.storage.get_redemption(redemption_id)
        if current is None:
            raise NotFound(f"Unknown redemption {redemption_id!r}.")
        now = self._sdk.clock.now()
        committed: builtins.list[JournalEvent] = []
        with self._sdk.storage.atomic() as tx:
            tx.lock_voucher(current.voucher_id)  # the lock order: voucher, offer, redemption
            tx.lock_offer(current.offer_id)
            red = tx.lock_redemption(redemption_id)
            assert red is not None
            if red.voided_at is None:
                tx.void_redemption(red.id, now, reason)
                spent = red.discount.amount.minor if red.discount.amount else 0
                tx.add_offer_usage(red.offer_id, -1, -spent)
                tx.set_voucher_status(red.voucher_id, VoucherStatus.ACTIVE)
                red = attrs.evolve(red, voided_at=now, void_reason=reason)
                committed = tx.append_events([JournalEvent(
                    EventType.VOIDED, now, red.offer_id, red.voucher_id, red.store_id, red.customer_id,
                    {"redemption_id": red.id, "reason": reason},
                )])  # fmt: skip
        if committed:
            self._sdk._emit(committed)
            self._sdk.plugins.after_void(self._sdk, self.get(red.offer_id), red)
        return red

    # ------------------------------------------------------------------ helpers
    def _refuse_if(self, c: _Checked, store_id: str) -> None:
        if c.refusals:
            self._refused(c, store_id, list(c.refusals))

    def _refused(self, c: _Checked, store_id: str, refusals: builtins.list[Refusal]) -> None:
        self._sdk.journal.append(
            EventType.REFUSED, offer_id=c.offer.id if c.offer else None,
            voucher_id=c.voucher.id if c.voucher else None, store_id=store_id,
            customer_id=c.customer_id, data={"reasons": [r.code.value for r in refusals]},
        )  # fmt: skip
        raise RedemptionRefused(refusals)

    def _request_hash(self, op: str, token: str, store_id: str, customer_id: str | None,
                      basket: Basket | None, reservation_id: str | None) -> str:  # fmt: skip
        payload = [op, token, store_id, customer_id, self._sdk.converter.unstructure(basket), reservation_id]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    @staticmethod
    def _check_key(key: str) -> None:
        if not key or len(key) > MAX_IDEMPOTENCY_KEY:
            raise InvalidInput(f"An idempotency key must have 1 to {MAX_IDEMPOTENCY_KEY} characters.")

    @staticmethod
    def _match(found: tuple[str, str, str] | None, key: str | None, op: str, request: str) -> Any:
        if found is None:
            return None
        operation, request_hash, result = found
        if operation != op or request_hash != request:
            raise IdempotencyConflict(f"Idempotency key {key!r} was already used for a different request.")
        return json.loads(result)

    def _after_race(self, key: str | None, op: str, request: str) -> Any:
        """A request with the same key but another voucher (no lock in common) stored its
        result first: replay it, or refuse a different request (IdempotencyConflict)."""
        assert key is not None
        stored = self._match(self._sdk.storage.get_idempotent(key), key, op, request)
        if stored is None:  # pragma: no cover - the key was there a moment ago and is never deleted
            raise StorageError("An idempotency key vanished.")
        return stored

    def _remember(self, tx: Transaction, key: str | None, op: str, request: str, result: object, now: datetime) -> None:
        if key is not None:
            tx.put_idempotent(key, op, request, json.dumps(self._sdk.converter.unstructure(result)), now)


def _capped(offer: Offer, customer: str | None) -> bool:
    """Whether a redemption by ``customer`` has a cap at stake: then the offer row is locked."""
    caps = offer.caps
    return caps.total is not None or caps.budget is not None or (caps.per_customer is not None and customer is not None)


def _smaller(a: AppliedDiscount, b: AppliedDiscount) -> bool:
    if a.amount is not None and b.amount is not None:
        return a.amount.minor < b.amount.minor
    if a.percent is not None and b.percent is not None:
        return a.percent < b.percent
    return False
