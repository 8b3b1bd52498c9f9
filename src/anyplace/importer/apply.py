"""Writing a checked `Dataset` into the store, as one transaction.

Loading is an upsert by natural key (username, group name, app slug, pool
name, machine name): loading the same folder twice changes nothing, and a
changed file updates what it names. Nothing that the files do not name is
deleted, and a machine's power state is never touched: the provider's state
wins (DESIGN.md, principle 4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.domain import IdentitySource, PowerState
from anyplace.importer.dataset import Dataset, Located
from anyplace.importer.specs import (
    AppSpec,
    CategorySpec,
    GroupSpec,
    MachineSpec,
    PoolSpec,
    PowerPolicySpec,
    ServerGroupSpec,
    UserSpec,
    VmSizeSpec,
)
from anyplace.store.models import (
    App,
    Base,
    Category,
    Group,
    Machine,
    Pool,
    PowerPolicy,
    SchedulePhase,
    ServerGroup,
    User,
    VmSize,
)

__all__ = ["LoadSummary", "apply_dataset"]

RowT = TypeVar("RowT", bound=Base)
SpecT = TypeVar("SpecT", bound=BaseModel)
Filler = Callable[[Any, Any], None]


@dataclass
class LoadSummary:
    """How many rows of each kind were created, updated and found unchanged."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, kind: str, outcome: str) -> None:
        per_kind = self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})
        per_kind[outcome] += 1

    def total(self, outcome: str) -> int:
        return sum(per_kind[outcome] for per_kind in self.counts.values())


def apply_dataset(session: Session, data: Dataset, clock: Clock) -> LoadSummary:
    """Upsert everything in `data`; the caller commits (or rolls back) the session."""
    summary = LoadSummary()
    now = clock.now()

    def upsert(
        model: type[RowT], key: str, specs: Iterable[Any], kind: str, fill: Filler
    ) -> dict[str, RowT]:
        return _upsert(session, model, key, specs, summary, kind=kind, fill=fill)

    def fill_vm_size(row: VmSize, s: VmSizeSpec) -> None:
        _assign(
            row,
            name=s.name,
            vcpus=s.vcpus,
            memory_gb=s.memory_gb,
            price_per_hour=s.price_per_hour,
            disk_price_per_hour=s.disk_price_per_hour,
            currency=s.currency,
        )

    vm_sizes = upsert(VmSize, "name", _specs(data.vm_sizes), "vm_sizes", fill_vm_size)

    def fill_group(row: Group, s: GroupSpec) -> None:
        _assign(row, name=s.name, display_name=s.display_name, is_admin=s.admin)
        row.source = row.source or IdentitySource.LOCAL

    groups = upsert(Group, "name", _specs(data.groups), "groups", fill_group)

    def fill_user(row: User, s: UserSpec) -> None:
        _assign(row, username=s.username, display_name=s.name, email=s.email)
        row.department = s.department
        row.source = row.source or IdentitySource.LOCAL
        row.is_active = True if row.is_active is None else row.is_active
        row.created_at = row.created_at or now
        row.groups = [groups[name] for name in s.groups]

    upsert(User, "username", _specs(data.users), "users", fill_user)

    def fill_category(row: Category, s: CategorySpec) -> None:
        _assign(row, slug=s.slug, name_da=s.da, name_en=s.en, sort_order=s.order)

    categories = upsert(Category, "slug", _specs(data.categories), "categories", fill_category)
    policies = upsert(
        PowerPolicy, "name", _specs(data.power_policies), "power_policies", _fill_policy
    )
    session.flush()

    def fill_pool(row: Pool, s: PoolSpec) -> None:
        _assign(
            row,
            name=s.name,
            display_name=s.display_name,
            description=s.description,
            max_sessions_per_host=s.max_sessions_per_host,
            load_balancing=s.load_balancing,
            provider=s.provider,
            vm_size=vm_sizes[s.vm_size],
            boot_minutes=s.boot_minutes,
            power_policy=policies[s.power_policy] if s.power_policy else None,
        )

    pools = upsert(Pool, "name", _specs(data.pools), "pools", fill_pool)

    def fill_server_group(row: ServerGroup, s: ServerGroupSpec) -> None:
        _assign(
            row,
            name=s.name,
            display_name=s.display_name,
            description=s.description,
            provider=s.provider,
            power_policy=policies[s.power_policy] if s.power_policy else None,
        )

    server_groups = upsert(
        ServerGroup, "name", _specs(data.server_groups), "server_groups", fill_server_group
    )
    session.flush()

    machine_specs, owners = _machines(data, vm_sizes, pools, server_groups)

    def fill_machine(row: Machine, s: MachineSpec) -> None:
        _assign(row, name=s.name, provider_id=s.provider_id or s.name, start_order=s.order)
        _assign(row, **owners[s.name])
        row.power_state = row.power_state or PowerState.OFF

    upsert(Machine, "name", machine_specs, "machines", fill_machine)

    def fill_app(row: App, s: AppSpec) -> None:
        _assign(
            row,
            slug=s.slug,
            name_da=s.da,
            name_en=s.en,
            description_da=s.description_da,
            description_en=s.description_en,
            category=categories[s.category],
            icon=s.icon,
            keywords=list(s.keywords),
            kind=s.kind,
            pool=pools[s.pool] if s.pool else None,
            program=s.program,
            arguments=s.arguments,
            url=s.url,
        )
        row.enabled = True if row.enabled is None else row.enabled
        row.groups = [groups[name] for name in s.groups]

    upsert(App, "slug", _specs(data.apps), "apps", fill_app)
    session.flush()
    return summary


