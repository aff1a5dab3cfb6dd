"""Durable journal streams for analytics sinks: at-least-once delivery from a stored cursor.

The journal is already durable and ordered by ``seq``. A sink reads the events after its
own cursor (kept in the database), sends them, and only then commits the cursor: an event
is never lost (a crash before the commit resends it; one whose transaction commits after a
later one is waited for) and may be sent twice, so every event carries a stable id
(``<database id>:<seq>``) receivers dedupe on.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import InvalidInput
from ..models import JournalEvent
from . import _db

if TYPE_CHECKING:
    from ..sdk import O2O

__all__ = ["EventStream"]


class EventStream:
    """The journal as seen by one sink (``sdk.analytics.stream("ga4")``).

    A new stream starts after the newest event (history is not replayed), after
    ``start_after`` when given (a sink opened by the event it is handed), or at the very
    beginning with ``from_start``. These only matter the first time a stream is opened.
    """

    def __init__(self, sdk: O2O, name: str, *, types: Sequence[str] | None = None, from_start: bool = False,
                 start_after: int | None = None) -> None:  # fmt: skip
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise InvalidInput(f"{name!r} is not a stream name; use letters, digits, - and _.")
        self._sdk = sdk
        self.name = name
        self.types = tuple(types) if types else None
        self._key = f"analytics.stream.{name}"
        if sdk.storage.get_meta(self._key) is None:
            start = 0 if start_after is None else start_after
            if not from_start and start_after is None:
                with _db.read(sdk.storage) as sql:
                    start = int(sql.one("SELECT COALESCE(MAX(seq), 0) FROM journal")[0])
            sdk.storage.set_meta_if_absent(self._key, str(start))

    @property
    def cursor(self) -> int:
        """The ``seq`` of the last event delivered."""
        return int(self._sdk.storage.get_meta(self._key) or 0)

    def event_id(self, event: JournalEvent) -> str:
        """A stable id of ``event`` across redeliveries (and databases)."""
        return f"{self._sdk.storage.set_meta_if_absent('analytics.database_id', _new_id())}:{event.seq}"

    def pending(self, limit: int = 100) -> builtins.list[JournalEvent]:
        """Events after the cursor, oldest first — up to the first gap in ``seq`` that may
        still fill (a transaction that commits after a later one, :mod:`o2o_sdk.journal_cursor`),
        so that moving the cursor past them never skips an event."""
        cursor = self.cursor
        events = self._sdk.journal.read(cursor, limit, self.types)
        if not events:
            return events
        end = _db.readable_end(self._sdk.storage, f"{self._key}.gaps", cursor, self._sdk.clock.now(), upto=events[-1].seq)
        return [e for e in events if (e.seq or 0) <= end]

    def commit(self, seq: int) -> None:
        """Mark every event up to ``seq`` delivered (the cursor never moves back)."""
        with _db.write(self._sdk.storage) as sql:
            row = sql.one("SELECT value FROM o2o_meta WHERE key = ?", (self._key,))
            if row is None or int(row[0]) < seq:
                sql.execute(
                    "INSERT INTO o2o_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (self._key, str(seq)),
                )

    def drain(self, send: Callable[[builtins.list[JournalEvent]], None], *, batch: int = 100, max_batches: int = 100) -> int:
        """Send pending events in batches with ``send`` (which raises on failure), committing
        after each batch; returns how many were sent. A failure stops the drain; the failed
        batch stays pending."""
        sent = 0
        for _ in range(max_batches):
            events = self.pending(batch)
            if not events:
                break
            send(events)
            self.commit(events[-1].seq or 0)
            sent += len(events)
            if len(events) < batch:
                break
        return sent


def _new_id() -> str:
    import secrets

    return secrets.token_hex(6)
