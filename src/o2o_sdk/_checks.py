"""Argument checks shared by several public methods: each bad value is an InvalidInput."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .errors import InvalidInput

__all__ = ["check_limit", "cutoff", "later"]

#: The earliest instant storage is asked about (any older row is older than it).
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)


def check_limit(limit: int) -> int:
    """A row limit: a whole number, 0 or more. (SQL backends disagree on a negative one:
    PostgreSQL refuses it, SQLite reads it as "no limit".)"""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise InvalidInput(f"limit must be a whole number, 0 or more; got {limit!r}.")
    return limit


def cutoff(now: datetime, older_than: timedelta) -> datetime:
    """``now - older_than``; for an age beyond the calendar, its earliest instant (nothing is older)."""
    try:
        return now - older_than
    except OverflowError:
        return _EARLIEST


def later(at: datetime, delta: timedelta, beyond: str) -> datetime:
    """``at + delta``; :class:`InvalidInput` saying ``beyond`` when that is past the calendar."""
    try:
        return at + delta
    except OverflowError:
        raise InvalidInput(beyond) from None
