"""Send-time policy that needs no database: quiet hours in the recipient's zone, caps, backoff.

Quiet hours are wall-clock times in the recipient's IANA zone. The end of a quiet period is
found on the local calendar and converted with :mod:`zoneinfo`, so it is right on both sides
of a daylight-saving change: 08:00 local is 12:00 UTC in New York in summer and 13:00 UTC in
winter. A wall time that does not exist (inside the spring-forward gap) moves to the first
instant after the gap; one that exists twice (the autumn fold) means its first occurrence.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["backoff", "cap_release", "local_instant", "quiet_until", "zone"]


def zone(name: str, default: str = "UTC") -> ZoneInfo:
    """The zone called ``name``; ``default`` when it is unknown (a contact's bad data must not stop sends)."""
    try:
        return ZoneInfo(name)
    except Exception:
        return ZoneInfo(default)


def local_instant(day: datetime, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant at which ``tz`` shows ``wall`` on the local date of ``day``.

    In a gap the wall time never shows; the result is the end of the gap (the first instant
    whose local time is later than ``wall``). In a fold the first occurrence wins.
    """
    naive = datetime.combine(day.date(), wall)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # A gap: fold=1 maps before the gap, fold=0 after it; find the jump between them.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = first
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)  # transitions fall on whole seconds: still after the jump


def quiet_until(now: datetime, tz: ZoneInfo, quiet: tuple[time, time] | None) -> datetime | None:
    """If ``now`` falls in the quiet hours ``(start, end)`` in ``tz``, the instant they end; else ``None``."""
    if quiet is None:
        return None
    start, end = quiet
    if start == end:
        return None
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 12:00-14:00 on the same day
        inside = start <= t < end
        end_day = local
    else:  # across midnight, e.g. 21:00-08:00
        inside = t >= start or t < end
        end_day = local + timedelta(days=1) if t >= start else local
    if not inside:
        return None
    until = local_instant(end_day.replace(tzinfo=None), end, tz)
    return until if until > now else now


def cap_release(sent: Sequence[datetime], now: datetime, per_day: int | None, per_week: int | None) -> datetime | None:
    """``None`` if one more send is within the caps, else when it will be (rolling windows).

    ``sent``: the customer's non-transactional send times in the last 7 days, oldest first.
    """
    release: datetime | None = None
    for cap, window in ((per_day, timedelta(days=1)), (per_week, timedelta(days=7))):
        if cap is None:
            continue
        in_window = [t for t in sent if t > now - window]
        if len(in_window) >= cap:
            # The window frees when enough of its oldest sends have aged out.
            free_at = in_window[len(in_window) - cap] + window
            release = free_at if release is None else max(release, free_at)
    return release


def backoff(attempt: int, base: timedelta, cap: timedelta, rng: random.Random, retry_after: float | None = None) -> timedelta:
    """Delay before attempt ``attempt + 1``: base x 2^(attempt-1) capped, half fixed and half
    random (so that a burst of failures does not retry in lockstep); at least ``retry_after``."""
    delay = min(cap.total_seconds(), base.total_seconds() * (2 ** max(attempt - 1, 0)))
    jittered = delay / 2 + rng.uniform(0, delay / 2)
    if retry_after is not None:
        jittered = max(jittered, min(float(retry_after), cap.total_seconds()))
    return timedelta(seconds=jittered)
