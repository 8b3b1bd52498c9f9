"""Forecasting a pool's sessions from the same weekday in earlier weeks (pure).

No VDI product starts hosts from history; Azure VMSS and AWS EC2 predictive
scaling do, from 2 to 14 days of load. We keep it simple and explainable: the
sessions a pool had in the same window (same weekday, same wall-clock time) in
each of the last eight weeks, skipping closed days, and take the 75th
percentile of those weekly peaks, so one unusual week neither drives nor hides
the morning logon storm. Eight weeks rather than four because of the July
holidays: after four quiet weeks, the first week of August would otherwise be
forecast as quiet too, and its 08:00 storm would find too few hosts (the
simulator showed 936 waits that week with four weeks of memory).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from math import ceil
from zoneinfo import ZoneInfo

__all__ = ["LoadSample", "forecast_peak"]


@dataclass(frozen=True, order=True)
class LoadSample:
    at: datetime
    sessions: int


def forecast_peak(
    history: Sequence[LoadSample],
    *,
    start: datetime,
    horizon: timedelta,
    zone: ZoneInfo,
    is_closed: Callable[[date], bool],
    weeks: int = 8,
    quantile: float = 0.75,
    times: Sequence[datetime] | None = None,
) -> int:
    """The sessions expected at most in [start, start + horizon], from `history` (sorted by time).

    Returns 0 when `start` falls on a closed day or no earlier week has data:
    then the schedule's minimum and the reactive buffer decide alone. `times`,
    if given, are the samples' times in UTC, kept by a caller that forecasts
    often (the simulator), so the search needs no key function.
    """
    local_start = start.astimezone(zone)
    if is_closed(local_start.date()):
        return 0
    peaks: list[int] = []
    for week in range(1, weeks + 1):
        # Shift the wall-clock time, not the instant: a week across a DST change is 167 or 169 h.
        local = (local_start.replace(tzinfo=None) - timedelta(weeks=week)).replace(tzinfo=zone)
        if is_closed(local.date()):
            continue
        then = local.astimezone(UTC)  # same tzinfo as the samples: fast comparisons
        if times is None:
            low = bisect.bisect_left(history, then, key=_at)
            high = bisect.bisect_right(history, then + horizon, key=_at)
        else:
            low = bisect.bisect_left(times, then)
            high = bisect.bisect_right(times, then + horizon)
        if low < high:
            peaks.append(max(sample.sessions for sample in history[low:high]))
    if not peaks:
        return 0
    peaks.sort()
    return peaks[max(0, ceil(quantile * len(peaks)) - 1)]


def _at(sample: LoadSample) -> datetime:
    return sample.at
