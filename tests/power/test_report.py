"""The power report from recorded machine time, on both backends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from anyplace.config import PowerSettings
from anyplace.domain import PowerState
from anyplace.power.metering import ENERGY, energy_kwh
from anyplace.power.report import power_report
from anyplace.store.access import Store
from anyplace.store.models import HostUsage, Machine
from tests.power.conftest import local

DAY = local(2026, 12, 1, 0, 0)


def test_a_working_day_of_one_host_against_always_on(demo_store: Store) -> None:
    stretches = [
        (PowerState.OFF, 0, 7 * 60),
        (PowerState.STARTING, 7 * 60, 7 * 60 + 6),
        (PowerState.ON, 7 * 60 + 6, 17 * 60),
        (PowerState.STOPPING, 17 * 60, 17 * 60 + 1),
        (PowerState.OFF, 17 * 60 + 1, None),
    ]
    with demo_store.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gen-01")).one()
        for state, begin, end in stretches:
            session.add(
                HostUsage(
                    machine_id=host.id,
                    power_state=state,
                    started_at=DAY + timedelta(minutes=begin),
                    ended_at=None if end is None else DAY + timedelta(minutes=end),
                )
            )
    with demo_store.sessions() as session:
        report = power_report(
            session,
            start=DAY,
            end=DAY + timedelta(days=1),
            now=DAY + timedelta(days=2),
            settings=PowerSettings(grid_g_per_kwh=100),
        )
    line = next(line for line in report.lines if line.name == "generel")
    assert line.machines == 64
    assert line.hours == pytest.approx(601 / 60)
    compute = Decimal("0.752") * Decimal(601 * 60) / Decimal(3600)
    disk = Decimal("0.047") * 24 * 64
    cent = Decimal("0.01")
    assert line.cost == (compute + disk).quantize(cent)
    assert line.always_on_cost == ((Decimal("0.752") + Decimal("0.047")) * 24 * 64).quantize(cent)
    assert line.savings == pytest.approx(line.always_on_cost - line.cost, abs=Decimal("0.01"))
    assert line.savings_percent > 90
    kw = energy_kwh(vcpus=8, memory_gb=32, hours=1, model=ENERGY["sim"])
    assert line.energy_kwh == pytest.approx(kw * 601 / 60)
    assert line.co2_kg == pytest.approx(kw * 601 / 60 * 100 / 1000)
    assert line.always_on_co2_kg == pytest.approx(kw * 24 * 64 * 100 / 1000)


def test_the_report_refuses_an_empty_period(demo_store: Store) -> None:
    with demo_store.sessions() as session, pytest.raises(ValueError, match="after its start"):
        power_report(session, start=DAY, end=DAY, now=DAY, settings=PowerSettings())
