"""The scale-out backend: PostgreSQL through psycopg 3 (``pip install 'o2o-sdk[postgres]'``).

Write transactions lock the rows they decide on with ``SELECT … FOR UPDATE`` (offer first,
then voucher, always in that order, so concurrent redeemers queue instead of deadlocking).
Connections come from a small pool per storage instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import cattrs

from ..errors import ConfigurationError, StorageError
from ..models import JournalEvent
from ._sql import Cursorish, Dialect, SQLStorage, type_words

try:
    import psycopg
    from psycopg_pool import ConnectionPool
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresStorage"]

_PLACEHOLDER = re.compile(r"\?")


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


class PostgresStorage(SQLStorage):
    """:class:`~o2o_sdk.storage.Storage` on PostgreSQL."""

    def __init__(self, url: str, converter: cattrs.Converter, *, pool_size: int = 8) -> None:
        if psycopg is None:
            raise ConfigurationError(
                "PostgreSQL storage needs psycopg 3: pip install 'o2o-sdk[postgres]'."
            )
        super().__init__(converter, PostgresDialect())
        self.url = url
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
        try:
            with self._pool.connection() as conn:
                yield conn.cursor()
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL error: {_safe(exc)}") from exc

    @contextmanager
    def _write(self) -> Iterator[Cursorish]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn.cursor()
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL error: {_safe(exc)}") from exc

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


def _safe(exc: BaseException) -> str:
    """An error message without connection secrets."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"password=\S+", "password=***", text)


