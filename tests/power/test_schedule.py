"""Phases by weekday, time zone, daylight saving, holidays, closed and open days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from anyplace.domain import Phase
from anyplace.power.schedule import PhaseRule, Schedule
from tests.power.conftest import WEEKDAYS, local, office_hours


def test_weekday_phases_follow_the_wall_clock() -> None:
    schedule = office_hours()
    # Monday 30 November 2026 (winter, UTC+1).
    assert schedule.phase_at(local(2026, 11, 30, 6, 29)).phase is Phase.OFF_PEAK
    assert schedule.phase_at(local(2026, 11, 30, 6, 30)).phase is Phase.RAMP_UP
    assert schedule.phase_at(local(2026, 11, 30, 12, 0)).phase is Phase.PEAK
    assert schedule.phase_at(local(2026, 11, 30, 17, 0)).phase is Phase.RAMP_DOWN
    assert schedule.phase_at(local(2026, 11, 30, 23, 0)).phase is Phase.OFF_PEAK


def test_the_same_wall_clock_time_in_summer_and_winter() -> None:
    schedule = office_hours()
    winter = schedule.phase_at(local(2026, 1, 12, 7, 0))
    summer = schedule.phase_at(local(2026, 6, 15, 7, 0))
    assert winter.phase is summer.phase is Phase.RAMP_UP
    assert winter.since == datetime(2026, 1, 12, 5, 30, tzinfo=UTC)
    assert summer.since == datetime(2026, 6, 15, 4, 30, tzinfo=UTC)


def test_phases_across_the_daylight_saving_changes() -> None:
    # 29 March 2026: clocks go 02:00 -> 03:00. A 02:30 start begins when the clock jumps.
    schedule = Schedule(
        "Europe/Copenhagen",
        (
            PhaseRule(frozenset(range(1, 8)), Phase.PEAK, time(2, 30), min_hosts=3),
            PhaseRule(frozenset(range(1, 8)), Phase.OFF_PEAK, time(4, 0)),
        ),
        holidays_country=None,
    )
    spring = schedule.phase_at(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 03:00 CEST
    assert spring.phase is Phase.PEAK
    assert spring.since == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert spring.until == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)  # 04:00 CEST
    # 25 October 2026: 02:30 happens twice; the phase starts at the first.
    before = schedule.phase_at(datetime(2026, 10, 25, 0, 0, tzinfo=UTC))  # 02:00 CEST
    assert before.phase is Phase.OFF_PEAK
    first = schedule.phase_at(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))  # 02:30 CEST
    assert first.phase is Phase.PEAK
    assert first.until == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)  # 04:00 CET
    # The peak lasts 2.5 hours that night: 02:30 CEST to 04:00 CET.
    assert first.until is not None
    assert first.since is not None
    assert first.until - first.since == timedelta(hours=2, minutes=30)


def test_friday_off_peak_runs_through_the_weekend_without_phases() -> None:
    schedule = Schedule(
        "Europe/Copenhagen", tuple(r for r in office_hours().rules if r.weekdays == WEEKDAYS)
    )
    saturday = schedule.phase_at(local(2026, 12, 5, 12, 0))
    assert saturday.phase is Phase.OFF_PEAK
    assert saturday.since == local(2026, 12, 4, 19, 0)
    assert saturday.until == local(2026, 12, 7, 6, 30)


def test_danish_public_holidays_are_off_peak_all_day() -> None:
    schedule = office_hours()
    for day in (date(2026, 4, 2), date(2026, 4, 3), date(2026, 5, 14), date(2026, 12, 25)):
        active = schedule.phase_at(local(day.year, day.month, day.day, 10, 0))
        assert active.phase is Phase.OFF_PEAK, day
        assert active.holiday is not None
        assert active.rule.minimum(64) == 0, "a holiday takes the weekend's minimum"
    # Store Bededag was abolished from 2024: an ordinary Friday.
    assert schedule.phase_at(local(2026, 5, 1, 10, 0)).phase is Phase.PEAK


def test_the_day_after_a_holiday_starts_from_off_peak() -> None:
    schedule = office_hours()
    # Easter Monday 6 April 2026; Tuesday 05:00 is still the holiday's off-peak.
    tuesday = schedule.phase_at(local(2026, 4, 7, 5, 0))
    assert tuesday.phase is Phase.OFF_PEAK
    assert tuesday.holiday is not None
    assert schedule.phase_at(local(2026, 4, 7, 7, 0)).phase is Phase.RAMP_UP


def test_closed_and_open_days() -> None:
    christmas_eve, constitution_day = date(2026, 12, 24), date(2026, 6, 5)
    schedule = office_hours(closed_days=frozenset({christmas_eve}))
    assert schedule.phase_at(local(2026, 12, 24, 10, 0)).phase is Phase.OFF_PEAK
    assert schedule.phase_at(local(2026, 6, 5, 10, 0)).phase is Phase.PEAK
    ascension = date(2026, 5, 14)
    opened = office_hours(open_days=frozenset({ascension, constitution_day}))
    assert opened.phase_at(local(2026, 5, 14, 10, 0)).phase is Phase.PEAK
    no_holidays = office_hours(holidays_country=None)
    assert no_holidays.phase_at(local(2026, 12, 25, 10, 0)).phase is Phase.PEAK


def test_minimum_ahead_sees_the_next_phase_within_the_window() -> None:
    schedule = office_hours()
    at_0620 = local(2026, 11, 30, 6, 20)
    # Monday before ramp-up is still Sunday's off-peak (minimum 0).
    assert schedule.phase_at(at_0620).rule.minimum(64) == 0
    assert schedule.minimum_between(at_0620, at_0620 + timedelta(minutes=5), 64) == 0
    assert schedule.minimum_between(at_0620, at_0620 + timedelta(minutes=15), 64) == 13


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2027, 12, 31),
        timezones=st.just(UTC),
    )
)
def test_every_instant_has_exactly_one_phase_that_contains_it(when: datetime) -> None:
    schedule = office_hours(closed_days=frozenset({date(2026, 12, 24)}))
    active = schedule.phase_at(when)
    assert active.since is not None
    assert active.since <= when
    assert active.until is not None
    assert when < active.until
    assert schedule.phase_at(active.since).rule == active.rule
