"""Pool setups for the simulator, from an organisation's YAML folder or from the store."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from anyplace.domain import Weekday
from anyplace.importer.dataset import Dataset
from anyplace.importer.specs import PowerPolicySpec
from anyplace.power.metering import BILLING, ENERGY, Billing
from anyplace.power.policy import PoolRules
from anyplace.power.schedule import PhaseRule, Schedule
from anyplace.power.snapshot import ALWAYS_ON, pool_rules, schedule_from_policy
from anyplace.sim.model import PoolSetup
from anyplace.store.models import Pool

__all__ = ["schedule_from_spec", "setups_from_dataset", "setups_from_store"]

ISO = {day: index + 1 for index, day in enumerate(Weekday)}


def schedule_from_spec(spec: PowerPolicySpec | None) -> Schedule:
    if spec is None:
        return ALWAYS_ON
    rules = tuple(
        PhaseRule(
            frozenset(ISO[day] for day in entry.days),
            phase.phase,
            phase.start,
            phase.min_hosts,
            phase.min_percent,
            phase.buffer_percent,
        )
        for entry in spec.schedule
        for phase in entry.phases
    )
    return Schedule(
        spec.timezone,
        rules,
        holidays_country=spec.holidays,
        holiday_phase=spec.holiday_phase,
        closed_days=frozenset(spec.closed_days),
        open_days=frozenset(spec.open_days),
    )


def _rules(max_sessions: int, spec: PowerPolicySpec | None) -> PoolRules:
    if spec is None:
        return PoolRules(max_sessions_per_host=max_sessions)
    return PoolRules(
        max_sessions_per_host=max_sessions,
        power_off_delay=timedelta(minutes=spec.power_off_delay_minutes),
        max_concurrent_actions=spec.max_concurrent_actions,
        forced_logoff=spec.forced_logoff,
        logoff_grace=timedelta(minutes=spec.logoff_grace_minutes),
        disconnect_timeout=(
            timedelta(minutes=spec.disconnect_timeout_minutes)
            if spec.disconnect_timeout_minutes is not None
            else None
        ),
    )


def setups_from_dataset(data: Dataset, billing: Billing | None = None) -> list[PoolSetup]:
    sizes = {entry.spec.name: entry.spec for entry in data.vm_sizes}
    policies = {entry.spec.name: entry.spec for entry in data.power_policies}
    setups = []
    for entry in data.pools:
        pool = entry.spec
        size = sizes[pool.vm_size]
        policy = policies.get(pool.power_policy) if pool.power_policy else None
        setups.append(
            PoolSetup(
                name=pool.name,
                hosts=tuple(host.name for host in pool.machines()),
                max_sessions=pool.max_sessions_per_host,
                load_balancing=pool.load_balancing,
                boot_minutes=pool.boot_minutes,
                schedule=schedule_from_spec(policy),
                rules=_rules(pool.max_sessions_per_host, policy),
                price_per_hour=size.price_per_hour,
                vcpus=size.vcpus,
                memory_gb=float(size.memory_gb),
                billing=billing or BILLING.get(pool.provider, Billing()),
                energy=ENERGY.get(pool.provider, ENERGY["azure"]),
            )
        )
    return setups


def setups_from_store(session: Session, billing: Billing | None = None) -> list[PoolSetup]:
    setups = []
    for pool in session.scalars(
        select(Pool).options(selectinload(Pool.hosts), selectinload(Pool.power_policy))
    ):
        policy = pool.power_policy
        rules = pool_rules(pool)
        setups.append(
            PoolSetup(
                name=pool.name,
                hosts=tuple(host.name for host in pool.hosts),
                max_sessions=pool.max_sessions_per_host,
                load_balancing=pool.load_balancing,
                boot_minutes=pool.boot_minutes,
                schedule=schedule_from_policy(policy),
                rules=rules,
                price_per_hour=pool.vm_size.price_per_hour,
                vcpus=pool.vm_size.vcpus,
                memory_gb=float(pool.vm_size.memory_gb),
                billing=billing or BILLING.get(pool.provider, Billing()),
                energy=ENERGY.get(pool.provider, ENERGY["azure"]),
            )
        )
    return setups