def _machines(
    data: Dataset,
    vm_sizes: dict[str, VmSize],
    pools: dict[str, Pool],
    server_groups: dict[str, ServerGroup],
) -> tuple[list[MachineSpec], dict[str, dict[str, Any]]]:
    """Every machine the files name, with the pool or server group and size it belongs to."""
    owners: dict[str, dict[str, Any]] = {}
    machine_specs: list[MachineSpec] = []
    for pool_spec in _specs(data.pools):
        pool = pools[pool_spec.name]
        for host in pool_spec.machines():
            size = vm_sizes[host.vm_size or pool_spec.vm_size]
            owners[host.name] = {"pool": pool, "vm_size": size, "provider": pool.provider}
            machine_specs.append(host)
    for group_spec in _specs(data.server_groups):
        server_group = server_groups[group_spec.name]
        for server in group_spec.servers:
            size = vm_sizes[server.vm_size or group_spec.vm_size]
            owners[server.name] = {
                "server_group": server_group,
                "vm_size": size,
                "provider": server_group.provider,
            }
            machine_specs.append(server)

    return machine_specs, owners


def _specs(entries: Iterable[Located[SpecT]]) -> list[SpecT]:
    return [entry.spec for entry in entries]


def _fill_policy(row: PowerPolicy, spec: PowerPolicySpec) -> None:
    _assign(
        row,
        name=spec.name,
        timezone=spec.timezone,
        holidays_country=spec.holidays,
        holiday_phase=spec.holiday_phase,
        closed_days=[day.isoformat() for day in spec.closed_days],
        open_days=[day.isoformat() for day in spec.open_days],
        power_off_delay_minutes=spec.power_off_delay_minutes,
        disconnect_timeout_minutes=spec.disconnect_timeout_minutes,
        idle_timeout_minutes=spec.idle_timeout_minutes,
        forced_logoff=spec.forced_logoff,
        logoff_grace_minutes=spec.logoff_grace_minutes,
        max_concurrent_actions=spec.max_concurrent_actions,
    )
    wanted = [
        (sum(day.bit for day in entry.days), phase.phase, phase.start, phase.min_hosts,
         phase.min_percent, phase.buffer_percent)
        for entry in spec.schedule
        for phase in entry.phases
    ]  # fmt: skip
    have = [
        (p.weekdays, p.phase, p.start, p.min_hosts, p.min_percent, p.buffer_percent)
        for p in row.phases
    ]
    if have != wanted:
        row.phases = [
            SchedulePhase(
                weekdays=weekdays,
                phase=phase,
                start=start,
                min_hosts=min_hosts,
                min_percent=min_percent,
                buffer_percent=buffer_percent,
            )
            for weekdays, phase, start, min_hosts, min_percent, buffer_percent in wanted
        ]


def _assign(row: Any, **values: Any) -> None:
    for name, value in values.items():
        setattr(row, name, value)


def _upsert(
    session: Session,
    model: type[RowT],
    key: str,
    specs: Iterable[Any],
    summary: LoadSummary,
    *,
    kind: str,
    fill: Filler,
) -> dict[str, RowT]:
    """Create or update one row per spec, matched on `key`; return all rows by key."""
    existing = {getattr(row, key): row for row in session.scalars(select(model))}
    # No autoflush while filling: a lazy load would flush the change being counted.
    with session.no_autoflush:
        for spec in specs:
            name = getattr(spec, key)
            row = existing.get(name)
            if row is None:
                row = model()
                session.add(row)
                existing[name] = row
                fill(row, spec)
                summary.count(kind, "created")
            else:
                fill(row, spec)
                summary.count(kind, "updated" if session.is_modified(row) else "unchanged")
    return existing
