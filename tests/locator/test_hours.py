"""Opening hours, evaluated in the store's own time zone."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from o2o_sdk import InvalidInput, OpeningHours, Store, make_converter
from o2o_sdk.hours import Interval

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")


def local(text: str, tz: ZoneInfo = BERLIN, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz, fold=fold)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def in_utc(at: datetime | None) -> datetime | None:
    """Compare instants in UTC: an ambiguous local time never equals a time in another zone (PEP 495)."""
    return None if at is None else at.astimezone(UTC)


def test_friday_night_interval_is_open_after_midnight_on_saturday() -> None:
    hours = OpeningHours.parse({"weekly": {"fri": ["18:00-02:00"]}})
    # 2026-06-19 is a Friday.
    assert hours.is_open(local("2026-06-19T23:00"), BERLIN)
    assert hours.is_open(local("2026-06-20T01:30"), BERLIN)
    assert not hours.is_open(local("2026-06-20T02:00"), BERLIN)
    assert not hours.is_open(local("2026-06-19T17:59"), BERLIN)
    assert hours.next_closing(local("2026-06-19T23:00"), BERLIN) == local("2026-06-20T02:00")
    assert hours.next_opening(local("2026-06-20T01:30"), BERLIN) == local("2026-06-26T18:00")


def test_sunday_night_interval_crosses_the_week_boundary() -> None:
    hours = OpeningHours.parse({"weekly": {"sun": ["22:00-02:00"]}})
    # 2026-06-21 is a Sunday, 2026-06-22 the Monday after it.
    assert hours.is_open(local("2026-06-22T01:00"), BERLIN)
    assert not hours.is_open(local("2026-06-22T02:00"), BERLIN)
    assert hours.next_opening(local("2026-06-22T03:00"), BERLIN) == local("2026-06-28T22:00")
    assert hours.status(local("2026-06-21T21:00"), BERLIN).next_change == local("2026-06-21T22:00")


def test_opening_time_skipped_by_spring_forward_opens_when_the_clock_jumps() -> None:
    # Berlin, Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC); 02:30 never happens.
    hours = OpeningHours.parse({"weekly": {"sun": ["02:30-10:00"]}})
    assert not hours.is_open(utc("2026-03-29T00:59:59"), BERLIN)
    assert hours.is_open(utc("2026-03-29T01:00:00"), BERLIN)
    opening = hours.next_opening(local("2026-03-28T12:00"), BERLIN)
    assert opening == utc("2026-03-29T01:00")
    assert opening is not None and opening.utcoffset() == timedelta(hours=2)
    assert hours.next_closing(utc("2026-03-29T02:00"), BERLIN) == utc("2026-03-29T08:00")


def test_overnight_shift_on_spring_forward_night_is_an_hour_shorter() -> None:
    hours = OpeningHours.parse({"weekly": {"sat": ["22:00-06:00"]}})
    opens = hours.next_opening(local("2026-03-28T12:00"), BERLIN)
    closes = hours.next_closing(local("2026-03-28T23:00"), BERLIN)
    assert opens is not None and closes is not None
    assert closes.astimezone(UTC) - opens.astimezone(UTC) == timedelta(hours=7)
    assert hours.is_open(utc("2026-03-29T03:59"), BERLIN)
    assert not hours.is_open(utc("2026-03-29T04:00"), BERLIN)


def test_fall_back_closing_time_takes_effect_at_its_first_occurrence() -> None:
    # Berlin, Sunday 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:00-03:00 happens twice.
    hours = OpeningHours.parse({"weekly": {"sat": ["22:00-02:30"]}})
    assert in_utc(hours.next_closing(local("2026-10-24T23:00"), BERLIN)) == utc("2026-10-25T00:30")
    assert hours.is_open(utc("2026-10-25T00:29"), BERLIN)
    assert not hours.is_open(utc("2026-10-25T00:45"), BERLIN)  # 02:45 CEST
    # 02:15 CET, the second time the clock reads 02:15: the store closed at the first 02:30.
    assert not hours.is_open(local("2026-10-25T02:15", fold=1), BERLIN)


def test_overnight_shift_on_fall_back_night_is_an_hour_longer() -> None:
    hours = OpeningHours.parse({"weekly": {"sat": ["22:00-04:00"]}})
    opens = hours.next_opening(local("2026-10-24T12:00"), BERLIN)
    closes = hours.next_closing(local("2026-10-24T23:00"), BERLIN)
    assert opens is not None and closes is not None
    assert closes.astimezone(UTC) - opens.astimezone(UTC) == timedelta(hours=7)
    assert hours.is_open(local("2026-10-25T02:15", fold=1), BERLIN)


def test_new_york_dst_days() -> None:
    hours = OpeningHours.parse({"weekly": {"sun": ["01:00-04:00"]}})
    # 2026-03-08: 02:00 EST -> 03:00 EDT. Open 01:00 EST (06:00 UTC) to 04:00 EDT (08:00 UTC).
    assert hours.next_closing(local("2026-03-08T01:30", NY), NY) == utc("2026-03-08T08:00")
    # 2026-11-01: 02:00 EDT -> 01:00 EST. Open 01:00 EDT (05:00 UTC) to 04:00 EST (09:00 UTC).
    opens = hours.next_opening(local("2026-10-31T12:00", NY), NY)
    assert in_utc(opens) == utc("2026-11-01T05:00")
    assert hours.next_closing(utc("2026-11-01T05:30"), NY) == utc("2026-11-01T09:00")


def test_special_dates_override_the_week() -> None:
    hours = OpeningHours.parse({
        "weekly": {"mon-sat": ["09:00-18:00"]},
        "special": {"2026-12-24": ["09:00-14:00"], "2026-12-25": [], "2026-12-27": ["12:00-16:00"]},
    })
    assert hours.is_open(local("2026-12-24T13:00"), BERLIN)
    assert not hours.is_open(local("2026-12-24T15:00"), BERLIN)  # a Thursday, normally open
    assert not hours.is_open(local("2026-12-25T10:00"), BERLIN)  # Christmas, a Friday
    assert hours.next_opening(local("2026-12-24T15:00"), BERLIN) == local("2026-12-26T09:00")
    assert hours.is_open(local("2026-12-27T13:00"), BERLIN)  # a Sunday, normally closed


def test_special_date_replaces_only_intervals_starting_that_day() -> None:
    hours = OpeningHours.parse({"weekly": {"thu": ["18:00-02:00"]}, "special": {"2026-12-25": []}})
    assert hours.is_open(local("2026-12-25T01:00"), BERLIN)  # the tail of Thursday's evening


def test_temporary_closure_closes_whole_days_and_clips_the_night_before() -> None:
    hours = OpeningHours.parse({
        "weekly": {"mon-fri": ["09:00-17:00"], "fri": ["18:00-02:00"]},
        "closures": [{"from": "2026-08-01", "to": "2026-08-04", "reason": "renovation"}],
    })
    # Friday 2026-07-31: open in the evening, but the closure starts at Saturday 00:00.
    assert hours.next_closing(local("2026-07-31T20:00"), BERLIN) == local("2026-08-01T00:00")
    assert not hours.is_open(local("2026-08-01T01:00"), BERLIN)
    assert not hours.is_open(local("2026-08-03T10:00"), BERLIN)  # a Monday inside the closure
    assert hours.next_opening(local("2026-08-01T01:00"), BERLIN) == local("2026-08-05T09:00")


def test_store_in_another_time_zone_than_the_caller() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    hours = OpeningHours.parse({"weekly": {"mon-fri": ["09:00-18:00"]}})
    # Monday 20:00 in New York is Tuesday 09:00 in Tokyo.
    caller = local("2026-06-15T20:00", NY)
    assert hours.is_open(caller, tokyo)
    assert not hours.is_open(caller - timedelta(minutes=1), tokyo)
    assert hours.next_closing(caller, "Asia/Tokyo") == local("2026-06-16T18:00", tokyo)
    # A naive time is wall-clock time in the store's zone.
    assert hours.is_open(datetime(2026, 6, 16, 9, 0), "Asia/Tokyo")
    assert not hours.is_open(datetime(2026, 6, 16, 8, 59), "Asia/Tokyo")


def test_24_hour_stores() -> None:
    always = OpeningHours.always_open()
    at = local("2026-03-29T02:30")
    assert always.is_open(at, BERLIN)
    assert always.next_closing(at, BERLIN) is None
    assert always.status(at, BERLIN).next_change is None
    two_days = OpeningHours.parse({"weekly": {"mon-tue": ["00:00-24:00"]}})
    assert two_days.next_closing(local("2026-06-15T10:00"), BERLIN) == local("2026-06-17T00:00")
    assert two_days.next_opening(local("2026-06-17T10:00"), BERLIN) == local("2026-06-22T00:00")


def test_no_intervals_means_closed_and_never_opens() -> None:
    hours = OpeningHours()
    assert not hours.is_open(local("2026-06-15T10:00"), BERLIN)
    assert hours.next_opening(local("2026-06-15T10:00"), BERLIN) is None


def test_several_intervals_per_day_and_the_json_form_round_trips() -> None:
    data = {
        "weekly": {"mon": ["09:00-12:00", "13:00-18:00"], "sat": ["00:00-24:00"], "sun": ["22:00-02:00"]},
        "special": {"2026-12-25": []},
        "closures": [{"from": "2026-08-01", "to": "2026-08-14", "reason": "renovation"}],
    }
    hours = OpeningHours.parse(data)
    assert hours.to_dict() == data
    assert not hours.is_open(local("2026-06-15T12:30"), BERLIN)
    assert hours.next_opening(local("2026-06-15T12:30"), BERLIN) == local("2026-06-15T13:00")
    assert hours.weekly[0] == (Interval(540, 720), Interval(780, 1080))
    conv = make_converter()
    store = Store("s", "S", "Europe/Berlin", 52.5, 13.4, hours=hours)
    assert conv.structure(conv.unstructure(store), Store) == store


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"weekly": {"mon": ["25:00-26:00"]}}, "not a time of day"),
        ({"weekly": {"mon": ["9-18"]}}, "HH:MM"),
        ({"weekly": {"mon": ["09:00-09:00"]}}, "00:00-24:00"),
        ({"weekly": {"funday": ["09:00-18:00"]}}, "not a day"),
        ({"weekly": {"mon": "nine to five"}}, "interval"),
        ({"special": {"2026-13-01": []}}, "not a date"),
        ({"closures": [{"from": "2026-08-10", "to": "2026-08-01"}]}, "ends before it starts"),
        ({"weekly": {}, "holidays": {}}, "Unknown key"),
        (["09:00-18:00"], "must be an object"),
    ],
)
def test_malformed_hours_are_a_typed_error_with_a_clear_message(data: object, fragment: str) -> None:
    with pytest.raises(InvalidInput) as info:
        OpeningHours.parse(data)  # type: ignore[arg-type]
    assert info.value.code == "invalid_hours"
    assert fragment in info.value.message


def test_unknown_time_zone_is_a_typed_error() -> None:
    with pytest.raises(InvalidInput) as info:
        OpeningHours.always_open().is_open(datetime(2026, 1, 1, tzinfo=UTC), "Mars/Olympus_Mons")
    assert info.value.code == "unknown_timezone"


def test_a_24_hour_span_from_a_time_other_than_midnight_round_trips() -> None:
    hours = OpeningHours(((Interval(360, 1800),),) + ((),) * 6)
    assert hours.to_dict() == {"weekly": {"mon": ["06:00-30:00"]}}
    assert OpeningHours.parse(hours.to_dict()) == hours
    with pytest.raises(InvalidInput):
        OpeningHours.parse({"weekly": {"mon": ["06:00-31:00"]}})
    # From a quarter past midnight: "24:15" is 00:15 the next day (it used to be refused).
    quarter = OpeningHours(((Interval(15, 1455),),) + ((),) * 6)
    assert quarter.to_dict() == {"weekly": {"mon": ["00:15-24:15"]}}
    assert OpeningHours.parse(quarter.to_dict()) == quarter
    with pytest.raises(InvalidInput):
        OpeningHours.parse({"weekly": {"mon": ["00:15-24:16"]}})


def _random_hours(rnd: random.Random) -> OpeningHours:
    weekly: dict[str, list[str]] = {}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        spans = []
        for _ in range(rnd.choice((0, 1, 1, 2, 3))):
            start = rnd.randrange(0, 24 * 4) * 15
            length = rnd.choice((30, 90, 240, 480, 720, 1440)) if rnd.random() < 0.8 else rnd.randrange(1, 1441)
            end = start + length if length == 1440 and start else (start + length) % 1440 or 1440
            spans.append(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
        weekly[day] = spans
    data: dict[str, object] = {"weekly": weekly}
    if rnd.random() < 0.3:
        first = date(2026, 1, 1) + timedelta(days=rnd.randrange(365))
        data["special"] = {(first + timedelta(days=n)).isoformat(): ["10:00-14:00"] if n % 2 else [] for n in range(3)}
    if rnd.random() < 0.3:
        first = date(2026, 1, 1) + timedelta(days=rnd.randrange(365))
        data["closures"] = [{"from": first.isoformat(), "to": (first + timedelta(days=rnd.randrange(4))).isoformat()}]
    return OpeningHours.parse(data)


def _transitions(tz: ZoneInfo) -> list[datetime]:
    """The instants in 2026 where the zone's offset changes (to the hour)."""
    out, at = [], datetime(2026, 1, 1, tzinfo=UTC)
    while at.year == 2026:
        if (at + timedelta(hours=1)).astimezone(tz).utcoffset() != at.astimezone(tz).utcoffset():
            out.append(at + timedelta(hours=1))
        at += timedelta(hours=1)
    return out


