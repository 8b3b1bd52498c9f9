"""The weekday forecast: same time in earlier weeks, closed days skipped, DST respected."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from anyplace.power.forecast import LoadSample, forecast_peak
from tests.power.conftest import CPH, local

MONDAY_0800 = local(2026, 11, 30, 8, 0)


def mornings(peaks: list[int], *, at: datetime = MONDAY_0800) -> list[LoadSample]:
    """One sample every 5 minutes from 07:30 to 09:00 for each earlier Monday, peak at 08:30."""
    samples = []
    wall = at.astimezone(CPH).replace(tzinfo=None)
    for week, peak in enumerate(peaks, start=1):
        day = wall - timedelta(weeks=week)
        for step in range(19):
            when = day - timedelta(minutes=30) + timedelta(minutes=5 * step)
            sessions = peak if when.strftime("%H:%M") == "08:30" else peak // 2
            samples.append(LoadSample(when.replace(tzinfo=CPH), sessions))
    return sorted(samples)


def never_closed(_: date) -> bool:
    return False


def test_the_peak_in_the_window_of_earlier_weeks() -> None:
    history = mornings([400, 420, 380, 410])
    ahead = forecast_peak(
        history, start=MONDAY_0800, horizon=timedelta(minutes=40), zone=CPH, is_closed=never_closed
    )
    assert ahead == 410  # 75th percentile of 380, 400, 410, 420
    before = forecast_peak(
        history, start=MONDAY_0800, horizon=timedelta(minutes=20), zone=CPH, is_closed=never_closed
    )
    assert before == 205, "08:30's peak is outside an 08:00-08:20 window"


def test_closed_days_are_skipped_and_forecast_nothing() -> None:
    history = mornings([400, 50, 380, 410])
    closed_week = (MONDAY_0800 - timedelta(weeks=2)).astimezone(CPH).date()
    ahead = forecast_peak(
        history,
        start=MONDAY_0800,
        horizon=timedelta(minutes=40),
        zone=CPH,
        is_closed=lambda day: day == closed_week,
    )
    assert ahead == 410  # 75th percentile of 380, 400, 410 (with the closed week's 50: 400)
    assert (
        forecast_peak(
            history,
            start=MONDAY_0800,
            horizon=timedelta(minutes=40),
            zone=CPH,
            is_closed=lambda day: day == MONDAY_0800.astimezone(CPH).date(),
        )
        == 0
    )


def test_weeks_across_daylight_saving_match_wall_clock_time() -> None:
    # Monday 30 March 2026 is the first Monday of summer time; a week earlier was winter time.
    monday = local(2026, 3, 30, 8, 0)
    history = mornings([300], at=monday)
    assert history[0].at.astimezone(CPH).strftime("%H:%M") == "07:30"
    ahead = forecast_peak(
        history, start=monday, horizon=timedelta(minutes=40), zone=CPH, is_closed=never_closed
    )
    assert ahead == 300


def test_no_history_means_no_forecast() -> None:
    assert (
        forecast_peak(
            [], start=MONDAY_0800, horizon=timedelta(hours=1), zone=CPH, is_closed=never_closed
        )
        == 0
    )
