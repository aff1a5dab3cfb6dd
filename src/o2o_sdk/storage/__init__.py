"""Storage: the protocol every backend implements, and the two built-in backends.

Backends are chosen by URL through the ``o2o_provide_storage`` hook: ``sqlite:///path``
(embedded default, standard library, WAL) and ``postgresql://…`` (psycopg 3, extra
``o2o-sdk[postgres]``). Both run the same SQL (:mod:`o2o_sdk.storage._sql`); the one contract
test suite in ``tests/storage`` runs against each.

Atomicity lives here: :meth:`Storage.atomic` opens a write transaction in which the rows it
reads with ``lock_*`` stay locked until commit — ``BEGIN IMMEDIATE`` on SQLite (one writer),
``SELECT … FOR UPDATE`` on PostgreSQL. Locks are always taken in the order voucher → offer →
reservation / redemption, so concurrent transactions queue instead of deadlocking. A partial
unique index allows one live redemption per voucher whatever the caller does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

import attrs

from ..errors import StorageError
from ..models import (
    ApiKey,
    CheckIn,
    JournalEvent,
    Offer,
    OfferMirror,
    OrderEvent,
    Redemption,
    Reservation,
    ReservationStatus,
    Store,
    TrustLevel,
    Voucher,
    VoucherStatus,
)

__all__ = ["IdempotencyKeyTaken", "OfferUsage", "Storage", "Transaction", "VoucherContext", "VoucherState"]


@attrs.frozen
class OfferUsage:
    """How much of an offer's caps is taken, as seen inside a transaction."""

    redeemed: int
    spent_minor: int
    reserved: int = 0
    reserved_minor: int = 0
    customer_redeemed: int = 0
    customer_reserved: int = 0


#: An idempotency key's stored ``(operation, request hash, result JSON)``.
Idempotent = tuple[str, str, str]


@attrs.frozen
class VoucherContext:
    """What the static checks of a redemption read, in one query (:meth:`Storage.voucher_context`)."""

    store: Store | None
    voucher: Voucher | None
    #: The voucher's offer.
    offer: Offer | None
    #: What is stored under the idempotency key, if one was given and is taken.
    idempotent: Idempotent | None = None


@attrs.frozen
class VoucherState:
    """A voucher as a write transaction sees it once its locks are held (:meth:`Transaction.voucher_state`)."""

    voucher: Voucher | None
    #: The voucher's active hold, if any.
    hold: Reservation | None
    #: The offer's usage, when the offer was asked for.
    usage: OfferUsage | None = None
    idempotent: Idempotent | None = None


class IdempotencyKeyTaken(StorageError):
    """Another transaction stored a result under this idempotency key first (a race the
    service answers by replaying, or refusing, the stored result)."""


