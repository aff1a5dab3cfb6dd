"""The SQL both built-in backends share. A backend supplies a :class:`Dialect` and connections."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import cattrs

from ..errors import StorageError
from ..models import (
    ApiKey,
    AppliedDiscount,
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
from ..money import Money
from . import OfferUsage, VoucherContext, VoucherState
from ._migrations import MIGRATIONS

__all__ = ["Cursorish", "Dialect", "SQLStorage", "SQLTransaction", "type_words"]


class Cursorish(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...


class Dialect:
    """What differs between SQL engines, kept to the minimum."""

    name = "sql"
    #: Appended to SELECTs that lock rows for the rest of the transaction.
    for_update = ""

    def q(self, sql: str) -> str:
        """Translate ``?`` placeholders to the driver's style."""
        return sql

    def ts_in(self, value: datetime | None) -> Any:
        """A datetime as the driver stores it."""
        return value

    def ts_out(self, value: Any) -> datetime | None:
        """A stored timestamp back to an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def type_map(self, ddl: str) -> str:
        """Replace the portable type names used in migrations."""
        raise NotImplementedError


_M = TypeVar("_M")
#: Parsed offers and stores kept per storage instance (cleared when full).
_MEMO_SIZE = 4096


def type_words(ddl: str, names: dict[str, str]) -> str:
    """Replace the portable type names of a migration (whole words only)."""
    return re.sub(r"\b(" + "|".join(map(re.escape, names)) + r")\b", lambda m: names[m.group(1)], ddl)


#: An offer's counters, selected from its row in ``offers``: the row's own plus those of its
#: rows in ``offer_usage_shards`` (where PostgreSQL's redemptions without caps count, spread
#: over a few rows so that they don't queue on the offer's row lock until they commit).
USAGE_COLS = (
    "redeemed_count + (SELECT COALESCE(SUM(u.redeemed_count), 0) FROM offer_usage_shards u WHERE u.offer_id = offers.id),"
    " spent_minor + (SELECT COALESCE(SUM(u.spent_minor), 0) FROM offer_usage_shards u WHERE u.offer_id = offers.id)"
)


@functools.cache
def _state_sql(key: bool, holds: bool, per_customer: bool) -> str:
    """The reads of :meth:`SQLTransaction.voucher_state` after its locks, as one statement:
    stored key (3 columns), the voucher's active hold (10), then the offer's holds (count, sum)
    and the customer's redemptions and holds when asked."""
    cols = ["k.operation, k.request_hash, k.result" if key else "NULL, NULL, NULL", _prefixed("h", _Rows.RESERVATION_COLS)]
    joins = ["LEFT JOIN idempotency_keys k ON k.key = ?"] if key else []
    joins.append("LEFT JOIN reservations h ON h.voucher_id = ? AND h.status = 'active' AND h.expires_at > ?")
    if holds:
        cols.append("r.n, r.s")
        joins.append(
            "CROSS JOIN (SELECT COUNT(*) AS n, COALESCE(SUM(amount_minor), 0) AS s FROM reservations"
            " WHERE offer_id = ? AND status = 'active' AND expires_at > ? AND id <> ?) AS r"
        )
    if per_customer:
        cols.append("cr.n, ch.n")
        joins.append(
            "CROSS JOIN (SELECT COUNT(*) AS n FROM redemptions"
            " WHERE offer_id = ? AND customer_id = ? AND voided_at IS NULL) AS cr"
        )
        joins.append(
            "CROSS JOIN (SELECT COUNT(*) AS n FROM reservations WHERE offer_id = ? AND customer_id = ?"
            " AND status = 'active' AND expires_at > ? AND id <> ?) AS ch"
        )
    return f"SELECT {', '.join(cols)} FROM (SELECT 1 AS one) AS x {' '.join(joins)}"


def _prefixed(alias: str, columns: str) -> str:
    """``"a, b"`` → ``"x.a, x.b"`` for a table aliased ``x``."""
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


def spent_minor(r: Redemption) -> int:
    """What a redemption adds to its offer's spent budget (minor units)."""
    return r.discount.amount.minor if r.discount.amount else 0


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


