"""Which phase a pool is in at a given instant, in the pool's own time zone (pure).

A schedule is a set of weekly phase starts (AVD scaling plans: ramp-up, peak,
ramp-down, off-peak). A phase lasts until the next start, across midnight and
across days with no starts of their own, so Friday's off-peak runs through the
weekend unless the weekend has its own phases. Public holidays (the `holidays`
package) and extra closed days are a single phase all day (off-peak unless
the policy says otherwise); extra open days follow their weekday even if they
are holidays. Phase starts are wall-clock times, so a 07:00 start is 07:00 in
winter and in summer; a start that falls in the spring-forward gap begins at
the first instant after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from math import ceil
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from anyplace.domain import Phase

__all__ = ["ActivePhase", "PhaseRule", "Schedule"]

MIDNIGHT = time(0, 0)
LOOKBACK_DAYS = 8


@dataclass(frozen=True)
class PhaseRule:
    """One phase start on some weekdays (ISO numbers, Monday = 1)."""

    weekdays: frozenset[int]
    phase: Phase
    start: time
    min_hosts: int = 0
    min_percent: int = 0
    buffer_percent: int = 10

    def minimum(self, pool_size: int) -> int:
        wanted = max(self.min_hosts, ceil(pool_size * self.min_percent / 100))
        return min(wanted, pool_size)


@dataclass(frozen=True)
class ActivePhase:
    """The phase in force at an instant, with when it began and when the next one begins."""

    rule: PhaseRule
    since: datetime | None
    until: datetime | None
    holiday: str | None = None

    @property
    def phase(self) -> Phase:
        return self.rule.phase


NO_SCHEDULE = PhaseRule(frozenset(range(1, 8)), Phase.OFF_PEAK, MIDNIGHT, 0, 0, 0)


@dataclass(frozen=True)
class Schedule:
    timezone: str
    rules: tuple[PhaseRule, ...]
    holidays_country: str | None = "DK"
    holiday_phase: Phase = Phase.OFF_PEAK
    closed_days: frozenset[date] = field(default_factory=frozenset)
    open_days: frozenset[date] = field(default_factory=frozenset)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _holiday_rule(self) -> PhaseRule:
        """What a closed day runs on: the policy's own rule for that phase, weekend first."""
        candidates = [rule for rule in self.rules if rule.phase is self.holiday_phase]
        candidates.sort(key=lambda rule: (not (rule.weekdays & {6, 7}), rule.start))
        base = candidates[0] if candidates else NO_SCHEDULE
        return PhaseRule(
            frozenset(range(1, 8)),
            self.holiday_phase,
            MIDNIGHT,
            base.min_hosts,
            base.min_percent,
            base.buffer_percent,
        )

    @cached_property
    def _closed_cache(self) -> dict[date, str | None]:
        return {}

    def holiday_name(self, day: date) -> str | None:
        """Why `day` is closed, or None if it follows its weekday's schedule."""
        cache = self._closed_cache
        if day not in cache:
            cache[day] = self._holiday_name(day)
        return cache[day]

    def _holiday_name(self, day: date) -> str | None:
        if day in self.open_days:
            return None
        if day in self.closed_days:
            return "closed day"
        if self.holidays_country is None:
            return None
        calendar = _calendar(self.holidays_country, day.year)
        name = calendar.get(day)
        return str(name) if name else None

    def day_rules(self, day: date) -> list[PhaseRule]:
        """The phase starts on `day`, in order; empty if the day has none of its own."""
        if self.holiday_name(day) is not None:
            return [self._holiday_rule]
        weekday = day.isoweekday()
        return sorted(
            (rule for rule in self.rules if weekday in rule.weekdays), key=lambda r: r.start
        )

    @cached_property
    def _recent(self) -> list[ActivePhase]:
        """The phases found last: most lookups fall in the same phase as the one before."""
        return []

    def phase_at(self, when: datetime) -> ActivePhase:
        if when.tzinfo is None:
            raise ValueError("phase_at needs an aware datetime")
        for known in self._recent:
            if (
                known.since is not None
                and known.until is not None
                and known.since <= when < known.until
            ):
                return known
        found = self._phase_at(when)
        self._recent.insert(0, found)
        del self._recent[4:]
        return found

    def _phase_at(self, when: datetime) -> ActivePhase:
        local = when.astimezone(self.zone)
        since: tuple[date, PhaseRule] | None = None
        for back in range(LOOKBACK_DAYS):
            day = local.date() - timedelta(days=back)
            starts = self.day_rules(day)
            if back == 0:
                starts = [rule for rule in starts if self._at(day, rule.start) <= when]
            if starts:
                since = (day, starts[-1])
                break
        following = self.next_change(when)
        if since is None:
            return ActivePhase(NO_SCHEDULE, None, following)
        day, rule = since
        return ActivePhase(rule, self._at(day, rule.start), following, self.holiday_name(day))

    def next_change(self, when: datetime) -> datetime | None:
        """The first phase start after `when`, or None if the schedule has none."""
        local_day = when.astimezone(self.zone).date()
        for ahead in range(LOOKBACK_DAYS):
            day = local_day + timedelta(days=ahead)
            for rule in self.day_rules(day):
                start = self._at(day, rule.start)
                if start > when:
                    return start
        return None

    def phases_between(self, start: datetime, end: datetime) -> Iterator[ActivePhase]:
        """Every phase in force at some instant of [start, end]."""
        current = self.phase_at(start)
        yield current
        while current.until is not None and current.until <= end:
            current = self.phase_at(current.until)
            yield current

    def minimum_between(self, start: datetime, end: datetime, pool_size: int) -> int:
        """The most hosts any phase in [start, end] asks for: what to have on by `end`."""
        return max(phase.rule.minimum(pool_size) for phase in self.phases_between(start, end))

    @cached_property
    def _instants(self) -> dict[tuple[date, time], datetime]:
        return {}

    def _at(self, day: date, start: time) -> datetime:
        """The instant of a wall-clock time on `day`; a time in the DST gap maps to its end."""
        key = (day, start)
        if key not in self._instants:
            self._instants[key] = self._instant(day, start)
        return self._instants[key]

    def _instant(self, day: date, start: time) -> datetime:
        naive = datetime.combine(day, start)
        while not self._exists(naive):
            # Spring forward: 02:30 never happens; the phase begins when the clock jumps.
            naive += timedelta(minutes=1)
        return naive.replace(tzinfo=self.zone).astimezone(UTC)

    def _exists(self, naive: datetime) -> bool:
        aware = naive.replace(tzinfo=self.zone)
        return aware.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) == naive


_CALENDARS: dict[tuple[str, int], holiday_calendars.HolidayBase] = {}


def _calendar(country: str, year: int) -> holiday_calendars.HolidayBase:
    key = (country, year)
    if key not in _CALENDARS:
        _CALENDARS[key] = holiday_calendars.country_holidays(country, years=year)
    return _CALENDARS[key]