class Transaction(Protocol):
    """Operations inside :meth:`Storage.atomic`; everything commits or nothing does."""

    def lock_offer(self, offer_id: str) -> OfferUsage | None: ...

    def usage(
        self,
        offer_id: str,
        customer_id: str | None,
        now: datetime,
        exclude_reservation: str | None = None,
        *,
        reservations: bool = True,
    ) -> OfferUsage:
        """Caps taken: redeemed and spent, active holds (when ``reservations``), and the
        customer's share (when ``customer_id``)."""
        ...

    def lock_voucher(self, voucher_id: str) -> Voucher | None: ...

    def voucher_state(
        self,
        voucher_id: str,
        offer_id: str | None,
        now: datetime,
        *,
        idempotency_key: str | None = None,
        customer_id: str | None = None,
        reservations: bool = False,
        exclude_reservation: str | None = None,
    ) -> VoucherState:
        """Lock the voucher, then the offer when ``offer_id`` is given, and read — after the
        locks, so that what a transaction that held them committed is seen — the idempotency
        key's stored result, the voucher's active hold and the offer's usage (as
        :meth:`usage`: holds when ``reservations``, the customer's share when ``customer_id``).
        In a read-only snapshot nothing is locked. Without ``offer_id`` the offer row is not
        touched (``usage`` is ``None``). Raises :class:`~o2o_sdk.errors.StorageError` if the
        offer does not exist."""
        ...

    def record_redemption(
        self,
        redemption: Redemption,
        event: JournalEvent,
        *,
        idempotent: tuple[str, str, str, str] | None = None,
    ) -> list[JournalEvent]:
        """Write a redemption decided under :meth:`voucher_state`: the redemption row, the
        voucher marked redeemed, its hold converted (``redemption.reservation_id``), the
        result under the idempotency key (``(key, operation, request hash, result)``; a key
        stored meanwhile by another transaction raises :class:`IdempotencyKeyTaken`), the
        journal event, and the offer's counters last (an atomic increment, so the offer row —
        locked only for capped offers — is held as briefly as possible). Returns the event
        with its ``seq``."""
        ...

    def set_voucher_status(self, voucher_id: str, status: VoucherStatus) -> None: ...

    def add_offer_usage(self, offer_id: str, count: int, spent_minor: int) -> None: ...

    def insert_redemption(self, redemption: Redemption) -> None: ...

    def lock_redemption(self, redemption_id: str) -> Redemption | None: ...

    def void_redemption(self, redemption_id: str, at: datetime, reason: str) -> None: ...

    def lock_reservation(self, reservation_id: str) -> Reservation | None: ...

    def insert_reservation(self, reservation: Reservation) -> None: ...

    def set_reservation_status(self, reservation_id: str, status: ReservationStatus) -> None: ...

    def clear_hold(self, voucher_id: str) -> None:
        """The voucher is no longer held (its hold was released). Needs the voucher's lock.
        :meth:`insert_reservation` marks a voucher held; a redemption clears the mark."""
        ...

    def expired_reservations(self, now: datetime, limit: int) -> list[Reservation]: ...

    def put_idempotent(
        self, key: str, operation: str, request_hash: str, result: str, at: datetime
    ) -> None: ...

    def insert_vouchers(self, vouchers: Sequence[Voucher]) -> None: ...

    def append_events(self, events: Sequence[JournalEvent]) -> list[JournalEvent]: ...

    # check-ins
    def insert_checkin_once(self, checkin: CheckIn) -> CheckIn: ...

    def upgrade_checkin(
        self, checkin_id: str, method: str, trust: TrustLevel, evidence: dict[str, Any], at: datetime
    ) -> None: ...

    def claim_checkin_nonce(
        self, store_id: str, customer_id: str, nonce: str, checkin_id: str, at: datetime
    ) -> bool: ...

    # platform orders (adapters)
    def insert_order_once(self, order: OrderEvent, recorded_at: datetime) -> bool:
        """Insert a platform order; ``False`` if its (platform, order id) or (platform, delivery id) exists."""
        ...

    def cancel_order(self, platform: str, order_id: str, at: datetime) -> OrderEvent | None:
        """Mark a recorded order cancelled (``cancelled_at``, and ``cancelled`` in the stored
        order): the order as stored, or ``None`` if it was not recorded or already cancelled."""
        ...


