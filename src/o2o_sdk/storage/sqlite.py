"""The embedded default backend: SQLite from the standard library, in WAL mode.

One connection per thread. Every write transaction starts with ``BEGIN IMMEDIATE``, taking
the database's single write lock up front — a deferred transaction that reads then writes
fails at once with "database is locked", ignoring ``busy_timeout``. Writers from several
processes queue on that lock (``busy_timeout`` 30 s), which makes read-check-write atomic;
writers in one process queue on a lock of their own first, in order, instead of polling
SQLite's lock with its busy-handler sleeps. The WAL is copied back into the database file by
a background thread (passive checkpoints, which block no reader or writer), so no request
waits for a checkpoint; SQLite's own automatic checkpoint stays as a safety net at a larger
WAL size. WAL does not work on network file systems: keep the file on a local disk.
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
from . import IdempotencyKeyTaken
from ._sql import Cursorish, Dialect, SQLStorage, type_words

__all__ = ["SQLiteStorage", "path_from_url"]

#: Commits between two background checkpoints, and the WAL size (pages) at which a committing
#: connection checkpoints by itself (SQLite's default is 1000) if the background thread lags.
CHECKPOINT_EVERY = 128
AUTOCHECKPOINT_PAGES = 10_000


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
        #: Writers of this process queue here, first come first served (see the module doc).
        self._write_lock = threading.RLock()
        self._checkpointer: _Checkpointer | None = None
        self._commits = 0
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
                if self.path != ":memory:":
                    conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
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
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite could not start a write transaction: {exc}") from exc
            try:
                yield conn.cursor()
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError) and "idempotency_keys.key" in str(exc):
                    raise IdempotencyKeyTaken("Another request stored a result under this idempotency key first.") from exc
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
            self._commits += 1
            if self._commits % CHECKPOINT_EVERY == 0 and self.path != ":memory:":
                if self._checkpointer is None:
                    self._checkpointer = _Checkpointer(self.path, self._timeout)
                self._checkpointer.poke()

    def _insert_events(self, cur: Cursorish, events: Sequence[JournalEvent]) -> list[JournalEvent]:
        import attrs

        sql = "INSERT INTO journal (at, type, offer_id, voucher_id, store_id, customer_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
        out = []
        for e in events:
            seq = cur.execute(sql, self._event_params(e)).lastrowid
            out.append(attrs.evolve(e, seq=int(seq)))
        return out

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()


class _Checkpointer:
    """A daemon thread with its own connection that runs ``PRAGMA wal_checkpoint(PASSIVE)``
    when poked: copies committed WAL pages into the database file without blocking anyone,
    so the WAL is reset by the next writer instead of checkpointed inside a request."""

    def __init__(self, path: str, timeout: float) -> None:
        self._path, self._timeout = path, timeout
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="o2o-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:  # pragma: no cover - the writers' own connections opened the same file
            return
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                with contextlib.suppress(sqlite3.Error):  # busy or closing: the next poke retries
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=self._timeout)
