"""A pool's day as a chart: sessions against serving capacity, from what was recorded.

Pure: it takes the load samples and the machines' powered-on stretches and
returns the points of two step lines, plus an SVG-ready scaling, so the admin
page draws the chart with no JavaScript (and no inline script for the CSP).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Interval", "Timeline", "build_timeline"]


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime | None
    """None: still on."""


@dataclass(frozen=True)
class Timeline:
    start: datetime
    end: datetime
    sessions: list[tuple[datetime, int]]
    capacity: list[tuple[datetime, int]]
    peak: int

    def svg_points(self, series: str, width: float, height: float) -> str:
        """`x,y` pairs for a <polyline> (a step line) in a width x height box."""
        points = self.sessions if series == "sessions" else self.capacity
        span = (self.end - self.start).total_seconds() or 1.0
        top = max(self.peak, 1)
        out: list[str] = []
        previous_y: float | None = None
        for at, value in points:
            x = (at - self.start).total_seconds() / span * width
            y = height - value / top * height
            if previous_y is not None:
                out.append(f"{x:.1f},{previous_y:.1f}")
            out.append(f"{x:.1f},{y:.1f}")
            previous_y = y
        return " ".join(out)


def _capacity_at(at: datetime, intervals: Sequence[Interval], per_host: int) -> int:
    on = sum(1 for i in intervals if i.start <= at and (i.end is None or i.end > at))
    return on * per_host


def build_timeline(
    start: datetime,
    end: datetime,
    samples: Sequence[tuple[datetime, int]],
    powered_on: Sequence[Interval],
    per_host: int,
) -> Timeline:
    """Sessions at each sample; capacity changing at every power-on and power-off."""
    sessions = sorted((at, count) for at, count in samples if start <= at <= end)
    edges = {start, end}
    for interval in powered_on:
        for edge in (interval.start, interval.end):
            if edge is not None and start < edge < end:
                edges.add(edge)
    capacity = [(at, _capacity_at(at, powered_on, per_host)) for at in sorted(edges)]
    peak = max([c for _, c in capacity] + [s for _, s in sessions] + [0])
    return Timeline(start, end, sessions, capacity, peak)
