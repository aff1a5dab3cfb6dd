"""Plain SQL access for measurement, over the built-in SQL backends.

Reports count in the database (GROUP BY over indexes), so measurement needs SQL: it runs on
the storage's own transactions (:meth:`~o2o_sdk.storage.Storage.atomic` for writes,
:meth:`~o2o_sdk.storage.Storage.snapshot` for reads) and speaks the two dialects' differences
through the few helpers here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ..errors import ConfigurationError
from ..journal_cursor import GAP_WAIT, Gap, dump_seen, horizon, load_seen
from ..storage import Storage
from ..storage._sql import SQLTransaction

__all__ = ["Sql", "read", "readable_end", "write"]


class Sql:
    """A cursor that takes ``?`` placeholders on every backend."""

    def __init__(self, tx: SQLTransaction) -> None:
        self._tx = tx
        self.dialect = tx.dialect
        self.postgres = tx.dialect.name == "postgresql"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._tx.cur.execute(self.dialect.q(sql), params)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self.execute(sql, params).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._tx.cur.executemany(self.dialect.q(sql), rows)  # type: ignore[attr-defined]

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows at once (``COPY`` on PostgreSQL, ``executemany`` on SQLite)."""
        if not rows:
            return
        cols = ", ".join(columns)
        if self.postgres:
            with self._tx.cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        else:
            self.many(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in columns)})", rows)

    def ts(self, value: datetime | None) -> Any:
        """A datetime as a query parameter."""
        return self.dialect.ts_in(value)

    def ts_out(self, value: Any) -> datetime | None:
        return self.dialect.ts_out(value)

    def seconds_between(self, a: str, b: str) -> str:
        """SQL for the seconds from timestamp expression ``a`` to ``b``."""
        if self.postgres:
            return f"EXTRACT(EPOCH FROM ({b}) - ({a}))"
        return f"((julianday({b}) - julianday({a})) * 86400.0)"

    def day_of(self, a: str) -> str:
        """SQL for the UTC date (``YYYY-MM-DD``) of timestamp expression ``a``."""
        if self.postgres:
            return f"to_char(({a}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"substr({a}, 1, 10)"

    @property
    def ts_type(self) -> str:
        return "TIMESTAMPTZ" if self.postgres else "TEXT"


def _check(tx: object) -> SQLTransaction:
    if not isinstance(tx, SQLTransaction):
        raise ConfigurationError("Measurement needs one of the built-in SQL storages (SQLite or PostgreSQL).")
    return tx


@contextlib.contextmanager
def read(storage: Storage, *, consistent: bool = False) -> Iterator[Sql]:
    """One connection for reads (no locks); temporary tables live as long as it.

    ``consistent``: on PostgreSQL (whose read connections autocommit) every statement sees one
    snapshot of the database (a ``REPEATABLE READ`` transaction, ended when the block exits),
    and ``SET LOCAL`` settings last until then. SQLite reads are not changed.
    """
    with storage.snapshot() as tx:
        sql = Sql(_check(tx))
        if not (consistent and sql.postgres):
            yield sql
            return
        sql.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            yield sql
        except BaseException:
            sql.execute("ROLLBACK")
            raise
        sql.execute("COMMIT")


@contextlib.contextmanager
def write(storage: Storage) -> Iterator[Sql]:
    """One write transaction: everything commits or nothing does."""
    with storage.atomic() as tx:
        yield Sql(_check(tx))


def readable_end(storage: Storage, state_key: str, after: int, now: datetime, *, upto: int | None = None,
                 limit: int = 1000) -> int:  # fmt: skip
    """How far a cursor at ``after`` may read the journal now without skipping an event that
    commits late (:mod:`o2o_sdk.journal_cursor`): up to the first gap in ``seq`` seen less
    than :data:`~o2o_sdk.journal_cursor.GAP_WAIT` ago (PostgreSQL; SQLite commits in order),
    and not past ``upto``. When each gap was first seen is kept in ``o2o_meta`` under
    ``state_key``."""
    bound, params = ("", []) if upto is None else (" AND seq <= ?", [upto])
    with read(storage) as sql:
        count, top = sql.one(f"SELECT COUNT(*), MAX(seq) FROM journal WHERE seq > ?{bound}", (after, *params))
        if top is None:
            return after
        top = int(top)
        state = sql.one("SELECT value FROM o2o_meta WHERE key = ?", (state_key,))
        if not sql.postgres or (int(count) == top - after and state is None):
            return top  # SQLite commits in seq order: a gap there never fills; or no gap
        # every visible seq after the cursor followed by a missing one (and the last visible)
        rows = sql.all(
            "SELECT seq, nxt FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS nxt FROM"
            f" (SELECT CAST(? AS BIGINT) AS seq UNION ALL SELECT seq FROM journal WHERE seq > ?{bound}) s) g"
            " WHERE nxt IS NULL OR nxt > seq + 1 ORDER BY seq LIMIT ?",
            (after, after, *params, limit),
        )
    gaps = [Gap(int(seq) + 1, int(nxt) - 1) for seq, nxt in rows if nxt is not None]
    if not any(nxt is None for _, nxt in rows):
        top = int(rows[-1][1])  # more gaps than the limit: up to the last one read
    seen = load_seen(state[0] if state else None)
    found = horizon(after, gaps, top, seen, now, GAP_WAIT)
    if found.waiting != seen:
        with write(storage) as sql:
            if found.waiting:
                sql.execute(
                    "INSERT INTO o2o_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (state_key, dump_seen(found.waiting)),
                )
            else:
                sql.execute("DELETE FROM o2o_meta WHERE key = ?", (state_key,))
    return found.end
