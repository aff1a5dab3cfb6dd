"""The scale-out backend: PostgreSQL through psycopg 3 (``pip install 'o2o-sdk[postgres]'``).

Write transactions lock the rows they decide on with ``SELECT … FOR UPDATE`` (voucher first,
then offer, always in that order, so concurrent transactions queue instead of deadlocking);
the offer row is locked only when its caps are at stake. A redemption's writes go in one
statement (data-modifying CTEs); without caps, its counters go to one of the offer's shard rows
(``offer_usage_shards``), so that redemptions of one offer don't queue on its row's lock.
Connections come from a small pool per storage instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

import cattrs

from ..errors import ConfigurationError, InvalidInput, StorageError
from ..models import JournalEvent, Redemption, ReservationStatus, VoucherStatus
from . import IdempotencyKeyTaken
from ._sql import Cursorish, Dialect, SQLStorage, SQLTransaction, spent_minor, type_words

try:
    import psycopg
    from psycopg_pool import ConnectionPool
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresStorage"]

_PLACEHOLDER = re.compile(r"\?")
#: How many counter rows (``offer_usage_shards``) an offer's redemptions without caps spread over.
USAGE_SHARDS = 16


class PostgresDialect(Dialect):
    name = "postgresql"
    for_update = " FOR UPDATE"

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def q(self, sql: str) -> str:
        out = self._cache.get(sql)
        if out is None:
            out = self._cache[sql] = _PLACEHOLDER.sub("%s", sql)
        return out

    def type_map(self, ddl: str) -> str:
        return type_words(ddl, {"SERIAL_PK": "BIGSERIAL PRIMARY KEY", "TS": "TIMESTAMPTZ", "FLOAT8": "DOUBLE PRECISION"})


class PostgresTransaction(SQLTransaction):
    """Round trips cost more than statements here: a redemption's writes are one statement."""

    _RECORD_SQL: ClassVar[dict[tuple[bool, bool], str]] = {}

    def record_redemption(self, redemption: Redemption, event: JournalEvent, *,
                          idempotent: tuple[str, str, str, str] | None = None) -> list[JournalEvent]:  # fmt: skip
        import attrs

        r = redemption
        held, keyed = r.reservation_id is not None, idempotent is not None
        sql = self._RECORD_SQL.get((held, keyed))
        if sql is None:
            parts = [
                f"red AS (INSERT INTO redemptions ({self.REDEMPTION_COLS}, amount_minor)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s))",
                "vou AS (UPDATE vouchers SET status = %s, held_until = NULL WHERE id = %s)",
            ]
            if held:
                parts.append("res AS (UPDATE reservations SET status = %s WHERE id = %s)")
            if keyed:
                parts.append(
                    "idem AS (INSERT INTO idempotency_keys (key, operation, request_hash, result, created_at)"
                    " VALUES (%s, %s, %s, %s, %s))"
                )
            # An atomic increment: the row lock it takes is held only until the commit that follows.
            parts.append("off AS (UPDATE offers SET redeemed_count = redeemed_count + 1, spent_minor = spent_minor + %s WHERE id = %s)")
            sql = self._RECORD_SQL[(held, keyed)] = (
                "WITH " + ", ".join(parts) + " INSERT INTO journal (at, type, offer_id, voucher_id, store_id,"
                " customer_id, data) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING seq"
            )
        params = [*self._redemption_params(r), VoucherStatus.REDEEMED.value, r.voucher_id]
        if held:
            params += [ReservationStatus.CONVERTED.value, r.reservation_id]
        if idempotent is not None:
            params += [*idempotent, r.redeemed_at]
        params += [spent_minor(r), r.offer_id, *self._event_params(event)]
        seq = self.cur.execute(sql, params).fetchone()[0]
        return [attrs.evolve(event, seq=int(seq))]


