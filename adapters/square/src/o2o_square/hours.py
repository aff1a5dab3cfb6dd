"""A Square location's ``business_hours`` as the SDK's :class:`~o2o_sdk.OpeningHours`.

Square gives weekly periods in the location's local time: ``{"day_of_week": "FRI",
"start_local_time": "18:00:00", "end_local_time": "02:00:00"}``. Times may lack seconds
(``"07:00"``) or a leading zero (``"8:30:00"``). A period whose end is at or before its start
runs past midnight into the next day, as the SDK's intervals do; a period that starts and ends
at the same time lasts 24 hours (from midnight: the whole day; from another time: the rest of the
day plus the next morning up to that time). The SDK evaluates the result in the store's own time zone (the
location's ``timezone``), so daylight-saving changes are the time zone's business, not ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from o2o_sdk import Interval, InvalidInput, OpeningHours

__all__ = ["SQUARE_DAYS", "opening_hours"]

#: Square's day names, Monday first (the SDK's weekly order).
SQUARE_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_DAY = {d: i for i, d in enumerate(SQUARE_DAYS)}
_TIME = re.compile(r"\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*")
_DAY_MINUTES = 1440


def _minutes(value: object, where: str, *, end: bool) -> int:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(f"Square business hours: {where} time {value!r} is not a local time like 09:00:00.", code="invalid_hours")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or (match[3] is not None and int(match[3]) > 59) or hours > 24 or (hours == 24 and (minutes or not end)):
        raise InvalidInput(f"Square business hours: {where} time {value!r} is not a time of day.", code="invalid_hours")
    return hours * 60 + minutes  # seconds are always :00 at Square; a stray second is dropped


def _intervals(period: Mapping[str, Any]) -> list[tuple[int, Interval]]:
    day = period.get("day_of_week")
    if day not in _DAY:
        raise InvalidInput(f"Square business hours: {day!r} is not a day of the week (SUN … SAT).", code="invalid_hours")
    start = _minutes(period.get("start_local_time"), f"{day} start", end=False)
    end = _minutes(period.get("end_local_time"), f"{day} end", end=True)
    index = _DAY[day]
    if end == start and start > 0:
        # 24 hours from a time other than midnight: the rest of the day, then the next morning
        # (one interval of that shape has no text form in the SDK's hours, "06:00-06:00")
        return [(index, Interval(start, _DAY_MINUTES)), ((index + 1) % 7, Interval(0, start))]
    if end <= start:  # past midnight; 00:00 to 00:00: the whole day
        end += _DAY_MINUTES
    return [(index, Interval(start, end))]


def opening_hours(periods: Iterable[Mapping[str, Any]] | None) -> OpeningHours | None:
    """The weekly hours of Square ``business_hours.periods``; ``None`` when there are none.

    Raises :class:`~o2o_sdk.InvalidInput` (``invalid_hours``) for a period with an unknown day
    or an unreadable time.
    """
    if not periods:
        return None
    weekly: list[list[Interval]] = [[] for _ in SQUARE_DAYS]
    for period in periods:
        if not isinstance(period, Mapping):
            raise InvalidInput(f"Square business hours: {period!r} is not a period.", code="invalid_hours")
        for day, interval in _intervals(period):
            if interval not in weekly[day]:
                weekly[day].append(interval)
    return OpeningHours(tuple(tuple(sorted(d)) for d in weekly))
