"""The embedded default backend: SQLite from the standard library, in WAL mode.

One connection per thread. Every write transaction starts with ``BEGIN IMMEDIATE``, taking
the database's single write lock up front — a deferred transaction that reads then writes
fails at once with "database is locked", ignoring ``busy_timeout``. Writers from several
processes queue on that lock (``busy_timeout`` 30 s), which makes read-check-write atomic.
WAL does not work on network file systems: keep the file on a local disk.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import cattrs

from ..errors import ConfigurationError, StorageError
from ..models import JournalEvent
from ._sql import Cursorish, Dialect, SQLStorage, type_words

__all__ = ["SQLiteStorage", "path_from_url"]


class SQLiteDialect(Dialect):
    name = "sqlite"

    def ts_in(self, value: datetime | None) -> Any:
        # Fixed-width UTC text, so that string comparison is time comparison.
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def type_map(self, ddl: str) -> str:
        return type_words(ddl, {"SERIAL_PK": "INTEGER PRIMARY KEY AUTOINCREMENT", "TS": "TEXT", "FLOAT8": "REAL"})


def path_from_url(url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or ``sqlite:///:memory:`` → path."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ConfigurationError(f"{url!r} is not a sqlite:/// URL.")
    path = unquote(parts.path)
    if parts.netloc:
        raise ConfigurationError(f"{url!r}: write sqlite:///path (three slashes) for a file path.")
    path = path[1:] if path.startswith("/") else path
    if not path:
        raise ConfigurationError(f"{url!r} names no database file; write sqlite:///o2o.db.")
    return path


class SQLiteStorage(SQLStorage):
    """:class:`~o2o_sdk.storage.Storage` on a SQLite file."""

    def __init__(self, url: str, converter: cattrs.Converter, *, busy_timeout_s: float = 30.0) -> None:
        super().__init__(converter, SQLiteDialect())
        self.url = url
        self.path = path_from_url(url)
        self._timeout = busy_timeout_s
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.exists():
                raise ConfigurationError(f"The folder of the database {self.path!r} does not exist.")

    @property
    def dialect_name(self) -> str:
        return "sqlite"

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            except sqlite3.Error as exc:
                raise StorageError(f"Cannot open SQLite database {self.path!r}: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _read(self) -> Iterator[Cursorish]:
        try:
            yield self._conn().cursor()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite error: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[Cursorish]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite could not start a write transaction: {exc}") from exc
        try:
            yield conn.cursor()
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StorageError(f"SQLite error: {exc}") from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise StorageError(f"SQLite commit failed: {exc}") from exc

    def _insert_events(self, cur: Cursorish, events: Sequence[JournalEvent]) -> list[JournalEvent]:
        import attrs

        sql = "INSERT INTO journal (at, type, offer_id, voucher_id, store_id, customer_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
        out = []
        for e in events:
            seq = cur.execute(sql, self._event_params(e)).lastrowid
            out.append(attrs.evolve(e, seq=int(seq)))
        return out

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()
