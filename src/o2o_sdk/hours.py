"""Opening hours of a store, evaluated in the store's own IANA time zone.

The model is wall-clock time: "Fri 18:00-02:00" means from 18:00 on Friday to 02:00 on Saturday
as the store's clock reads it. The JSON form (used in storage, GeoJSON and CSV) is::

    {
      "weekly":   {"mon-fri": ["09:00-18:00"], "fri": ["09:00-12:00", "18:00-02:00"], "sun": ["00:00-24:00"]},
      "special":  {"2026-12-25": [], "2026-12-24": ["09:00-14:00"]},
      "closures": [{"from": "2026-08-01", "to": "2026-08-14", "reason": "renovation"}]
    }

Rules (documented in ``docs/locator.md``):

* An interval belongs to the day it starts on. ``HH:MM-HH:MM`` with the end at or before the start
  runs past midnight (``18:00-02:00``); ``00:00-24:00`` is a whole day; at most 24 hours.
* A special date replaces the weekly intervals that *start* on that date (``[]``: closed all day).
* A closure (inclusive date range) closes the store for every local instant in those dates,
  even the tail of an interval that started the evening before.
* An opening or closing time that does not exist (the hour skipped when clocks spring forward)
  takes effect when the clock jumps past it; one that happens twice (clocks fall back) takes
  effect at its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from .errors import InvalidInput

__all__ = ["DAYS", "Closure", "HoursStatus", "Interval", "OpeningHours", "check_instant", "zone"]

#: Day keys of the weekly schedule, Monday first (``date.weekday()`` order).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_INDEX = {d: i for i, d in enumerate(DAYS)}
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_DAY_MIN = 1440
#: Wall-clock and absolute order can disagree only this close to a time-zone transition
#: (transitions shift clocks by at most 2 hours).
_SHIFT_MARGIN = 180.0
#: How far ahead next_opening looks, and how long a store may stay open before
#: next_closing gives up (a store open around the clock has no next closing).
_OPENING_HORIZON_DAYS = 400
_CLOSING_HORIZON_DAYS = 8
_EARLIEST, _LATEST = date(2, 1, 1), date(9997, 12, 31)


def _hours_error(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_hours")


def zone(name: str | tzinfo) -> tzinfo:
    """The :class:`~zoneinfo.ZoneInfo` for an IANA name; :class:`InvalidInput` (``unknown_timezone``) if none."""
    if not isinstance(name, str):
        return name
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin).", code="unknown_timezone") from None


def _parse_time(text: str, *, end: bool) -> int:
    m = _TIME.match(text)
    if not m:
        raise _hours_error(f"{text.strip()!r} is not a time; write it as HH:MM, e.g. 09:30.")
    h, mi = int(m[1]), int(m[2])
    if end and (24 < h < 48 or (h == 24 and mi)) and mi <= 59:  # GTFS-style "30:00": 06:00 the next day
        return h * 60 + mi
    if mi > 59 or h > 24 or (h == 24 and (mi or not end)):
        raise _hours_error(f"{text.strip()!r} is not a time of day (00:00-23:59, or 24:00 as a closing time).")
    return h * 60 + mi


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@attrs.frozen(order=True)
class Interval:
    """Open from ``start`` to ``end``, in minutes after midnight of the day it starts on.

    ``end`` may exceed 1440 for an interval that runs past midnight (``18:00-02:00`` is
    ``Interval(1080, 1560)``); an interval lasts more than 0 and at most 24 hours.
    """

    start: int
    end: int

    def __attrs_post_init__(self) -> None:
        if not (0 <= self.start < _DAY_MIN and self.start < self.end <= self.start + _DAY_MIN):
            raise _hours_error(f"{self.start}-{self.end} is not an opening interval (minutes after midnight, up to 24 hours long).")

    @classmethod
    def parse(cls, text: str) -> Interval:
        """``"09:00-18:00"``, ``"18:00-02:00"`` (past midnight) or ``"00:00-24:00"`` (all day)."""
        if not isinstance(text, str) or text.count("-") != 1:
            raise _hours_error(f"{text!r} is not an interval; write it as HH:MM-HH:MM, e.g. 09:00-18:00.")
        a, b = text.split("-")
        start, end = _parse_time(a, end=False), _parse_time(b, end=True)
        if end == start or (end == _DAY_MIN and start == 0):
            if end == start:
                raise _hours_error(f"{text.strip()!r} opens and closes at the same time; write 00:00-24:00 for a whole day.")
            return cls(0, _DAY_MIN)
        if end > _DAY_MIN and not start < end <= start + _DAY_MIN:
            raise _hours_error(f"{text.strip()!r}: an end after 24:00 is the next day and an interval lasts at most 24 hours.")
        return cls(start, end if end > start else end + _DAY_MIN)

    def __str__(self) -> str:
        if self.end - self.start == _DAY_MIN and self.start:  # 24 hours from a time other than midnight
            return f"{_fmt(self.start)}-{_fmt(self.end)}"
        end = self.end if self.end == _DAY_MIN else self.end % _DAY_MIN
        return f"{_fmt(self.start)}-{'24:00' if end == _DAY_MIN else _fmt(end)}"


@attrs.frozen
class Closure:
    """A temporary closure from ``start`` to ``end`` (both dates included, store-local)."""

    start: date
    end: date
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise _hours_error(f"The closure from {self.start} to {self.end} ends before it starts.")


@attrs.frozen
class HoursStatus:
    """Whether a store is open at an instant, and when that changes (in the store's time zone).

    ``next_change`` is the next closing when open, the next opening when closed; ``None`` when
    the store stays open for more than a week or does not open within about a year.
    """

    open: bool
    next_change: datetime | None


def _intervals(value: Any, where: str) -> tuple[Interval, ...]:
    if value is None or value == "closed":
        return ()
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, Sequence):
        raise _hours_error(f"{where}: expected a list of intervals like [\"09:00-18:00\"], got {value!r}.")
    out = []
    for item in value:
        if isinstance(item, Interval):
            out.append(item)
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            out.append(Interval.parse(f"{item[0]}-{item[1]}"))
        else:
            try:
                out.append(Interval.parse(item))
            except InvalidInput as exc:
                raise _hours_error(f"{where}: {exc.message}") from None
    return tuple(sorted(out))


def _day_keys(key: str) -> list[int]:
    k = key.strip().lower()[:3] if "-" not in key else key.strip().lower()
    if k in _DAY_INDEX:
        return [_DAY_INDEX[k]]
    if "-" in k:
        a, b = (p.strip()[:3] for p in k.split("-", 1))
        if a in _DAY_INDEX and b in _DAY_INDEX:
            i, j = _DAY_INDEX[a], _DAY_INDEX[b]
            return [(i + n) % 7 for n in range((j - i) % 7 + 1)]
    raise _hours_error(f"{key!r} is not a day; use mon, tue, wed, thu, fri, sat, sun or a range like mon-fri.")


def _date(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _hours_error(f"{where}: {value!r} is not a date; use YYYY-MM-DD.") from None


def _weekly_field(value: Any) -> tuple[tuple[Interval, ...], ...]:
    if isinstance(value, Mapping):
        return OpeningHours.parse({"weekly": value}).weekly
    days = tuple(tuple(sorted(d)) for d in value)
    if len(days) != 7:
        raise _hours_error("The weekly schedule needs exactly 7 days, Monday first.")
    return days


@attrs.frozen
class OpeningHours:
    """Weekly opening hours plus special dates and temporary closures.

    Build it from the documented JSON form with :meth:`parse` (``to_dict`` gives it back)::

        OpeningHours.parse({"weekly": {"mon-fri": ["09:00-18:00"], "sat": ["10:00-16:00"]},
                            "special": {"2026-12-25": []}})

    Evaluate it in the store's time zone with :meth:`is_open`, :meth:`next_opening`,
    :meth:`next_closing` or :meth:`status`. A naive ``at`` is wall-clock time in that zone.
    """

    #: Seven tuples of intervals, Monday first; an empty tuple is a closed day.
    weekly: tuple[tuple[Interval, ...], ...] = attrs.field(default=((),) * 7, converter=_weekly_field)
    #: Dates whose intervals replace the weekly ones (an empty tuple: closed all day).
    special: dict[date, tuple[Interval, ...]] = attrs.field(factory=dict, hash=False)
    closures: tuple[Closure, ...] = ()
    # Per local weekday, the weekly spans that can cover an instant of that day, in minutes after
    # its midnight (the previous day's shifted by -1440). Built on first use by _week_spans.
    _week: tuple[tuple[tuple[int, int], ...], ...] | None = attrs.field(
        init=False, default=None, eq=False, hash=False, repr=False, order=False
    )

    # --- the JSON form
    @classmethod
    def parse(cls, data: Mapping[str, Any] | OpeningHours) -> OpeningHours:
        """Build from the JSON form; :class:`~o2o_sdk.errors.InvalidInput` (``invalid_hours``) if malformed."""
        if isinstance(data, OpeningHours):
            return data
        if not isinstance(data, Mapping):
            raise _hours_error(f"Opening hours must be an object with 'weekly', 'special' and 'closures', got {type(data).__name__}.")
        unknown = set(data) - {"weekly", "special", "closures"}
        if unknown:
            raise _hours_error(f"Unknown key(s) in opening hours: {', '.join(sorted(map(str, unknown)))}; expected weekly, special, closures.")
        weekly_in = data.get("weekly") or {}
        if not isinstance(weekly_in, Mapping):
            raise _hours_error("'weekly' must map days (mon … sun, or ranges like mon-fri) to lists of intervals.")
        weekly: list[list[Interval]] = [[] for _ in DAYS]
        for key, value in weekly_in.items():
            for i in _day_keys(str(key)):  # a day named twice (mon-fri, fri) gets both lists
                weekly[i].extend(_intervals(value, str(key)))
        special_in = data.get("special") or {}
        if not isinstance(special_in, Mapping):
            raise _hours_error("'special' must map dates (YYYY-MM-DD) to lists of intervals ([] = closed).")
        special = {_date(k, "special"): _intervals(v, str(k)) for k, v in special_in.items()}
        closures_in = data.get("closures") or []
        if not isinstance(closures_in, Sequence) or isinstance(closures_in, str):
            raise _hours_error("'closures' must be a list of {\"from\": date, \"to\": date, \"reason\": text}.")
        closures = []
        for c in closures_in:
            if not isinstance(c, Mapping) or "from" not in c:
                raise _hours_error(f"A closure needs at least 'from' (and usually 'to'): {c!r}.")
            start = _date(c["from"], "closure")
            closures.append(Closure(start, _date(c.get("to", start), "closure"), str(c.get("reason", ""))))
        return cls(tuple(tuple(sorted(d)) for d in weekly), special, tuple(closures))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (one key per open day; ``special`` and ``closures`` only when present)."""
        out: dict[str, Any] = {"weekly": {DAYS[i]: [str(iv) for iv in day] for i, day in enumerate(self.weekly) if day}}
        if self.special:
            out["special"] = {d.isoformat(): [str(iv) for iv in ivs] for d, ivs in sorted(self.special.items())}
        if self.closures:
            out["closures"] = [
                {"from": c.start.isoformat(), "to": c.end.isoformat(), **({"reason": c.reason} if c.reason else {})}
                for c in self.closures
            ]
        return out

    @classmethod
    def always_open(cls) -> OpeningHours:
        """Open around the clock, every day."""
        return cls(tuple((Interval(0, _DAY_MIN),) for _ in DAYS))

    # --- evaluation
    def is_open(self, at: datetime, tz: str | tzinfo) -> bool:
        """Whether the store is open at ``at`` (its zone is ``tz``)."""
        z = zone(tz)
        at = _aware(at, z)
        local = at.astimezone(z)
        return self._is_open(at, local, z)

    def status(self, at: datetime, tz: str | tzinfo) -> HoursStatus:
        """Open or not at ``at``, and the next change in the store's local time."""
        z = zone(tz)
        at = _aware(at, z)
        is_open, change = self._next_change(at, z)
        return HoursStatus(is_open, None if change is None else change.astimezone(z))

    def next_opening(self, at: datetime, tz: str | tzinfo) -> datetime | None:
        """The next instant after ``at`` when the store opens (local time), or ``None`` within about a year."""
        z = zone(tz)
        at = _aware(at, z)
        is_open, change = self._next_change(at, z)
        if is_open:
            if change is None:
                return None
            is_open, change = self._next_change(change, z)
        return None if change is None else change.astimezone(z)

    def next_closing(self, at: datetime, tz: str | tzinfo) -> datetime | None:
        """The next instant after ``at`` when the store closes (local time).

        ``None`` when it then stays open more than a week (open around the clock), or never opens.
        """
        z = zone(tz)
        at = _aware(at, z)
        is_open, change = self._next_change(at, z)
        if not is_open:
            if change is None:
                return None
            is_open, change = self._next_change(change, z)
        return None if change is None else change.astimezone(z)

    def on(self, day: date) -> tuple[Interval, ...]:
        """The intervals the store opens on local date ``day`` (special dates and closures
        applied; an interval may run past midnight). Empty when closed all day."""
        base = day.toordinal() * _DAY_MIN
        out = []
        for s, e in self._day_spans(day):
            if s - base < _DAY_MIN:  # a closure may leave only the part after midnight
                out.append(Interval(s - base, e - base))
        return tuple(out)

    # --- internals: wall-clock spans in minutes since day 1 of the proleptic calendar
    def _day_spans(self, day: date) -> list[tuple[int, int]]:
        ivs = self.special[day] if self.special and day in self.special else self.weekly[day.weekday()]
        if not ivs:
            return []
        base = day.toordinal() * _DAY_MIN
        spans = [(base + iv.start, base + iv.end) for iv in ivs]
        for c in self.closures:
            c0, c1 = c.start.toordinal() * _DAY_MIN, (c.end.toordinal() + 1) * _DAY_MIN
            if c1 <= base or c0 >= base + 2 * _DAY_MIN:
                continue
            clipped = []
            for s, e in spans:
                if e <= c0 or s >= c1:
                    clipped.append((s, e))
                    continue
                if s < c0:
                    clipped.append((s, c0))
                if e > c1:
                    clipped.append((c1, e))
            spans = clipped
        return spans

    def _is_open(self, at: datetime, local: datetime, z: tzinfo) -> bool:
        day = local.date()
        wall = _wall(local)
        days = [day - timedelta(days=1), day]
        if wall > (day.toordinal() + 1) * _DAY_MIN - _SHIFT_MARGIN:
            days.append(day + timedelta(days=1))
        for d in days:
            for s, e in self._day_spans(d):
                if wall - s > _SHIFT_MARGIN:
                    started = True
                elif s - wall > _SHIFT_MARGIN:
                    started = False
                else:
                    started = _instant(s, z) <= at
                if not started:
                    continue
                if e - wall > _SHIFT_MARGIN:
                    return True
                if wall - e > _SHIFT_MARGIN:
                    continue
                if at < _instant(e, z):
                    return True
        return False

    def _week_spans(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        week = self._week
        if week is None:
            week = tuple(
                tuple(
                    [(iv.start - _DAY_MIN, iv.end - _DAY_MIN) for iv in self.weekly[(w - 1) % 7] if iv.end > _DAY_MIN]
                    + [(iv.start, iv.end) for iv in self.weekly[w]]
                )
                for w in range(7)
            )
            object.__setattr__(self, "_week", week)
        return week

    def _open_on_steady_clock(self, around: tuple[date, date, date], minute: float) -> bool | None:
        """:meth:`_is_open` at ``minute`` after midnight of the local day ``around[1]``
        (``around`` is the day before, the day, the day after), given that the zone's offset does
        not change within :data:`_SHIFT_MARGIN` of the instant, so that wall-clock order is
        instant order there. ``None`` when special dates or closures touch those days: then the
        full rule decides.

        The store locator calls this for every candidate store, with the zone's steadiness and
        the local day worked out once per zone and query.
        """
        special = self.special
        if special and (around[0] in special or around[1] in special or around[2] in special):
            return None
        for c in self.closures:
            if c.start <= around[2] and c.end >= around[0]:
                return None
        for s, e in self._week_spans()[around[1].weekday()]:  # noqa: SIM110 (a loop beats any() on this hot path)
            if s <= minute < e:
                return True
        return False

    def _merged(self, first: date, days: int) -> Iterator[tuple[int, int | None]]:
        """Merged wall-clock spans starting from ``first``; an end of ``None`` runs past the horizon.

        A span still open more than :data:`_CLOSING_HORIZON_DAYS` after ``first`` ends the walk
        (its end is ``None``), so a store open around the clock costs a week, not a year.
        """
        cur: list[int] | None = None
        open_limit = (first.toordinal() + _CLOSING_HORIZON_DAYS + 1) * _DAY_MIN
        for n in range(days):
            if cur is not None and cur[1] > open_limit:
                yield cur[0], None
                return
            d = first + timedelta(days=n)
            for s, e in self._day_spans(d):
                if cur is not None and s <= cur[1]:
                    cur[1] = max(cur[1], e)
                    continue
                if cur is not None:
                    yield cur[0], cur[1]
                cur = [s, e]
            horizon = (d.toordinal() + 1) * _DAY_MIN
            if cur is not None and cur[1] < horizon:
                yield cur[0], cur[1]
                cur = None
        if cur is not None:
            yield cur[0], None

    def _next_change(self, at: datetime, z: tzinfo) -> tuple[bool, datetime | None]:
        local = at.astimezone(z)
        wall = _wall(local)
        first = local.date() - timedelta(days=1)
        closing_limit = (local.date().toordinal() + _CLOSING_HORIZON_DAYS) * _DAY_MIN
        for s, e in self._merged(first, _OPENING_HORIZON_DAYS):
            if e is not None and e < wall - _SHIFT_MARGIN:
                continue
            start = _instant(s, z)
            if start > at:
                return False, start
            if e is None or e > closing_limit:
                return True, None
            end = _instant(e, z)
            if at < end:
                return True, end
        return False, None


def _aware(at: datetime, z: tzinfo) -> datetime:
    check_instant(at)
    return at.replace(tzinfo=z) if at.tzinfo is None else at


def check_instant(at: datetime, what: str = "The time") -> datetime:
    """``at`` if hours can be evaluated at it: from year 2 to year 9997, which leaves the rules
    room to look back a day and ahead more than a year; :class:`InvalidInput` otherwise."""
    if not _EARLIEST <= at.date() <= _LATEST:
        raise InvalidInput(f"{what} {at.isoformat()} is outside the years 2 to 9997 that opening hours are evaluated in.")
    return at


def _wall(local: datetime) -> float:
    return (
        local.toordinal() * _DAY_MIN
        + local.hour * 60
        + local.minute
        + (local.second + local.microsecond / 1e6) / 60
    )


def _instant(wall_minutes: int, z: tzinfo) -> datetime:
    """The first instant at which the clock in ``z`` reads ``wall_minutes`` or later (aware, UTC)."""
    day, minutes = divmod(wall_minutes, _DAY_MIN)
    naive = datetime.fromordinal(day) + timedelta(minutes=minutes)
    first = naive.replace(tzinfo=z).astimezone(UTC)
    if first.astimezone(z).replace(tzinfo=None) == naive:
        return first
    # A wall time in a gap (clocks spring forward): the instant the clock jumps past it.
    other = naive.replace(tzinfo=z, fold=1).astimezone(UTC)
    lo, hi = min(first, other), max(first, other)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(z).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi
