"""Reading the journal after a cursor without skipping an event that commits late.

A journal event's ``seq`` is taken when it is inserted, but transactions commit in any order
on PostgreSQL: a reader can see ``n + 1`` while ``n`` is still uncommitted. A reader that
keeps "the last ``seq`` I read" and moves it past ``n`` never reads ``n``. So a reader stops
before the first gap in ``seq`` and waits for it to fill; a gap still open after
:data:`GAP_WAIT` is taken for a rolled-back transaction (or sequence values lost in a crash)
and read past. SQLite runs one write transaction at a time, so its ``seq`` commit in order
and a gap there never fills: no wait.

This module is the decision alone — where a reader may safely read up to, given the gaps it
found and when it first saw each — so that every cursor over the journal can share it; the
caller finds the gaps (a query, or the ``seq`` of the events it read) and keeps the
first-seen times between runs (in memory, or with :func:`dump_seen` / :func:`load_seen`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import attrs

__all__ = ["GAP_WAIT", "Gap", "Horizon", "dump_seen", "gaps_in", "horizon", "load_seen"]

#: How long a gap in ``seq`` is waited for before it is taken for a rollback.
GAP_WAIT = timedelta(seconds=5)


@attrs.frozen
class Gap:
    """``seq`` values ``first`` to ``last`` (inclusive) not visible (yet)."""

    first: int
    last: int


@attrs.frozen
class Horizon:
    """Where a cursor may read up to now, and the gaps to keep waiting for."""

    #: Every ``seq`` up to ``end`` is visible, or was given up as a rollback.
    end: int
    #: First ``seq`` of each gap still waited for, and when it was first seen.
    waiting: dict[int, datetime]


def gaps_in(after: int, seqs: Iterable[int]) -> tuple[list[Gap], int]:
    """The gaps in ascending ``seqs`` read after ``after``, and the last of them (``after``
    when there are none)."""
    gaps = []
    expected = after + 1
    for seq in seqs:
        if seq > expected:
            gaps.append(Gap(expected, seq - 1))
        expected = max(expected, seq + 1)
    return gaps, expected - 1


def horizon(after: int, gaps: Iterable[Gap], top: int, seen: Mapping[int, datetime], now: datetime,
            wait: timedelta = GAP_WAIT) -> Horizon:  # fmt: skip
    """How far a cursor at ``after`` may read: up to ``top`` (the highest ``seq`` visible past
    it), except that it stops before the first of ``gaps`` (ascending, above ``after``) first
    seen less than ``wait`` ago. ``seen`` holds first-seen times from earlier calls (keyed by
    the gap's first ``seq``); gaps not in it are first seen ``now``.
    """
    first_seen = {gap.first: seen.get(gap.first, now) for gap in gaps if gap.first > after}
    end = min([top, *(first - 1 for first, since in first_seen.items() if now - since < wait)])
    end = max(end, after)
    # the gaps beyond the end keep their age (a later one may be older than the wait already)
    return Horizon(end, {first: since for first, since in first_seen.items() if first > end})


def dump_seen(waiting: Mapping[int, datetime]) -> str:
    """First-seen times as text, to keep between runs."""
    return json.dumps({str(k): v.isoformat() for k, v in sorted(waiting.items())}, separators=(",", ":"))


def load_seen(text: str | None) -> dict[int, datetime]:
    """The inverse of :func:`dump_seen` (an empty mapping for ``None`` or damaged text)."""
    if not text:
        return {}
    try:
        raw = json.loads(text)
        return {int(k): datetime.fromisoformat(v) for k, v in raw.items()}
    except (ValueError, TypeError, AttributeError):
        return {}
