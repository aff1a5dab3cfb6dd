"""``sdk.journal``: the append-only record every later feature builds on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._checks import check_limit
from .models import JournalEvent

if TYPE_CHECKING:
    from .sdk import O2O

__all__ = ["Journal"]


class Journal:
    """Append events and read them back in order."""

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk

    def append(self, type: str, *, offer_id: str | None = None, voucher_id: str | None = None,
               store_id: str | None = None, customer_id: str | None = None,
               data: dict[str, Any] | None = None) -> JournalEvent:  # fmt: skip
        """Append one event now and pass it to the ``o2o_journal_event`` sinks."""
        event = JournalEvent(str(type), self._sdk.clock.now(), offer_id, voucher_id, store_id, customer_id, dict(data or {}))
        [stored] = self._sdk.storage.append_events([event])
        self._sdk._emit([stored])
        return stored

    def read(self, after_seq: int = 0, limit: int = 1000, types: Sequence[str] | None = None) -> list[JournalEvent]:
        """Events with ``seq > after_seq``, oldest first."""
        return self._sdk.storage.read_journal(after_seq, check_limit(limit), types)

    def counts(self) -> dict[str, int]:
        """How many events of each type."""
        return self._sdk.storage.journal_counts()