def test_the_locators_precompiled_week_agrees_with_the_full_rule() -> None:
    """The store locator's open-at filter decides most stores from a precompiled weekly table
    (the zone's offset steady around the instant, no special date or closure near); it must say
    exactly what ``is_open`` says, at random instants and at minutes around clock changes."""
    from o2o_sdk.locator._search import _HoursCheck

    rnd = random.Random(20261206)
    zones = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo", "America/Santiago", "UTC"]
    changes = {name: _transitions(ZoneInfo(name)) for name in zones}
    compared = fast = 0
    for n in range(400):
        hours = _random_hours(rnd)
        name = zones[n % len(zones)]
        store = Store(f"s{n}", "s", name, 0.0, 0.0, hours=hours)
        instants = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rnd.randrange(365 * 1440)) for _ in range(20)]
        for change in changes[name]:
            instants += [change + timedelta(minutes=rnd.randrange(-300, 300)) for _ in range(6)]
        instants += [
            special_at.replace(tzinfo=UTC)
            for special_at in (
                datetime.combine(d, datetime.min.time()) + timedelta(minutes=rnd.randrange(-600, 2000))
                for d in hours.special
            )
        ]
        for at in instants:
            want = hours.is_open(at, name)
            check = _HoursCheck(at, None)
            assert check(store) is want, (hours.to_dict(), name, at)
            _, _, _, around, minute = check._zones[name]
            fast += around is not None and hours._open_on_steady_clock(around, minute) is not None
            naive = at.astimezone(ZoneInfo(name)).replace(tzinfo=None)
            assert _HoursCheck(naive, None)(store) is hours.is_open(naive, name), (hours.to_dict(), name, naive)
            compared += 1
    assert compared > 10_000
    assert fast > compared * 0.7  # the table really decides most of them