class Storage(Protocol):
    """What the services need from a database. Implement it to add a backend."""

    url: str

    @property
    def dialect_name(self) -> str:
        """``sqlite``, ``postgresql``, …"""
        ...

    def migrate(self) -> list[int]: ...

    def schema_version(self) -> int: ...

    def check_schema(self) -> None: ...

    def close(self) -> None: ...

    def atomic(self) -> AbstractContextManager[Transaction]: ...

    def snapshot(self) -> AbstractContextManager[Transaction]: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta_if_absent(self, key: str, value: str) -> str: ...

    # stores
    def upsert_stores(self, stores: Iterable[Store]) -> int: ...

    def get_store(self, store_id: str) -> Store | None: ...

    def list_stores(self) -> list[Store]: ...

    def delete_store(self, store_id: str) -> bool: ...

    # offers and vouchers
    def insert_offer(self, offer: Offer) -> None: ...

    def update_offer(self, offer: Offer) -> None: ...

    def get_offer(self, offer_id: str) -> Offer | None: ...

    def offer_usage(self, offer_id: str) -> OfferUsage | None: ...

    def list_offers(self) -> list[Offer]: ...

    def insert_vouchers(self, vouchers: Sequence[Voucher]) -> None: ...

    def get_voucher(self, voucher_id: str) -> Voucher | None: ...

    def try_redeem(
        self,
        redemption: Redemption,
        event: JournalEvent,
        now: datetime,
        *,
        idempotent: tuple[str, str, str, str] | None = None,
    ) -> list[JournalEvent] | None:
        """Redeem in one step, for a redemption no cap or hold is at stake in: if — decided
        under the voucher row's lock, by one conditional update — the voucher is active and
        not held at ``now``, write what :meth:`Transaction.record_redemption` writes and return
        the committed event; otherwise write nothing and return ``None`` (the caller then finds
        out why in a transaction). Raises :class:`IdempotencyKeyTaken` like
        :meth:`Transaction.record_redemption`."""
        ...

    def voucher_context(self, store_id: str, voucher_id: str, idempotency_key: str | None = None) -> VoucherContext:
        """The store, the voucher, its offer and what is stored under ``idempotency_key``:
        what a validation or redemption reads before its checks, in one round trip."""
        ...

    def list_vouchers(self, offer_id: str, limit: int = 1000) -> list[Voucher]: ...

    def get_redemption(self, redemption_id: str) -> Redemption | None: ...

    def list_redemptions(self, offer_id: str | None = None, limit: int = 1000) -> list[Redemption]: ...

    def get_reservation(self, reservation_id: str) -> Reservation | None: ...

    def get_idempotent(self, key: str) -> tuple[str, str, str] | None: ...

    # check-ins
    def get_checkin(self, checkin_id: str) -> CheckIn | None: ...

    def find_checkin(self, customer_id: str, store_id: str, window_start: datetime) -> CheckIn | None: ...

    def list_checkins(
        self, customer_id: str | None = None, store_id: str | None = None, limit: int = 1000
    ) -> list[CheckIn]: ...

    def forget_used_checkin_codes(self, before: datetime) -> int: ...

    # API keys of the web POS API (digests only)
    def insert_api_key(self, key: ApiKey) -> None: ...

    def get_api_key(self, key_id: str) -> ApiKey | None: ...

    def list_api_keys(self, store_id: str | None = None) -> list[ApiKey]: ...

    def revoke_api_key(self, key_id: str, at: datetime) -> bool: ...

    # platform orders and offer mirrors (adapters)
    def get_order(self, platform: str, order_id: str) -> OrderEvent | None: ...

    def list_orders(self, platform: str | None = None, limit: int = 1000) -> list[OrderEvent]: ...

    def insert_mirror(self, mirror: OfferMirror) -> OfferMirror: ...

    def get_mirror(self, offer_id: str, platform: str) -> OfferMirror | None: ...

    def find_mirror(self, platform: str, code: str) -> OfferMirror | None: ...

    def list_mirrors(self, platform: str | None = None) -> list[OfferMirror]: ...

    def set_mirror_usage(self, offer_id: str, platform: str, usage_count: int, at: datetime) -> bool: ...

    # journal
    def append_events(self, events: Sequence[JournalEvent]) -> list[JournalEvent]: ...

    def read_journal(
        self, after_seq: int = 0, limit: int = 1000, types: Sequence[str] | None = None
    ) -> list[JournalEvent]: ...

    def iter_journal(self, batch: int = 1000) -> Iterator[JournalEvent]: ...

    def journal_counts(self) -> dict[str, int]: ...