class _Rows:
    """Row <-> model mapping shared by storage and transactions."""

    dialect: Dialect
    converter: cattrs.Converter

    VOUCHER_COLS = "id, offer_id, token, issued_at, expires_at, customer_id, status"
    REDEMPTION_COLS = (
        "id, voucher_id, offer_id, store_id, customer_id, discount, redeemed_at, basket_minor,"
        " currency, idempotency_key, reservation_id, voided_at, void_reason"
    )
    RESERVATION_COLS = (
        "id, voucher_id, offer_id, store_id, customer_id, created_at, expires_at, status,"
        " amount_minor, currency"
    )
    EVENT_COLS = "seq, at, type, offer_id, voucher_id, store_id, customer_id, data"
    CHECKIN_COLS = "id, customer_id, store_id, method, trust, at, window_start, evidence, upgraded_at"
    ORDER_COLS = (
        "platform, order_id, delivery_id, kind, store_id, customer_id, offer_id, voucher_id, total_minor,"
        " currency, occurred_at, data"
    )
    MIRROR_COLS = "offer_id, platform, discount_id, code, created_at, usage_count, synced_at"

    def _redemption_params(self, r: Redemption) -> tuple[Any, ...]:
        """The values of ``REDEMPTION_COLS, amount_minor`` for an INSERT."""
        amount = r.discount.amount
        currency = (r.basket_total.currency if r.basket_total else None) or (amount.currency if amount else None)
        return (
            r.id, r.voucher_id, r.offer_id, r.store_id, r.customer_id,
            _dumps(self.converter.unstructure(r.discount)), self.dialect.ts_in(r.redeemed_at),
            r.basket_total.minor if r.basket_total else None, currency, r.idempotency_key,
            r.reservation_id, self.dialect.ts_in(r.voided_at), r.void_reason,
            amount.minor if amount else 0,
        )  # fmt: skip

    def _event_params(self, e: JournalEvent) -> tuple[Any, ...]:
        """The values of a journal INSERT's ``at, type, offer_id, voucher_id, store_id, customer_id, data``."""
        return (
            self.dialect.ts_in(e.at), e.type, e.offer_id, e.voucher_id, e.store_id, e.customer_id,
            _dumps(e.data) if e.data else None,
        )  # fmt: skip

    def _voucher(self, row: Sequence[Any]) -> Voucher:
        ts = self.dialect.ts_out
        return Voucher(
            id=row[0], offer_id=row[1], token=row[2], issued_at=ts(row[3]),  # type: ignore[arg-type]
            expires_at=ts(row[4]), customer_id=row[5], status=VoucherStatus(row[6]),  # type: ignore[arg-type]
        )  # fmt: skip

    def _redemption(self, row: Sequence[Any]) -> Redemption:
        ts = self.dialect.ts_out
        currency = row[8]
        return Redemption(
            id=row[0], voucher_id=row[1], offer_id=row[2], store_id=row[3], customer_id=row[4],
            discount=self.converter.structure(json.loads(row[5]), AppliedDiscount),
            redeemed_at=ts(row[6]),  # type: ignore[arg-type]
            basket_total=Money(int(row[7]), currency) if row[7] is not None else None,
            idempotency_key=row[9], reservation_id=row[10], voided_at=ts(row[11]), void_reason=row[12],
        )  # fmt: skip

    def _reservation(self, row: Sequence[Any]) -> Reservation:
        ts = self.dialect.ts_out
        return Reservation(
            id=row[0], voucher_id=row[1], offer_id=row[2], store_id=row[3], customer_id=row[4],
            created_at=ts(row[5]), expires_at=ts(row[6]), status=ReservationStatus(row[7]),  # type: ignore[arg-type]
            amount=Money(int(row[8]), row[9]) if row[8] is not None else None,
        )  # fmt: skip

    def _checkin(self, row: Sequence[Any]) -> CheckIn:
        ts = self.dialect.ts_out
        return CheckIn(
            id=row[0], customer_id=row[1], store_id=row[2], method=row[3], trust=TrustLevel(row[4]),
            at=ts(row[5]), window_start=ts(row[6]),  # type: ignore[arg-type]
            evidence=json.loads(row[7]) if row[7] else {}, upgraded_at=ts(row[8]),
        )  # fmt: skip

    def _mirror(self, row: Sequence[Any]) -> OfferMirror:
        ts = self.dialect.ts_out
        return OfferMirror(offer_id=row[0], platform=row[1], discount_id=row[2], code=row[3],
                           created_at=ts(row[4]), usage_count=int(row[5]), synced_at=ts(row[6]))  # type: ignore[arg-type]  # fmt: skip

    def _event(self, row: Sequence[Any]) -> JournalEvent:
        return JournalEvent(
            seq=int(row[0]), at=self.dialect.ts_out(row[1]), type=row[2], offer_id=row[3],  # type: ignore[arg-type]
            voucher_id=row[4], store_id=row[5], customer_id=row[6],
            data=json.loads(row[7]) if row[7] else {},
        )  # fmt: skip


