"""What running a machine costs in money, energy and CO2 (pure).

- **Money**: a cloud bills compute while a VM is allocated (starting, on,
  stopping; a VM stopped from inside the OS is still allocated), rounded up to
  the provider's billing unit with its minimum (EC2: per second, at least 60 s);
  disks cost all the time, deallocated or not.
- **Energy**: the Cloud Carbon Footprint method: watts per vCPU between the
  provider's minimum and maximum by utilisation (50 % when unknown), plus
  memory, times the data centre's PUE.
- **CO2**: energy times a grid factor, constant or hour by hour.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from math import ceil
from pathlib import Path

from anyplace.errors import DataFileError

__all__ = [
    "BILLING",
    "ENERGY",
    "Billing",
    "EnergyModel",
    "HourlyIntensity",
    "Intensity",
    "MachineCost",
    "Run",
    "billed_seconds",
    "co2_kg",
    "energy_kwh",
    "machine_cost",
    "split_by_hour",
]

DENMARK_G_PER_KWH = 96.0  # consumption-based average 2023 (Energinet)


@dataclass(frozen=True)
class Billing:
    unit_seconds: int = 60
    minimum_seconds: int = 0


# Citrix and many municipalities think in hours; set unit_seconds=3600 to bill like that.
BILLING: dict[str, Billing] = {
    "azure": Billing(unit_seconds=60),
    "sim": Billing(unit_seconds=60),
    "aws": Billing(unit_seconds=1, minimum_seconds=60),
    "libvirt": Billing(unit_seconds=3600),
}


@dataclass(frozen=True)
class EnergyModel:
    min_watts_per_vcpu: float
    max_watts_per_vcpu: float
    pue: float
    memory_kwh_per_gb_hour: float = 0.000392


ENERGY: dict[str, EnergyModel] = {
    "azure": EnergyModel(0.78, 3.76, 1.185),
    "sim": EnergyModel(0.78, 3.76, 1.185),
    "aws": EnergyModel(0.74, 3.5, 1.135),
    "libvirt": EnergyModel(0.78, 3.76, 1.58),  # own server room: Uptime Institute's average PUE
}


@dataclass(frozen=True)
class Run:
    """One stretch of allocation: from the start request to the end of the stop."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


def billed_seconds(run_seconds: float, billing: Billing) -> int:
    if run_seconds <= 0:
        return 0
    units = ceil(run_seconds / billing.unit_seconds) * billing.unit_seconds
    return max(units, billing.minimum_seconds)


@dataclass(frozen=True)
class MachineCost:
    allocated_hours: float
    billed_hours: float
    compute: Decimal
    disk: Decimal

    @property
    def total(self) -> Decimal:
        return self.compute + self.disk


def machine_cost(
    runs: Iterable[Run],
    *,
    period_hours: float,
    price_per_hour: Decimal,
    disk_price_per_hour: Decimal,
    billing: Billing,
) -> MachineCost:
    runs = list(runs)
    allocated = sum(run.seconds for run in runs)
    billed = sum(billed_seconds(run.seconds, billing) for run in runs)
    return MachineCost(
        allocated_hours=allocated / 3600,
        billed_hours=billed / 3600,
        compute=price_per_hour * Decimal(billed) / Decimal(3600),
        disk=disk_price_per_hour * Decimal(str(period_hours)),
    )


def energy_kwh(
    *, vcpus: int, memory_gb: float, hours: float, model: EnergyModel, utilisation: float = 0.5
) -> float:
    utilisation = min(max(utilisation, 0.0), 1.0)
    watts = model.min_watts_per_vcpu + utilisation * (
        model.max_watts_per_vcpu - model.min_watts_per_vcpu
    )
    compute = watts * vcpus * hours / 1000
    memory = memory_gb * hours * model.memory_kwh_per_gb_hour
    return (compute + memory) * model.pue


def split_by_hour(run: Run) -> Iterator[tuple[datetime, float]]:
    """(hour start, hours of the run in that hour) for each clock hour the run touches."""
    cursor = run.start
    while cursor < run.end:
        hour = cursor.replace(minute=0, second=0, microsecond=0)
        boundary = min(hour + timedelta(hours=1), run.end)
        yield hour, (boundary - cursor).total_seconds() / 3600
        cursor = boundary


class HourlyIntensity:
    """Grid CO2 intensity hour by hour from a CSV (`hour,g_per_kwh`), with a fallback."""

    def __init__(self, by_hour: dict[datetime, float], fallback: float = DENMARK_G_PER_KWH) -> None:
        self.by_hour = by_hour
        self.fallback = fallback

    def __call__(self, hour: datetime) -> float:
        return self.by_hour.get(hour, self.fallback)

    @classmethod
    def from_csv(cls, path: Path, fallback: float = DENMARK_G_PER_KWH) -> HourlyIntensity:
        by_hour: dict[datetime, float] = {}
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or {"hour", "g_per_kwh"} - set(reader.fieldnames):
                raise DataFileError(str(path), 1, "expected the header hour,g_per_kwh")
            for line, row in enumerate(reader, start=2):
                try:
                    hour = datetime.fromisoformat(row["hour"])
                    value = float(row["g_per_kwh"])
                except (TypeError, ValueError) as exc:
                    raise DataFileError(str(path), line, f"bad row: {exc}") from None
                if hour.tzinfo is None:
                    raise DataFileError(str(path), line, "the hour needs a UTC offset")
                if value < 0:
                    raise DataFileError(str(path), line, "g_per_kwh cannot be negative")
                by_hour[hour.astimezone(UTC).replace(minute=0, second=0, microsecond=0)] = value
        return cls(by_hour, fallback)


Intensity = Callable[[datetime], float]


def co2_kg(runs: Iterable[Run], *, kw: float, intensity: Intensity) -> float:
    """CO2 in kg for machines drawing `kw` (PUE included) during `runs`, hour by hour."""
    grams = 0.0
    for run in runs:
        for hour, hours in split_by_hour(run):
            grams += kw * hours * intensity(hour)
    return grams / 1000
