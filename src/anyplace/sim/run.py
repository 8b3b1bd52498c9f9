"""Running strategies over a trace and summing up what each costs and who waited."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from anyplace.sim.engine import PoolResult, simulate_pool
from anyplace.sim.model import PoolSetup
from anyplace.sim.oracle import oracle_cost
from anyplace.sim.strategies import make_strategy
from anyplace.sim.traces import TraceSession

__all__ = ["SimulationResult", "StrategyFigures", "run_simulation", "trace_period"]


@dataclass
class StrategyFigures:
    cost: Decimal
    host_hours: float
    energy_kwh: float
    co2_kg: float
    sessions: int
    waited: int
    wait_p95_s: float
    wait_max_s: float
    forced_logoffs: int
    oracle_ratio: float
    pools: dict[str, PoolResult] = field(default_factory=dict, repr=False)

    def as_json(self) -> dict[str, float | int]:
        return {
            "cost": round(float(self.cost), 2),
            "host_hours": round(self.host_hours, 1),
            "energy_kwh": round(self.energy_kwh, 1),
            "co2_kg": round(self.co2_kg, 1),
            "sessions": self.sessions,
            "waited": self.waited,
            "wait_p95_s": round(self.wait_p95_s, 1),
            "wait_max_s": round(self.wait_max_s, 1),
            "forced_logoffs": self.forced_logoffs,
            "oracle_ratio": round(self.oracle_ratio, 3),
        }


@dataclass
class SimulationResult:
    start: datetime
    end: datetime
    strategies: dict[str, StrategyFigures]
    oracle_cost: Decimal
    oracle_host_hours: float

    def as_json(self) -> dict[str, object]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "strategies": {name: fig.as_json() for name, fig in self.strategies.items()},
            "oracle": {
                "cost": round(float(self.oracle_cost), 2),
                "host_hours": round(self.oracle_host_hours, 1),
            },
        }


def trace_period(sessions: Sequence[TraceSession], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """From the first session's local midnight to the midnight after the last session ends."""
    if not sessions:
        raise ValueError("the trace has no sessions")
    first = min(s.start for s in sessions).astimezone(zone).date()
    last = max(s.end for s in sessions).astimezone(zone).date() + timedelta(days=1)
    return (
        datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC),
        datetime.combine(last, time(0), tzinfo=zone).astimezone(UTC),
    )


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_simulation(
    setups: Sequence[PoolSetup],
    sessions: Sequence[TraceSession],
    strategies: Sequence[str],
    *,
    start: datetime,
    end: datetime,
    grid_g_per_kwh: float = 96.0,
    seed: int = 0,
    tick: timedelta = timedelta(minutes=1),
    warmup: timedelta = timedelta(0),
    progress: Callable[[str, float], None] | None = None,
) -> SimulationResult:
    """Every strategy over the trace; figures count from `start + warmup`."""
    measured = start + warmup
    if measured >= end:
        raise ValueError("the warm-up is as long as the trace")
    oracle_total, oracle_hours = Decimal(0), 0.0
    for setup in setups:
        oracle = oracle_cost(setup, sessions, start=measured, end=end)
        oracle_total += oracle.cost
        oracle_hours += oracle.host_hours
    figures: dict[str, StrategyFigures] = {}
    for name in strategies:
        pools: dict[str, PoolResult] = {}
        for setup in setups:
            report = None if progress is None else _share(progress, name, len(setups))
            pools[setup.name] = simulate_pool(
                setup,
                sessions,
                make_strategy(name),
                start=start,
                end=end,
                tick=tick,
                seed=seed,
                initially_on=name == "always-on",
                measure_from=measured,
                progress=report,
            )
        waits = [w for result in pools.values() for w in result.waits]
        cost = sum((r.cost for r in pools.values()), Decimal(0))
        energy = sum(r.energy_kwh for r in pools.values())
        figures[name] = StrategyFigures(
            cost=cost,
            host_hours=sum(r.host_hours for r in pools.values()),
            energy_kwh=energy,
            co2_kg=energy * grid_g_per_kwh / 1000,
            sessions=sum(r.sessions for r in pools.values()),
            waited=sum(1 for w in waits if w > 0),
            wait_p95_s=_percentile(waits, 0.95),
            wait_max_s=max(waits, default=0.0),
            forced_logoffs=sum(r.forced_logoffs for r in pools.values()),
            oracle_ratio=float(cost / oracle_total) if oracle_total else 0.0,
            pools=pools,
        )
    return SimulationResult(measured, end, figures, oracle_total, oracle_hours)


def _share(
    progress: Callable[[str, float], None], name: str, parts: int
) -> Callable[[float], None]:
    return lambda done: progress(name, done / parts)
