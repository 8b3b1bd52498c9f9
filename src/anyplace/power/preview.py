"""What the controller would do at a given time, and why, without doing it (`anyplace power plan`).

The preview reads the store as it is (hosts' last known power states, live
sessions, load history) and runs the same policies as the controller; it asks
no cloud and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from anyplace.config import PowerSettings
from anyplace.domain import Phase, PowerState
from anyplace.power.policy import Action, plan
from anyplace.power.snapshot import pool_snapshot, schedule_from_policy, server_group_plan
from anyplace.store.models import Pool, ServerGroup

__all__ = ["ActionOut", "GroupPreview", "PlanPreview", "PoolPreview", "preview"]


class ActionOut(BaseModel):
    action: str
    host: str
    reason: str


class PoolPreview(BaseModel):
    pool: str
    phase: Phase
    holiday: str | None
    hosts: int
    hosts_on: int
    sessions: int
    forecast: int
    demand: int
    """Sessions to plan for: those on serving hosts, the forecast's growth, and anyone waiting."""
    buffer_percent: int
    buffer: int
    """Seats left free when `target_hosts` are on and `demand` is met."""
    minimum: int
    capacity: int
    target_hosts: int
    actions: list[ActionOut]


class GroupPreview(BaseModel):
    server_group: str
    phase: Phase
    holiday: str | None
    servers: int
    servers_on: int
    target_hosts: int
    actions: list[ActionOut]


class PlanPreview(BaseModel):
    at: datetime
    pools: list[PoolPreview]
    server_groups: list[GroupPreview]


@dataclass(frozen=True)
class _Count:
    total: int
    on: int


def _count(states: list[PowerState]) -> _Count:
    return _Count(len(states), sum(1 for s in states if s in (PowerState.ON, PowerState.STARTING)))


def _actions(actions: tuple[Action, ...]) -> list[ActionOut]:
    return [ActionOut(action=a.kind.value, host=a.host, reason=a.reason) for a in actions]


def preview(session: Session, settings: PowerSettings, at: datetime) -> PlanPreview:
    """The plan for every pool and server group at `at`, from the store as it is now."""
    pools: list[PoolPreview] = []
    groups: list[GroupPreview] = []
    for pool in session.scalars(select(Pool).options(selectinload(Pool.hosts)).order_by(Pool.name)):
        snapshot, context = pool_snapshot(session, pool, at, settings)
        result = plan(snapshot)
        count = _count([host.power_state for host in pool.hosts])
        pools.append(
            PoolPreview(
                pool=pool.name,
                phase=result.phase,
                holiday=context.active.holiday,
                hosts=count.total,
                hosts_on=count.on,
                sessions=result.sessions,
                forecast=snapshot.demand.forecast,
                demand=result.expected,
                buffer_percent=context.buffer_percent,
                buffer=max(0, result.target_hosts * pool.max_sessions_per_host - result.expected),
                minimum=snapshot.phase.minimum,
                capacity=result.capacity,
                target_hosts=result.target_hosts,
                actions=[
                    ActionOut(action=a.kind.value, host=a.host, reason=a.reason)
                    for a in result.actions
                ],
            )
        )
    for group in session.scalars(
        select(ServerGroup).options(selectinload(ServerGroup.servers)).order_by(ServerGroup.name)
    ):
        group_plan = server_group_plan(session, group, at)
        active = schedule_from_policy(group.power_policy).phase_at(at)
        count = _count([server.power_state for server in group.servers])
        groups.append(
            GroupPreview(
                server_group=group.name,
                phase=active.phase,
                holiday=active.holiday,
                servers=count.total,
                servers_on=count.on,
                target_hosts=group_plan.target_hosts,
                actions=[
                    ActionOut(action=a.kind.value, host=a.host, reason=a.reason)
                    for a in group_plan.actions
                ],
            )
        )
    return PlanPreview(at=at, pools=pools, server_groups=groups)
