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
from ..storage import Storage
from ..storage._sql import SQLTransaction

__all__ = ["Sql", "read", "write"]


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
def read(storage: Storage) -> Iterator[Sql]:
    """One connection for reads (no locks); temporary tables live as long as it."""
    with storage.snapshot() as tx:
        yield Sql(_check(tx))


@contextlib.contextmanager
def write(storage: Storage) -> Iterator[Sql]:
    """One write transaction: everything commits or nothing does."""
    with storage.atomic() as tx:
        yield Sql(_check(tx))
