"""Time sources. The SDK never calls ``datetime.now()`` directly: it asks its clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FrozenClock", "SystemClock", "utcnow"]


class Clock(Protocol):
    """Anything with a ``now()`` returning an aware UTC datetime.

    A clock may also offer ``timestamp() -> float`` (unix seconds); hot paths such as token
    verification use it when present.
    """

    def now(self) -> datetime: ...


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        """Unix seconds, without building a datetime."""
        return time.time()


class FrozenClock:
    """A clock that only moves when told to (tests, demos, replays)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def timestamp(self) -> float:
        """Unix seconds of the frozen instant."""
        return self._at.timestamp()

    def set(self, at: datetime) -> None:
        """Jump to ``at``."""
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` (or ``timedelta(**kwargs)``) and return the new time."""
        self._at += delta if delta is not None else timedelta(**kwargs)
        return self._at
