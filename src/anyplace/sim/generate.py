"""A synthetic session trace for an organisation, with the shapes of a municipal working year.

- **Office work**: arrivals in a window around 08:00, about 40 % of a
  department's logons in the middle sixth of its window (VMware Horizon's
  sizing rule: logons are roughly normal), a lunch break that ends a third of
  the sessions and starts them again half an hour later, staggered departures,
  Fridays shorter.
- **Home care** around the clock: day, evening and night shifts, each person
  logging on at the start and end of a shift; every other weekend; holidays too.
- **Specialists**: GIS users open the GIS pool for a few hours; users of old
  32-bit systems open the legacy pool for a while.
- **Absence**: sickness and other absence on any day, the July holiday weeks
  (each person takes three of weeks 28-31), Danish public holidays (offices
  closed), weekends.

Deterministic: the same seed gives the same trace.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from anyplace.importer.dataset import Dataset
from anyplace.sim.traces import TraceSession

__all__ = ["Profile", "generate_trace"]

ZONE = ZoneInfo("Europe/Copenhagen")
JULY_WEEKS = (28, 29, 30, 31)
SICK_RATE = 0.06


@dataclass(frozen=True)
class Profile:
    """How a department uses hosted apps on a working day."""

    pool: str = "generel"
    arrive: tuple[time, time] = (time(7, 0), time(9, 0))
    leave: tuple[time, time] = (time(15, 0), time(17, 0))
    uses_hosted: float = 0.9
    """Share of the department that opens a hosted session on a day at work."""
    shifts: bool = False


PROFILES: dict[str, Profile] = {
    "skole-dagtilbud": Profile(
        arrive=(time(7, 30), time(8, 30)), leave=(time(13, 0), time(16, 0)), uses_hosted=0.35
    ),
    "borgerservice": Profile(arrive=(time(7, 30), time(8, 30)), leave=(time(15, 0), time(16, 30))),
    "hjemmepleje": Profile(pool="hjemmepleje", shifts=True, uses_hosted=1.0),
    "ejendomme": Profile(arrive=(time(6, 30), time(8, 0)), leave=(time(14, 0), time(15, 30))),
    "it": Profile(arrive=(time(7, 0), time(9, 30)), leave=(time(15, 0), time(18, 0))),
}
SHIFTS = (
    (time(7, 0), time(15, 0), 0.55),
    (time(15, 0), time(23, 0), 0.30),
    (time(23, 0), time(7, 0), 0.15),
)


def generate_trace(data: Dataset, *, start: date, days: int, seed: int) -> list[TraceSession]:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    closed = holiday_calendars.country_holidays(
        "DK", years=range(start.year, start.year + days // 365 + 2)
    )
    users = [entry.spec for entry in data.users]
    july_off = {user.username: set(rng.sample(JULY_WEEKS, 3)) for user in users}
    shift_of = {}
    for user in users:
        if user.department and PROFILES.get(user.department, Profile()).shifts:
            shift_of[user.username] = _pick_shift(rng)
    sessions: list[TraceSession] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        week = day.isocalendar().week
        for user in users:
            profile = PROFILES.get(user.department or "", Profile())
            if week in JULY_WEEKS and week in july_off[user.username]:
                continue
            if rng.random() < SICK_RATE:
                continue
            if profile.shifts:
                sessions.extend(
                    _shift_sessions(rng, user.username, day, shift_of[user.username], profile)
                )
                continue
            if day.weekday() >= 5 or day in closed:
                continue
            if rng.random() > profile.uses_hosted:
                continue
            sessions.extend(_office_day(rng, user.username, day, profile, set(user.groups)))
    sessions.sort()
    return sessions


def _pick_shift(rng: random.Random) -> int:
    roll, total = rng.random(), 0.0
    for index, (_, _, share) in enumerate(SHIFTS):
        total += share
        if roll < total:
            return index
    return 0


def _at(day: date, moment: time, plus_minutes: float = 0.0) -> datetime:
    local = datetime.combine(day, moment, tzinfo=ZONE) + timedelta(minutes=plus_minutes)
    return local.astimezone(UTC)


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _storm(rng: random.Random, window: tuple[time, time]) -> float:
    """Minutes after the window opens: normal, 40 % in the middle sixth, clipped to the window."""
    length = _minutes(window[1]) - _minutes(window[0])
    sigma = (length / 12) / 0.5244  # P(|Z| < 0.5244) = 0.40
    return min(max(rng.gauss(length / 2, sigma), 0.0), float(length))


def _office_day(
    rng: random.Random, user: str, day: date, profile: Profile, groups: set[str]
) -> Iterator[TraceSession]:
    arrive = _at(day, profile.arrive[0], _storm(rng, profile.arrive))
    leave_window = profile.leave
    if day.weekday() == 4:  # Friday: an hour and a half earlier
        leave_window = (
            (datetime.combine(day, leave_window[0]) - timedelta(minutes=90)).time(),
            (datetime.combine(day, leave_window[1]) - timedelta(minutes=90)).time(),
        )
    span = (
        (leave_window[1].hour - leave_window[0].hour) * 60
        + leave_window[1].minute
        - leave_window[0].minute
    )
    leave = _at(day, leave_window[0], rng.uniform(0, span))
    leave = max(arrive + timedelta(hours=1), leave)
    if rng.random() < 0.33:
        lunch = _at(day, time(11, 30), rng.uniform(0, 60))
        if arrive + timedelta(minutes=30) < lunch < leave - timedelta(minutes=60):
            yield TraceSession(arrive, lunch, user, profile.pool)
            yield TraceSession(
                lunch + timedelta(minutes=rng.uniform(20, 40)), leave, user, profile.pool
            )
        else:
            yield TraceSession(arrive, leave, user, profile.pool)
    else:
        yield TraceSession(arrive, leave, user, profile.pool)
    if "gis-brugere" in groups and rng.random() < 0.7:
        begin = arrive + timedelta(minutes=rng.uniform(15, 180))
        end = min(begin + timedelta(minutes=rng.uniform(45, 240)), leave)
        if end > begin:
            yield TraceSession(begin, end, user, "gis")
    if "legacy-brugere" in groups and rng.random() < 0.4:
        begin = arrive + timedelta(minutes=rng.uniform(10, 300))
        end = min(begin + timedelta(minutes=rng.uniform(15, 90)), leave)
        if end > begin:
            yield TraceSession(begin, end, user, "legacy32")


def _shift_sessions(
    rng: random.Random, user: str, day: date, shift: int, profile: Profile
) -> Iterator[TraceSession]:
    """Two short sessions per shift worked: planning at the start, documenting at the end."""
    weekend = day.weekday() >= 5
    if weekend and (day.isocalendar().week + zlib.crc32(user.encode())) % 2:  # every other weekend
        return
    if not weekend and rng.random() < 0.25:  # part-time and days off in lieu
        return
    begin_time, end_time, _ = SHIFTS[shift]
    begin = _at(day, begin_time, rng.gauss(5, 6))
    yield TraceSession(begin, begin + timedelta(minutes=rng.uniform(20, 45)), user, profile.pool)
    end_day = day + timedelta(days=1) if end_time <= begin_time else day
    finish = _at(end_day, end_time, -rng.uniform(20, 50))
    yield TraceSession(finish, finish + timedelta(minutes=rng.uniform(15, 35)), user, profile.pool)
