"""Square business hours -> the SDK's opening hours: local times, periods past midnight, time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from o2o_square import opening_hours
from square_fake import Spec, spec

from o2o_sdk import InvalidInput, OpeningHours

__all__ = ["spec"]  # fixture used by name


def period(day: str, start: str, end: str) -> dict[str, str]:
    return {"day_of_week": day, "start_local_time": start, "end_local_time": end}


def test_the_documents_example_hours(spec: Spec) -> None:
    periods = spec.example("UpdateLocationResponse")["location"]["business_hours"]["periods"]
    hours = opening_hours(periods)
    assert hours is not None
    assert hours.to_dict() == {"weekly": {"fri": ["07:00-18:00"], "sat": ["07:00-18:00"], "sun": ["09:00-15:00"]}}


def test_seconds_and_single_digit_hours_are_read() -> None:
    hours = opening_hours([period("MON", "8:30:00", "17:45:00"), period("TUE", "09:00", "24:00:00")])
    assert hours is not None and hours.to_dict()["weekly"] == {"mon": ["08:30-17:45"], "tue": ["09:00-24:00"]}


def test_a_period_past_midnight_belongs_to_the_day_it_starts() -> None:
    hours = opening_hours([period("FRI", "18:00:00", "02:00:00")])
    assert hours is not None and hours.to_dict()["weekly"] == {"fri": ["18:00-02:00"]}
    zone = "Europe/London"
    assert hours.is_open(datetime(2026, 6, 19, 23, 30), zone)  # Friday night
    assert hours.is_open(datetime(2026, 6, 20, 1, 59), zone)  # early Saturday: still Friday's period
    assert not hours.is_open(datetime(2026, 6, 20, 2, 0), zone)
    assert not hours.is_open(datetime(2026, 6, 20, 23, 30), zone)  # Saturday night: no period
    assert not hours.is_open(datetime(2026, 6, 19, 1, 0), zone)  # Thursday's night is not Friday's


def test_saturday_night_runs_into_sunday() -> None:
    hours = opening_hours([period("SAT", "22:00:00", "03:00:00")])
    assert hours is not None
    assert hours.is_open(datetime(2026, 6, 21, 2, 30), "UTC")  # Sunday 02:30
    assert not hours.is_open(datetime(2026, 6, 21, 3, 30), "UTC")


def test_same_start_and_end_is_around_the_clock() -> None:
    hours = opening_hours([period("WED", "00:00:00", "00:00:00"), period("THU", "06:00:00", "06:00:00")])
    assert hours is not None
    assert hours.to_dict()["weekly"] == {"wed": ["00:00-24:00"], "thu": ["06:00-24:00"], "fri": ["00:00-06:00"]}
    assert OpeningHours.parse(hours.to_dict()) == hours  # stored and read back unchanged
    assert hours.is_open(datetime(2026, 6, 18, 6, 0), "UTC")  # Thursday 06:00
    assert hours.is_open(datetime(2026, 6, 19, 5, 59), "UTC")  # Friday 05:59: Thursday's 24 hours
    assert not hours.is_open(datetime(2026, 6, 19, 6, 0), "UTC")
    assert not hours.is_open(datetime(2026, 6, 18, 5, 59), "UTC")


def test_hours_are_wall_clock_time_in_each_locations_zone() -> None:
    hours = opening_hours([period(d, "09:00:00", "17:00:00") for d in ("MON", "TUE", "WED", "THU", "FRI")])
    assert hours is not None
    instant = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)  # Monday 14:00 UTC
    assert hours.is_open(instant, "America/New_York")  # 10:00 there
    assert hours.is_open(instant, "Europe/Berlin")  # 16:00
    assert not hours.is_open(instant, "Asia/Tokyo")  # 23:00
    assert not hours.is_open(instant, "America/Los_Angeles")  # 07:00


def test_daylight_saving_time_moves_the_absolute_opening() -> None:
    hours = opening_hours([period("MON", "09:00:00", "17:00:00")])
    assert hours is not None
    zone = "America/Los_Angeles"
    assert hours.is_open(datetime(2026, 6, 15, 16, 30, tzinfo=UTC), zone)  # 09:30 PDT
    assert not hours.is_open(datetime(2026, 1, 12, 16, 30, tzinfo=UTC), zone)  # 08:30 PST
    assert hours.next_opening(datetime(2026, 1, 12, 16, 30, tzinfo=UTC), zone) == datetime(2026, 1, 12, 17, 0, tzinfo=UTC)


def test_several_periods_a_day_and_repeats() -> None:
    hours = opening_hours([period("SUN", "14:00:00", "18:00:00"), period("SUN", "08:00:00", "12:00:00"),
                           period("SUN", "08:00:00", "12:00:00")])  # fmt: skip
    assert hours is not None and hours.to_dict()["weekly"] == {"sun": ["08:00-12:00", "14:00-18:00"]}
    assert isinstance(hours, OpeningHours)


def test_no_periods_means_unknown_hours() -> None:
    assert opening_hours(None) is None
    assert opening_hours([]) is None


@pytest.mark.parametrize("bad", [
    period("FUNDAY", "09:00:00", "17:00:00"), period("MON", "25:00:00", "26:00:00"), period("MON", "09:60:00", "17:00:00"),
    period("MON", "9h", "17:00:00"), period("MON", "24:00:00", "02:00:00"), period("MON", "09:00:00", "24:30:00"),
    {"day_of_week": "MON", "start_local_time": "09:00:00"}, "MON 09-17",
])  # fmt: skip
def test_unreadable_periods_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        opening_hours([bad])  # type: ignore[list-item]
    assert caught.value.code == "invalid_hours"
