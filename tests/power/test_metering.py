"""Cost, energy and CO2 of machine time, against figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from anyplace.errors import DataFileError
from anyplace.power.metering import (
    BILLING,
    ENERGY,
    Billing,
    HourlyIntensity,
    Run,
    billed_seconds,
    co2_kg,
    energy_kwh,
    machine_cost,
)

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def test_billing_rounds_up_to_the_unit_with_a_minimum() -> None:
    aws = BILLING["aws"]
    assert billed_seconds(0, aws) == 0
    assert billed_seconds(10, aws) == 60, "EC2 bills at least a minute"
    assert billed_seconds(61.2, aws) == 62
    hourly = Billing(unit_seconds=3600)
    assert billed_seconds(61, hourly) == 3600
    assert billed_seconds(3601, hourly) == 7200


def test_cost_counts_each_allocation_run_and_the_disk_all_the_time() -> None:
    runs = [
        Run(T0, T0 + timedelta(hours=9, minutes=30)),  # a working day
        Run(T0 + timedelta(hours=12), T0 + timedelta(hours=12, seconds=30)),  # a blip
    ]
    cost = machine_cost(
        runs,
        period_hours=24,
        price_per_hour=Decimal("0.752"),
        disk_price_per_hour=Decimal("0.047"),
        billing=Billing(unit_seconds=60),
    )
    assert cost.allocated_hours == pytest.approx(9.5 + 30 / 3600)
    assert cost.billed_hours == pytest.approx(9.5 + 60 / 3600)
    assert float(cost.compute) == pytest.approx(0.752 * (9.5 + 60 / 3600))
    assert cost.disk == Decimal("0.047") * 24
    assert cost.total == cost.compute + cost.disk


def test_energy_follows_the_cloud_carbon_footprint_method() -> None:
    # 8 vCPU, 32 GB, 10 h on Azure at 50 %: (0.78 + 0.5 * 2.98) W * 8 * 10 h = 181.6 Wh,
    # memory 32 * 10 * 0.000392 = 0.12544 kWh, times PUE 1.185.
    kwh = energy_kwh(vcpus=8, memory_gb=32, hours=10, model=ENERGY["azure"])
    assert kwh == pytest.approx((0.1816 + 0.12544) * 1.185)
    idle = energy_kwh(vcpus=8, memory_gb=0, hours=1, model=ENERGY["aws"], utilisation=0)
    assert idle == pytest.approx(0.74 * 8 / 1000 * 1.135)


def test_co2_hour_by_hour_from_a_csv(tmp_path: Path) -> None:
    series = tmp_path / "dk1.csv"
    series.write_text(
        "hour,g_per_kwh\n2026-11-30T07:00:00+00:00,100\n2026-11-30T08:00:00+00:00,300\n",
        encoding="utf-8",
    )
    intensity = HourlyIntensity.from_csv(series, fallback=50)
    run = Run(T0 + timedelta(minutes=30), T0 + timedelta(hours=2, minutes=30))
    # 0.5 h at 100 g, 1 h at 300 g, 0.5 h at the fallback 50 g, at 2 kW.
    assert co2_kg([run], kw=2.0, intensity=intensity) == pytest.approx(
        2.0 * (0.5 * 100 + 1 * 300 + 0.5 * 50) / 1000
    )


def test_a_bad_intensity_csv_names_the_line(tmp_path: Path) -> None:
    series = tmp_path / "bad.csv"
    series.write_text("hour,g_per_kwh\n2026-11-30T07:00:00+00:00,abc\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bad\.csv:2: bad row"):
        HourlyIntensity.from_csv(series)
    series.write_text("time,value\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="hour,g_per_kwh"):
        HourlyIntensity.from_csv(series)