class SQLTransaction(_Rows):
    """A :class:`~o2o_sdk.storage.Transaction` over one open database transaction."""

    def __init__(self, cur: Cursorish, dialect: Dialect, converter: cattrs.Converter,
                 insert_events: Callable[[Cursorish, Sequence[JournalEvent]], list[JournalEvent]],
                 lock: bool = True) -> None:  # fmt: skip
        self.cur = cur
        self.dialect = dialect
        self.converter = converter
        self._insert_events = insert_events
        #: Row-locking suffix for SELECTs: empty in a read-only snapshot.
        self.for_update = dialect.for_update if lock else ""

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        return self.cur.execute(self.dialect.q(sql), params).fetchone()

    def _all(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(self.cur.execute(self.dialect.q(sql), params).fetchall())

    def _exec(self, sql: str, params: Sequence[Any]) -> None:
        self.cur.execute(self.dialect.q(sql), params)

    def lock_offer(self, offer_id: str) -> OfferUsage | None:
        row = self._one(f"SELECT {USAGE_COLS} FROM offers WHERE id = ?" + self.for_update, (offer_id,))
        return None if row is None else OfferUsage(int(row[0]), int(row[1]))

    def usage(self, offer_id: str, customer_id: str | None, now: datetime,
              exclude_reservation: str | None = None, *, reservations: bool = True) -> OfferUsage:  # fmt: skip
        row = self._one(f"SELECT {USAGE_COLS} FROM offers WHERE id = ?", (offer_id,))
        if row is None:
            raise StorageError(f"Offer {offer_id} vanished inside a transaction.")
        base = OfferUsage(int(row[0]), int(row[1]))
        t = self.dialect.ts_in(now)
        res = (0, 0)
        if reservations:
            res = self._one(
                "SELECT COUNT(*), COALESCE(SUM(amount_minor), 0) FROM reservations"
                " WHERE offer_id = ? AND status = 'active' AND expires_at > ? AND id <> ?",
                (offer_id, t, exclude_reservation or ""),
            )
        cust_red = cust_res = 0
        if customer_id is not None:
            cust_red = self._one(
                "SELECT COUNT(*) FROM redemptions"
                " WHERE offer_id = ? AND customer_id = ? AND voided_at IS NULL",
                (offer_id, customer_id),
            )[0]
            cust_res = self._one(
                "SELECT COUNT(*) FROM reservations WHERE offer_id = ? AND customer_id = ?"
                " AND status = 'active' AND expires_at > ? AND id <> ?",
                (offer_id, customer_id, t, exclude_reservation or ""),
            )[0]
        return OfferUsage(base.redeemed, base.spent_minor, int(res[0]), int(res[1]), int(cust_red), int(cust_res))

    def lock_voucher(self, voucher_id: str) -> Voucher | None:
        row = self._one(
            f"SELECT {self.VOUCHER_COLS} FROM vouchers WHERE id = ?" + self.for_update,
            (voucher_id,),
        )
        return None if row is None else self._voucher(row)

    def voucher_state(self, voucher_id: str, offer_id: str | None, now: datetime, *,
                      idempotency_key: str | None = None, customer_id: str | None = None,
                      reservations: bool = False, exclude_reservation: str | None = None) -> VoucherState:  # fmt: skip
        voucher = self.lock_voucher(voucher_id)
        base = None
        if offer_id is not None:
            base = self.lock_offer(offer_id)
            if base is None:
                raise StorageError(f"Offer {offer_id} vanished inside a transaction.")
        # One statement of its own, after the locks: on PostgreSQL (read committed) it sees what
        # the transactions we waited for committed — a hold, a stored key, counters.
        key, usage, per_customer = idempotency_key is not None, base is not None, customer_id is not None
        sql = _state_sql(key, usage and reservations, usage and per_customer)
        t = self.dialect.ts_in(now)
        params: list[Any] = [idempotency_key] if key else []
        params += [voucher_id, t]
        if usage and reservations:
            params += [offer_id, t, exclude_reservation or ""]
        if usage and per_customer:
            params += [offer_id, customer_id, offer_id, customer_id, t, exclude_reservation or ""]
        row = self._one(sql, params)
        hold_row = row[3:13]
        hold = self._reservation(hold_row) if hold_row[0] is not None else None
        found = (row[0], row[1], row[2]) if row[0] is not None else None
        extra = row[13:]
        result_usage = None
        if base is not None:
            reserved = reserved_minor = cust_red = cust_res = 0
            if reservations:
                reserved, reserved_minor, extra = int(extra[0]), int(extra[1]), extra[2:]
            if per_customer:
                cust_red, cust_res = int(extra[0]), int(extra[1])
            result_usage = OfferUsage(base.redeemed, base.spent_minor, reserved, reserved_minor, cust_red, cust_res)
        return VoucherState(voucher, hold, result_usage, found)

    def record_redemption(self, redemption: Redemption, event: JournalEvent, *,
                          idempotent: tuple[str, str, str, str] | None = None) -> list[JournalEvent]:  # fmt: skip
        self._exec("UPDATE vouchers SET status = ?, held_until = NULL WHERE id = ?",
                   (VoucherStatus.REDEEMED.value, redemption.voucher_id))  # fmt: skip
        return self._write_redemption(redemption, event, idempotent)

    def _write_redemption(self, r: Redemption, event: JournalEvent, idempotent: tuple[str, str, str, str] | None) -> list[JournalEvent]:
        """A redemption's writes once its voucher is marked redeemed (by :meth:`record_redemption`
        or :meth:`SQLStorage.try_redeem`'s conditional update)."""
        self.insert_redemption(r)
        if r.reservation_id is not None:
            self.set_reservation_status(r.reservation_id, ReservationStatus.CONVERTED)
        if idempotent is not None:
            self.put_idempotent(*idempotent, r.redeemed_at)
        committed = self.append_events([event])
        # Last: an atomic increment, so no lock is needed to read the counters first.
        self.add_offer_usage(r.offer_id, 1, spent_minor(r))
        return committed

    def set_voucher_status(self, voucher_id: str, status: VoucherStatus) -> None:
        self._exec("UPDATE vouchers SET status = ? WHERE id = ?", (status.value, voucher_id))

    def add_offer_usage(self, offer_id: str, count: int, spent_minor: int) -> None:
        self._exec(
            "UPDATE offers SET redeemed_count = redeemed_count + ?, spent_minor = spent_minor + ?"
            " WHERE id = ?",
            (count, spent_minor, offer_id),
        )

    def insert_redemption(self, r: Redemption) -> None:
        self._exec(
            f"INSERT INTO redemptions ({self.REDEMPTION_COLS}, amount_minor)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._redemption_params(r),
        )

    def lock_redemption(self, redemption_id: str) -> Redemption | None:
        row = self._one(
            f"SELECT {self.REDEMPTION_COLS} FROM redemptions WHERE id = ?" + self.for_update,
            (redemption_id,),
        )
        return None if row is None else self._redemption(row)

    def void_redemption(self, redemption_id: str, at: datetime, reason: str) -> None:
        self._exec(
            "UPDATE redemptions SET voided_at = ?, void_reason = ? WHERE id = ?",
            (self.dialect.ts_in(at), reason, redemption_id),
        )

    def lock_reservation(self, reservation_id: str) -> Reservation | None:
        row = self._one(
            f"SELECT {self.RESERVATION_COLS} FROM reservations WHERE id = ?" + self.for_update,
            (reservation_id,),
        )
        return None if row is None else self._reservation(row)

    def insert_reservation(self, r: Reservation) -> None:
        # An expired hold still occupies the one-active-row index until the sweep: mark it first.
        self._exec(
            "UPDATE reservations SET status = 'expired'"
            " WHERE voucher_id = ? AND status = 'active' AND expires_at <= ?",
            (r.voucher_id, self.dialect.ts_in(r.created_at)),
        )
        if r.status is ReservationStatus.ACTIVE:  # the voucher's row says it is held, and until when
            self._exec("UPDATE vouchers SET held_until = ? WHERE id = ?", (self.dialect.ts_in(r.expires_at), r.voucher_id))
        self._exec(
            f"INSERT INTO reservations ({self.RESERVATION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.id, r.voucher_id, r.offer_id, r.store_id, r.customer_id,
                self.dialect.ts_in(r.created_at), self.dialect.ts_in(r.expires_at), r.status.value,
                r.amount.minor if r.amount else None, r.amount.currency if r.amount else None,
            ),
        )  # fmt: skip

    def set_reservation_status(self, reservation_id: str, status: ReservationStatus) -> None:
        self._exec("UPDATE reservations SET status = ? WHERE id = ?", (status.value, reservation_id))

    def clear_hold(self, voucher_id: str) -> None:
        self._exec("UPDATE vouchers SET held_until = NULL WHERE id = ?", (voucher_id,))

    def expired_reservations(self, now: datetime, limit: int) -> list[Reservation]:
        rows = self._all(
            f"SELECT {self.RESERVATION_COLS} FROM reservations"
            " WHERE status = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT ?"
            + self.for_update,
            (self.dialect.ts_in(now), limit),
        )
        return [self._reservation(r) for r in rows]

    def put_idempotent(self, key: str, operation: str, request_hash: str, result: str, at: datetime) -> None:
        self._exec(
            "INSERT INTO idempotency_keys (key, operation, request_hash, result, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key, operation, request_hash, result, self.dialect.ts_in(at)),
        )

    def insert_vouchers(self, vouchers: Sequence[Voucher]) -> None:
        ts = self.dialect.ts_in
        sql = self.dialect.q(f"INSERT INTO vouchers ({self.VOUCHER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for v in vouchers:
            self.cur.execute(sql, (v.id, v.offer_id, v.token, ts(v.issued_at), ts(v.expires_at), v.customer_id, v.status.value))

    def append_events(self, events: Sequence[JournalEvent]) -> list[JournalEvent]:
        return self._insert_events(self.cur, events)

    # --- check-ins
    def insert_checkin_once(self, c: CheckIn) -> CheckIn:
        """Insert ``c`` unless its customer already has a check-in at its store in its window;
        return the window's check-in (``c`` or the existing one), locked. The database's unique
        constraint decides, so concurrent callers all get the same row."""
        ts = self.dialect.ts_in
        self._exec(
            f"INSERT INTO checkins ({self.CHECKIN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (customer_id, store_id, window_start) DO NOTHING",
            (c.id, c.customer_id, c.store_id, c.method, c.trust.value, ts(c.at), ts(c.window_start),
             _dumps(c.evidence) if c.evidence else None, ts(c.upgraded_at)),
        )  # fmt: skip
        row = self._one(
            f"SELECT {self.CHECKIN_COLS} FROM checkins WHERE customer_id = ? AND store_id = ? AND window_start = ?"
            + self.for_update,
            (c.customer_id, c.store_id, ts(c.window_start)),
        )
        if row is None:  # pragma: no cover - the insert or the conflicting row guarantees one
            raise StorageError("A check-in vanished inside its transaction.")
        return self._checkin(row)

    def upgrade_checkin(self, checkin_id: str, method: str, trust: TrustLevel, evidence: dict[str, Any], at: datetime) -> None:
        """Raise a check-in to a stronger method and trust level (same row, same id)."""
        self._exec(
            "UPDATE checkins SET method = ?, trust = ?, evidence = ?, upgraded_at = ? WHERE id = ?",
            (method, trust.value, _dumps(evidence) if evidence else None, self.dialect.ts_in(at), checkin_id),
        )

    def claim_checkin_nonce(self, store_id: str, customer_id: str, nonce: str, checkin_id: str, at: datetime) -> bool:
        """Record single-use evidence; ``False`` if this customer already used it at this store."""
        cur = self.cur.execute(
            self.dialect.q(
                "INSERT INTO checkin_used_codes (store_id, customer_id, nonce, used_at, checkin_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (store_id, customer_id, nonce) DO NOTHING"
            ),
            (store_id, customer_id, nonce, self.dialect.ts_in(at), checkin_id),
        )
        return int(cur.rowcount) == 1

    # --- platform orders (adapters)
    def insert_order_once(self, order: OrderEvent, recorded_at: datetime) -> bool:
        """Insert a platform order; ``False`` when its order id or delivery id was seen (a duplicate)."""
        cur = self.cur.execute(
            self.dialect.q(
                f"INSERT INTO platform_orders ({self.ORDER_COLS}, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
            ),
            (
                order.platform, order.order_id, order.delivery_id, order.kind.value, order.store_id,
                order.customer_id, order.offer_id, order.voucher_id,
                order.total.minor if order.total else None, order.total.currency if order.total else None,
                self.dialect.ts_in(order.occurred_at), _dumps(self.converter.unstructure(order)),
                self.dialect.ts_in(recorded_at),
            ),
        )  # fmt: skip
        return int(cur.rowcount) == 1

    def cancel_order(self, platform: str, order_id: str, at: datetime) -> OrderEvent | None:
        row = self.cur.execute(
            self.dialect.q(f"SELECT data FROM platform_orders WHERE platform = ? AND order_id = ? AND cancelled_at IS NULL{self.for_update}"),
            (platform, order_id),
        ).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        data["cancelled"] = True
        done = self.cur.execute(
            self.dialect.q("UPDATE platform_orders SET cancelled_at = ?, data = ? WHERE platform = ? AND order_id = ? AND cancelled_at IS NULL"),
            (self.dialect.ts_in(at), _dumps(data), platform, order_id),
        )
        return self.converter.structure(data, OrderEvent) if int(done.rowcount) == 1 else None


class SQLStorage(_Rows):
    """Shared implementation of :class:`~o2o_sdk.storage.Storage`.

    Subclasses provide ``_read()`` (a cursor for autocommit reads), ``atomic()`` and
    ``_write()`` (a cursor inside a write transaction), and the dialect.
    """

    url: str
    #: What :meth:`atomic` and :meth:`snapshot` yield (a backend may specialise statements).
    transaction_class: type[SQLTransaction] = SQLTransaction

    def __init__(self, converter: cattrs.Converter, dialect: Dialect) -> None:
        self.converter = converter
        self.dialect = dialect
        self._memo: dict[tuple[type, str], object] = {}

    @property
    def dialect_name(self) -> str:
        return self.dialect.name

    # --- connection plumbing supplied by the backend
    def _read(self) -> AbstractContextManager[Cursorish]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Cursorish]:
        raise NotImplementedError

    def _lock_for_migration(self, cur: Cursorish) -> None:
        """Serialise concurrent migrators (a no-op where the write lock already does)."""

    def _insert_events(self, cur: Cursorish, events: Sequence[JournalEvent]) -> list[JournalEvent]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def atomic(self) -> AbstractContextManager[SQLTransaction]:
        import contextlib

        @contextlib.contextmanager
        def _tx() -> Iterator[SQLTransaction]:
            with self._write() as cur:
                yield self.transaction_class(cur, self.dialect, self.converter, self._insert_events)

        return _tx()

    def snapshot(self) -> AbstractContextManager[SQLTransaction]:
        """Read-only access through the transaction API, taking no locks (for dry runs)."""
        import contextlib

        @contextlib.contextmanager
        def _snap() -> Iterator[SQLTransaction]:
            with self._read() as cur:
                yield self.transaction_class(cur, self.dialect, self.converter, self._insert_events, lock=False)

        return _snap()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._read() as cur:
            return cur.execute(self.dialect.q(sql), params).fetchone()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._read() as cur:
            return list(cur.execute(self.dialect.q(sql), params).fetchall())

    # --- schema
    def schema_version(self) -> int:
        try:
            row = self._one("SELECT value FROM o2o_meta WHERE key = 'schema_version'")
        except Exception as exc:  # the table does not exist yet
            if "o2o_meta" in str(exc) or "does not exist" in str(exc) or "no such table" in str(exc):
                return 0
            raise StorageError(f"Cannot read the schema version: {exc}") from exc
        return int(row[0]) if row else 0

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied (empty when current)."""
        applied: list[int] = []
        with self._write() as cur:
            self._lock_for_migration(cur)
            cur.execute("CREATE TABLE IF NOT EXISTS o2o_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = cur.execute(
                self.dialect.q("SELECT value FROM o2o_meta WHERE key = 'schema_version'")
            ).fetchone()
            current = int(row[0]) if row else 0
            if current > len(MIGRATIONS):
                raise StorageError(
                    f"The database is at schema version {current}, newer than this o2o-sdk "
                    f"({len(MIGRATIONS)}); upgrade o2o-sdk."
                )
            for version, ddl in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in self.dialect.type_map(ddl).split(";"):
                    if statement.strip():
                        cur.execute(statement)
                applied.append(version)
            if applied:
                if current == 0:
                    cur.execute(
                        self.dialect.q("INSERT INTO o2o_meta (key, value) VALUES ('schema_version', ?)"),
                        (str(applied[-1]),),
                    )
                else:
                    cur.execute(
                        self.dialect.q("UPDATE o2o_meta SET value = ? WHERE key = 'schema_version'"),
                        (str(applied[-1]),),
                    )
        return applied

    def check_schema(self) -> None:
        """Raise :class:`StorageError` unless the schema is current."""
        version = self.schema_version()
        if version > len(MIGRATIONS):  # 'o2o db upgrade' cannot help here
            raise StorageError(
                f"The database is at schema version {version}, newer than this o2o-sdk "
                f"({len(MIGRATIONS)}); upgrade o2o-sdk."
            )
        if version != len(MIGRATIONS):
            raise StorageError(
                f"The database schema is at version {version}, this o2o-sdk needs "
                f"{len(MIGRATIONS)}: run 'o2o db upgrade'."
            )

    # --- meta
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM o2o_meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def set_meta_if_absent(self, key: str, value: str) -> str:
        with self._write() as cur:
            cur.execute(
                self.dialect.q("INSERT INTO o2o_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"),
                (key, value),
            )
            row = cur.execute(self.dialect.q("SELECT value FROM o2o_meta WHERE key = ?"), (key,)).fetchone()
        return str(row[0])

    # --- stores
    def upsert_stores(self, stores: Iterable[Store]) -> int:
        rows = [
            (s.id, s.name, s.timezone, s.latitude, s.longitude, _dumps(self.converter.unstructure(s)))
            for s in stores
        ]
        if not rows:
            return 0
        with self._write() as cur:
            sql = self.dialect.q(
                "INSERT INTO stores (id, name, timezone, latitude, longitude, data) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone,"
                " latitude = excluded.latitude, longitude = excluded.longitude, data = excluded.data"
            )
            for row in rows:
                cur.execute(sql, row)
        return len(rows)

    def _parsed(self, cls: type[_M], text: str) -> _M:
        """The model stored as ``text``, parsed once per distinct text.

        Keyed by the stored JSON itself, so a row changed by any process is parsed afresh;
        the row is still read every time. Models are frozen: never mutate their dicts.
        """
        key = (cls, text)
        model = self._memo.get(key)
        if model is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            model = self._memo[key] = self.converter.structure(json.loads(text), cls)
        return model  # type: ignore[return-value]

    def get_store(self, store_id: str) -> Store | None:
        row = self._one("SELECT data FROM stores WHERE id = ?", (store_id,))
        return None if row is None else self._parsed(Store, row[0])

    def list_stores(self) -> list[Store]:
        return [self.converter.structure(json.loads(r[0]), Store) for r in self._all("SELECT data FROM stores ORDER BY id")]

    def delete_store(self, store_id: str) -> bool:
        with self._write() as cur:
            return int(cur.execute(self.dialect.q("DELETE FROM stores WHERE id = ?"), (store_id,)).rowcount) > 0

    # --- offers
    def insert_offer(self, offer: Offer) -> None:
        with self._write() as cur:
            cur.execute(
                self.dialect.q("INSERT INTO offers (id, title, data, created_at) VALUES (?, ?, ?, ?)"),
                (offer.id, offer.title, _dumps(self.converter.unstructure(offer)), self.dialect.ts_in(offer.created_at)),
            )

    def update_offer(self, offer: Offer) -> None:
        with self._write() as cur:
            cur.execute(
                self.dialect.q("UPDATE offers SET title = ?, data = ? WHERE id = ?"),
                (offer.title, _dumps(self.converter.unstructure(offer)), offer.id),
            )

    def get_offer(self, offer_id: str) -> Offer | None:
        row = self._one("SELECT data FROM offers WHERE id = ?", (offer_id,))
        return None if row is None else self._parsed(Offer, row[0])

    def offer_usage(self, offer_id: str) -> OfferUsage | None:
        row = self._one(f"SELECT {USAGE_COLS} FROM offers WHERE id = ?", (offer_id,))
        return None if row is None else OfferUsage(int(row[0]), int(row[1]))

    def list_offers(self) -> list[Offer]:
        rows = self._all("SELECT data FROM offers ORDER BY created_at, id")
        return [self.converter.structure(json.loads(r[0]), Offer) for r in rows]

    # --- vouchers, redemptions, reservations
    def insert_vouchers(self, vouchers: Sequence[Voucher]) -> None:
        with self.atomic() as tx:
            tx.insert_vouchers(vouchers)

    def get_voucher(self, voucher_id: str) -> Voucher | None:
        row = self._one(f"SELECT {self.VOUCHER_COLS} FROM vouchers WHERE id = ?", (voucher_id,))
        return None if row is None else self._voucher(row)

    def try_redeem(self, redemption: Redemption, event: JournalEvent, now: datetime, *,
                   idempotent: tuple[str, str, str, str] | None = None) -> list[JournalEvent] | None:  # fmt: skip
        r = redemption
        with self._write() as cur:
            done = cur.execute(
                self.dialect.q(
                    "UPDATE vouchers SET status = ?, held_until = NULL WHERE id = ? AND status = ?"
                    " AND (held_until IS NULL OR held_until <= ?)"
                ),
                (VoucherStatus.REDEEMED.value, r.voucher_id, VoucherStatus.ACTIVE.value, self.dialect.ts_in(now)),
            )
            if int(done.rowcount) != 1:
                return None
            return self.transaction_class(cur, self.dialect, self.converter, self._insert_events)._write_redemption(r, event, idempotent)

    def voucher_context(self, store_id: str, voucher_id: str, idempotency_key: str | None = None) -> VoucherContext:
        row = self._one(
            f"SELECT s.data, {_prefixed('v', self.VOUCHER_COLS)}, o.data,"
            " k.operation, k.request_hash, k.result FROM (SELECT 1 AS one) AS x"
            " LEFT JOIN stores s ON s.id = ? LEFT JOIN vouchers v ON v.id = ?"
            " LEFT JOIN offers o ON o.id = v.offer_id LEFT JOIN idempotency_keys k ON k.key = ?",
            (store_id, voucher_id, idempotency_key),
        )
        return VoucherContext(
            store=self._parsed(Store, row[0]) if row[0] is not None else None,
            voucher=self._voucher(row[1:8]) if row[1] is not None else None,
            offer=self._parsed(Offer, row[8]) if row[8] is not None else None,
            idempotent=(row[9], row[10], row[11]) if row[9] is not None else None,
        )

    def list_vouchers(self, offer_id: str, limit: int = 1000) -> list[Voucher]:
        rows = self._all(
            f"SELECT {self.VOUCHER_COLS} FROM vouchers WHERE offer_id = ? ORDER BY issued_at, id LIMIT ?",
            (offer_id, limit),
        )
        return [self._voucher(r) for r in rows]

    def get_redemption(self, redemption_id: str) -> Redemption | None:
        row = self._one(f"SELECT {self.REDEMPTION_COLS} FROM redemptions WHERE id = ?", (redemption_id,))
        return None if row is None else self._redemption(row)

    def list_redemptions(self, offer_id: str | None = None, limit: int = 1000) -> list[Redemption]:
        if offer_id is None:
            rows = self._all(f"SELECT {self.REDEMPTION_COLS} FROM redemptions ORDER BY redeemed_at, id LIMIT ?", (limit,))
        else:
            rows = self._all(
                f"SELECT {self.REDEMPTION_COLS} FROM redemptions WHERE offer_id = ? ORDER BY redeemed_at, id LIMIT ?",
                (offer_id, limit),
            )
        return [self._redemption(r) for r in rows]

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        row = self._one(f"SELECT {self.RESERVATION_COLS} FROM reservations WHERE id = ?", (reservation_id,))
        return None if row is None else self._reservation(row)

    def get_idempotent(self, key: str) -> tuple[str, str, str] | None:
        row = self._one("SELECT operation, request_hash, result FROM idempotency_keys WHERE key = ?", (key,))
        return None if row is None else (row[0], row[1], row[2])

    # --- check-ins
    def get_checkin(self, checkin_id: str) -> CheckIn | None:
        row = self._one(f"SELECT {self.CHECKIN_COLS} FROM checkins WHERE id = ?", (checkin_id,))
        return None if row is None else self._checkin(row)

    def find_checkin(self, customer_id: str, store_id: str, window_start: datetime) -> CheckIn | None:
        row = self._one(
            f"SELECT {self.CHECKIN_COLS} FROM checkins WHERE customer_id = ? AND store_id = ? AND window_start = ?",
            (customer_id, store_id, self.dialect.ts_in(window_start)),
        )
        return None if row is None else self._checkin(row)

    def list_checkins(self, customer_id: str | None = None, store_id: str | None = None, limit: int = 1000) -> list[CheckIn]:
        where, params = [], []
        for column, value in (("customer_id", customer_id), ("store_id", store_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._all(f"SELECT {self.CHECKIN_COLS} FROM checkins{clause} ORDER BY at, id LIMIT ?", (*params, limit))
        return [self._checkin(r) for r in rows]

    def forget_used_checkin_codes(self, before: datetime) -> int:
        with self._write() as cur:
            done = cur.execute(self.dialect.q("DELETE FROM checkin_used_codes WHERE used_at < ?"), (self.dialect.ts_in(before),))
            return int(done.rowcount)

    # --- API keys (web POS API); only digests are stored
    def insert_api_key(self, key: ApiKey) -> None:
        with self._write() as cur:
            cur.execute(
                self.dialect.q("INSERT INTO api_keys (id, key_hash, store_id, name, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)"),
                (key.id, key.key_hash, key.store_id, key.name, self.dialect.ts_in(key.created_at), self.dialect.ts_in(key.revoked_at)),
            )

    def get_api_key(self, key_id: str) -> ApiKey | None:
        row = self._one("SELECT id, store_id, name, key_hash, created_at, revoked_at FROM api_keys WHERE id = ?", (key_id,))
        return None if row is None else self._api_key(row)

    def list_api_keys(self, store_id: str | None = None) -> list[ApiKey]:
        sql = "SELECT id, store_id, name, key_hash, created_at, revoked_at FROM api_keys"
        rows = self._all(sql + " WHERE store_id = ? ORDER BY created_at, id", (store_id,)) if store_id is not None \
            else self._all(sql + " ORDER BY created_at, id")
        return [self._api_key(r) for r in rows]

    def revoke_api_key(self, key_id: str, at: datetime) -> bool:
        with self._write() as cur:
            done = cur.execute(
                self.dialect.q("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
                (self.dialect.ts_in(at), key_id),
            )
            return int(done.rowcount) > 0

    def _api_key(self, row: Sequence[Any]) -> ApiKey:
        ts = self.dialect.ts_out
        return ApiKey(id=row[0], store_id=row[1], name=row[2], key_hash=row[3],
                      created_at=ts(row[4]), revoked_at=ts(row[5]))  # type: ignore[arg-type]  # fmt: skip

    # --- platform orders and offer mirrors (adapters)
    def get_order(self, platform: str, order_id: str) -> OrderEvent | None:
        row = self._one("SELECT data FROM platform_orders WHERE platform = ? AND order_id = ?", (platform, order_id))
        return None if row is None else self.converter.structure(json.loads(row[0]), OrderEvent)

    def list_orders(self, platform: str | None = None, limit: int = 1000) -> list[OrderEvent]:
        if platform is None:
            rows = self._all("SELECT data FROM platform_orders ORDER BY occurred_at, order_id LIMIT ?", (limit,))
        else:
            rows = self._all(
                "SELECT data FROM platform_orders WHERE platform = ? ORDER BY occurred_at, order_id LIMIT ?", (platform, limit)
            )
        return [self.converter.structure(json.loads(r[0]), OrderEvent) for r in rows]

    def insert_mirror(self, mirror: OfferMirror) -> OfferMirror:
        """Keep ``mirror`` unless the offer is already mirrored on its platform; return the stored one.

        A code already used by another offer on the platform raises :class:`StorageError`.
        """
        with self._write() as cur:
            cur.execute(
                self.dialect.q(
                    f"INSERT INTO offer_mirrors ({self.MIRROR_COLS}, code_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (offer_id, platform) DO NOTHING"
                ),
                (mirror.offer_id, mirror.platform, mirror.discount_id, mirror.code, self.dialect.ts_in(mirror.created_at),
                 mirror.usage_count, self.dialect.ts_in(mirror.synced_at), mirror.code.casefold()),
            )  # fmt: skip
            row = cur.execute(
                self.dialect.q(f"SELECT {self.MIRROR_COLS} FROM offer_mirrors WHERE offer_id = ? AND platform = ?"),
                (mirror.offer_id, mirror.platform),
            ).fetchone()
        return self._mirror(row)

    def get_mirror(self, offer_id: str, platform: str) -> OfferMirror | None:
        row = self._one(f"SELECT {self.MIRROR_COLS} FROM offer_mirrors WHERE offer_id = ? AND platform = ?", (offer_id, platform))
        return None if row is None else self._mirror(row)

    def find_mirror(self, platform: str, code: str) -> OfferMirror | None:
        """The mirror with this discount code on ``platform`` (codes compare case-insensitively)."""
        row = self._one(f"SELECT {self.MIRROR_COLS} FROM offer_mirrors WHERE platform = ? AND code_key = ?", (platform, code.casefold()))
        return None if row is None else self._mirror(row)

    def list_mirrors(self, platform: str | None = None) -> list[OfferMirror]:
        sql = f"SELECT {self.MIRROR_COLS} FROM offer_mirrors"
        rows = self._all(sql + " WHERE platform = ? ORDER BY created_at, offer_id", (platform,)) if platform is not None \
            else self._all(sql + " ORDER BY created_at, offer_id")
        return [self._mirror(r) for r in rows]

    def set_mirror_usage(self, offer_id: str, platform: str, usage_count: int, at: datetime) -> bool:
        with self._write() as cur:
            done = cur.execute(
                self.dialect.q("UPDATE offer_mirrors SET usage_count = ?, synced_at = ? WHERE offer_id = ? AND platform = ?"),
                (usage_count, self.dialect.ts_in(at), offer_id, platform),
            )
            return int(done.rowcount) > 0

    # --- journal
    def append_events(self, events: Sequence[JournalEvent]) -> list[JournalEvent]:
        if not events:
            return []
        with self._write() as cur:
            return self._insert_events(cur, events)

    def read_journal(self, after_seq: int = 0, limit: int = 1000, types: Sequence[str] | None = None) -> list[JournalEvent]:
        if types:
            marks = ", ".join("?" for _ in types)
            rows = self._all(
                f"SELECT {self.EVENT_COLS} FROM journal WHERE seq > ? AND type IN ({marks}) ORDER BY seq LIMIT ?",
                (after_seq, *types, limit),
            )
        else:
            rows = self._all(f"SELECT {self.EVENT_COLS} FROM journal WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit))
        return [self._event(r) for r in rows]

    def iter_journal(self, batch: int = 1000) -> Iterator[JournalEvent]:
        seq = 0
        while True:
            events = self.read_journal(seq, batch)
            if not events:
                return
            yield from events
            seq = events[-1].seq or seq

    def journal_counts(self) -> dict[str, int]:
        return {str(t): int(n) for t, n in self._all("SELECT type, COUNT(*) FROM journal GROUP BY type ORDER BY type")}