class PostgresStorage(SQLStorage):
    """:class:`~o2o_sdk.storage.Storage` on PostgreSQL."""

    transaction_class = PostgresTransaction

    def __init__(self, url: str, converter: cattrs.Converter, *, pool_size: int = 8) -> None:
        if psycopg is None:
            raise ConfigurationError(
                "PostgreSQL storage needs psycopg 3: pip install 'o2o-sdk[postgres]'."
            )
        super().__init__(converter, PostgresDialect())
        self.url = url
        try:  # one connection first: a wrong host, port, password or database fails now, with its cause
            psycopg.connect(url, connect_timeout=10).close()
        except Exception as exc:  # psycopg.Error, or a malformed URL (ProgrammingError, ValueError)
            raise StorageError(f"Cannot connect to PostgreSQL: {_safe(exc)}") from None
        try:
            self._pool = ConnectionPool(
                url, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=True, timeout=30
            )
            self._pool.wait(timeout=30)
        except Exception as exc:  # psycopg raises several kinds here
            raise StorageError(f"Cannot connect to PostgreSQL: {_safe(exc)}") from None

    @property
    def dialect_name(self) -> str:
        return "postgresql"

    @contextmanager
    def _read(self) -> Iterator[Cursorish]:
        """A cursor on an autocommit connection: each statement is its own transaction."""
        try:
            with self._pool.connection() as conn:
                yield conn.cursor()
        except psycopg.Error as exc:
            raise _storage_error(exc) from exc

    @contextmanager
    def _write(self) -> Iterator[Cursorish]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn.cursor()
        except psycopg.Error as exc:
            raise _storage_error(exc) from exc

    _TRY_REDEEM_SQL: ClassVar[dict[bool, str]] = {}

    def try_redeem(self, redemption: Redemption, event: JournalEvent, now: datetime, *,
                   idempotent: tuple[str, str, str, str] | None = None) -> list[JournalEvent] | None:  # fmt: skip
        import attrs

        sql, params = self.try_redeem_statement(redemption, event, now, idempotent=idempotent)
        with self._read() as cur:
            row = cur.execute(sql, params).fetchone()
        return None if row is None else [attrs.evolve(event, seq=int(row[0]))]

    def try_redeem_statement(self, redemption: Redemption, event: JournalEvent, now: datetime, *,
                             idempotent: tuple[str, str, str, str] | None = None) -> tuple[str, list[Any]]:  # fmt: skip
        """The one statement (SQL and parameters) :meth:`try_redeem` runs as its own transaction.

        Its conditional UPDATE locks the voucher row and, under read committed, re-checks its
        condition on the newest version if another transaction changed the row meanwhile (a
        redemption, a hold); every other write depends on its row. The offer's row is not
        written: the counters go to one of its shard rows, chosen by the connection, so that
        concurrent redemptions of one offer don't wait for each other's commit
        (``benchmarks/bench_pg_counters.py`` measures both ways)."""
        r = redemption
        keyed = idempotent is not None
        sql = self._TRY_REDEEM_SQL.get(keyed)
        if sql is None:
            marks = ", ".join(["%s"] * 14)
            parts = [
                "vou AS (UPDATE vouchers SET status = %s, held_until = NULL WHERE id = %s AND status = %s"
                " AND (held_until IS NULL OR held_until <= %s) RETURNING id)",
                f"red AS (INSERT INTO redemptions ({self.REDEMPTION_COLS}, amount_minor) SELECT {marks} FROM vou)",
            ]
            if keyed:
                parts.append(
                    "idem AS (INSERT INTO idempotency_keys (key, operation, request_hash, result, created_at)"
                    " SELECT %s, %s, %s, %s, %s FROM vou)"
                )
            parts.append(
                "off AS (INSERT INTO offer_usage_shards (offer_id, shard, redeemed_count, spent_minor)"
                f" SELECT %s, mod(pg_backend_pid(), {USAGE_SHARDS}), 1, %s FROM vou"
                " ON CONFLICT (offer_id, shard) DO UPDATE SET redeemed_count = offer_usage_shards.redeemed_count + 1,"
                " spent_minor = offer_usage_shards.spent_minor + EXCLUDED.spent_minor)"
            )
            sql = self._TRY_REDEEM_SQL[keyed] = (
                "WITH " + ", ".join(parts) + " INSERT INTO journal (at, type, offer_id, voucher_id, store_id,"
                " customer_id, data) SELECT %s, %s, %s, %s, %s, %s, %s FROM vou RETURNING seq"
            )
        params = [VoucherStatus.REDEEMED.value, r.voucher_id, VoucherStatus.ACTIVE.value, now, *self._redemption_params(r)]
        if idempotent is not None:
            params += [*idempotent, r.redeemed_at]
        params += [r.offer_id, spent_minor(r), *self._event_params(event)]
        return sql, params

    def _lock_for_migration(self, cur: Cursorish) -> None:
        # Two processes upgrading at once wait for each other instead of colliding.
        cur.execute("SELECT pg_advisory_xact_lock(7202419)")

    def _insert_events(self, cur: Cursorish, events: Sequence[JournalEvent]) -> list[JournalEvent]:
        import attrs

        sql = (
            "INSERT INTO journal (at, type, offer_id, voucher_id, store_id, customer_id, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING seq"
        )
        out = []
        for e in events:
            seq = cur.execute(sql, self._event_params(e)).fetchone()[0]
            out.append(attrs.evolve(e, seq=int(seq)))
        return out

    def close(self) -> None:
        self._pool.close()


def _storage_error(exc: Exception) -> StorageError | InvalidInput:
    """The SDK's error for a psycopg one: a value PostgreSQL cannot take is the caller's
    mistake (:class:`InvalidInput`), not an unavailable database."""
    if isinstance(exc, psycopg.errors.UniqueViolation) and exc.diag.constraint_name == "idempotency_keys_pkey":
        return IdempotencyKeyTaken("Another request stored a result under this idempotency key first.")
    if isinstance(exc, psycopg.DataError) and "NUL (0x00)" in str(exc):  # raised by psycopg before sending
        return InvalidInput("A text value contains a NUL character (0x00), which PostgreSQL cannot store or look up.")
    if isinstance(exc, psycopg.errors.InvalidRowCountInLimitClause):
        return InvalidInput("A limit must be 0 or more.")
    if isinstance(exc, psycopg.errors.ProgramLimitExceeded):  # e.g. a value too long for its index
        return InvalidInput(f"A value is too large for PostgreSQL: {_safe(exc)}")
    return StorageError(f"PostgreSQL error: {_safe(exc)}")


def _safe(exc: BaseException) -> str:
    """An error message without connection secrets."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"password=\S+", "password=***", text)


