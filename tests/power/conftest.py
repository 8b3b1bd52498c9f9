"""Schedules shaped like the demo municipality's, for the power tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from anyplace.domain import Phase
from anyplace.power.schedule import PhaseRule, Schedule

CPH = ZoneInfo("Europe/Copenhagen")
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
WEEKEND = frozenset({6, 7})


def office_hours(**overrides: object) -> Schedule:
    """Weekdays ramp-up 06:30, peak 08:30, ramp-down 16:00, off-peak 19:00; weekends off-peak."""
    rules = (
        PhaseRule(WEEKDAYS, Phase.RAMP_UP, time(6, 30), min_percent=20, buffer_percent=25),
        PhaseRule(WEEKDAYS, Phase.PEAK, time(8, 30), min_percent=10, buffer_percent=10),
        PhaseRule(WEEKDAYS, Phase.RAMP_DOWN, time(16, 0), min_hosts=2, buffer_percent=10),
        PhaseRule(WEEKDAYS, Phase.OFF_PEAK, time(19, 0), min_hosts=1, buffer_percent=5),
        PhaseRule(WEEKEND, Phase.OFF_PEAK, time(0, 0), min_hosts=0, buffer_percent=5),
    )
    values: dict[str, object] = {"timezone": "Europe/Copenhagen", "rules": rules}
    values.update(overrides)
    return Schedule(**values)  # type: ignore[arg-type]


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Copenhagen wall-clock time as an aware UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=CPH).astimezone(UTC)


def closed(*days: date) -> frozenset[date]:
    return frozenset(days)
