"""Hours, cost, energy and CO2 per pool and server group, with savings against always-on.

Built from the `HostUsage` stretches the controller records from what the
cloud reports: a machine is billed while it is allocated (starting, on or
stopping), from the first read that saw it so until the first that did not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from anyplace.config import PowerSettings
from anyplace.domain import PowerState
from anyplace.power.metering import (
    BILLING,
    ENERGY,
    Billing,
    HourlyIntensity,
    Intensity,
    Run,
    co2_kg,
    energy_kwh,
    machine_cost,
)
from anyplace.store.models import HostUsage, Machine

__all__ = ["PowerReport", "UsageLine", "power_report"]

ALLOCATED = (PowerState.STARTING, PowerState.ON, PowerState.STOPPING)


class UsageLine(BaseModel):
    kind: str  # "pool" or "server_group"
    name: str
    machines: int
    hours: float
    """Machine-hours allocated (billed time before rounding)."""
    always_on_hours: float
    cost: Decimal
    always_on_cost: Decimal
    savings: Decimal
    currency: str
    energy_kwh: float
    always_on_kwh: float
    co2_kg: float
    always_on_co2_kg: float

    @property
    def savings_percent(self) -> float:
        return float(self.savings / self.always_on_cost * 100) if self.always_on_cost else 0.0


class PowerReport(BaseModel):
    start: datetime
    end: datetime
    lines: list[UsageLine]

    @property
    def total_cost(self) -> Decimal:
        return sum((line.cost for line in self.lines), Decimal(0))

    @property
    def total_savings(self) -> Decimal:
        return sum((line.savings for line in self.lines), Decimal(0))


def power_report(
    session: Session, *, start: datetime, end: datetime, now: datetime, settings: PowerSettings
) -> PowerReport:
    if end <= start:
        raise ValueError("the report's end must be after its start")
    intensity = _intensity(settings)
    machines = session.scalars(
        select(Machine).options(
            selectinload(Machine.vm_size),
            selectinload(Machine.pool),
            selectinload(Machine.server_group),
        )
    ).all()
    usage = session.scalars(
        select(HostUsage)
        .where(HostUsage.started_at < end)
        .where((HostUsage.ended_at.is_(None)) | (HostUsage.ended_at > start))
        .order_by(HostUsage.machine_id, HostUsage.started_at)
    ).all()
    by_machine: dict[int, list[HostUsage]] = defaultdict(list)
    for row in usage:
        by_machine[row.machine_id].append(row)
    pricer = _Pricer(start, end, intensity, settings)
    groups: dict[tuple[str, str], list[UsageLine]] = defaultdict(list)
    for machine in machines:
        if machine.pool is not None:
            owner = ("pool", machine.pool.name)
        else:
            owner = ("server_group", machine.server_group.name if machine.server_group else "")
        runs, utilisation = _runs(by_machine.get(machine.id, []), start, min(end, now))
        groups[owner].append(pricer.line(machine, runs, utilisation))
    return PowerReport(
        start=start,
        end=end,
        lines=[_sum(kind, name, lines) for (kind, name), lines in sorted(groups.items())],
    )


def _intensity(settings: PowerSettings) -> Intensity:
    if settings.grid_csv:
        return HourlyIntensity.from_csv(Path(settings.grid_csv), fallback=settings.grid_g_per_kwh)
    constant = settings.grid_g_per_kwh
    return lambda _hour: constant


def _runs(rows: Iterable[HostUsage], start: datetime, end: datetime) -> tuple[list[Run], float]:
    """Allocated stretches clipped to [start, end], merged when they touch; mean utilisation."""
    runs: list[Run] = []
    weighted, seconds = 0.0, 0.0
    for row in rows:
        if row.power_state not in ALLOCATED:
            continue
        begin, finish = max(row.started_at, start), min(row.ended_at or end, end)
        if finish <= begin:
            continue
        if runs and runs[-1].end >= begin:
            runs[-1] = Run(runs[-1].start, max(runs[-1].end, finish))
        else:
            runs.append(Run(begin, finish))
        span = (finish - begin).total_seconds()
        weighted += span * ((row.cpu_percent if row.cpu_percent is not None else 50.0) / 100)
        seconds += span
    return runs, (weighted / seconds if seconds else 0.5)


@dataclass(frozen=True)
class _Pricer:
    start: datetime
    end: datetime
    intensity: Intensity
    settings: PowerSettings

    def line(self, machine: Machine, runs: list[Run], utilisation: float) -> UsageLine:
        size = machine.vm_size
        period_hours = (self.end - self.start).total_seconds() / 3600
        billing = BILLING.get(machine.provider, Billing())
        if self.settings.billing_unit_seconds:
            billing = Billing(self.settings.billing_unit_seconds, billing.minimum_seconds)
        priced = partial(
            machine_cost,
            period_hours=period_hours,
            price_per_hour=size.price_per_hour,
            disk_price_per_hour=size.disk_price_per_hour,
            billing=billing,
        )
        cost = priced(runs)
        whole = [Run(self.start, self.end)]
        always = priced(whole)
        model = ENERGY.get(machine.provider, ENERGY["azure"])
        memory = float(size.memory_gb)
        kw = energy_kwh(
            vcpus=size.vcpus, memory_gb=memory, hours=1, model=model, utilisation=utilisation
        )
        return UsageLine(
            kind="",
            name=machine.name,
            machines=1,
            hours=cost.allocated_hours,
            always_on_hours=period_hours,
            cost=cost.total,
            always_on_cost=always.total,
            savings=always.total - cost.total,
            currency=size.currency,
            energy_kwh=kw * cost.allocated_hours,
            always_on_kwh=kw * period_hours,
            co2_kg=co2_kg(runs, kw=kw, intensity=self.intensity),
            always_on_co2_kg=co2_kg(whole, kw=kw, intensity=self.intensity),
        )


def _sum(kind: str, name: str, lines: list[UsageLine]) -> UsageLine:
    currencies = {line.currency for line in lines}
    return UsageLine(
        kind=kind,
        name=name,
        machines=len(lines),
        hours=sum(line.hours for line in lines),
        always_on_hours=sum(line.always_on_hours for line in lines),
        cost=_cents(sum((line.cost for line in lines), Decimal(0))),
        always_on_cost=_cents(sum((line.always_on_cost for line in lines), Decimal(0))),
        savings=_cents(sum((line.savings for line in lines), Decimal(0))),
        currency=currencies.pop() if len(currencies) == 1 else "mixed",
        energy_kwh=sum(line.energy_kwh for line in lines),
        always_on_kwh=sum(line.always_on_kwh for line in lines),
        co2_kg=sum(line.co2_kg for line in lines),
        always_on_co2_kg=sum(line.always_on_co2_kg for line in lines),
    )


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))
