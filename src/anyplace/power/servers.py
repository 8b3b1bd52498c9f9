"""Plain servers on a schedule, started and stopped in sequence (pure).

Like Azure Start/Stop VMs v2's `sequencestart` / `sequencestop` tags: servers
start in order of `order` (database, then application, then web), a tier only
once every server of the tiers before it is on, and stop in reverse, a tier
only once every server of the tiers after it is off. A group without a
policy is always on.
"""

from __future__ import annotations

from dataclasses import dataclass

from anyplace.domain import PowerActionKind, PowerState
from anyplace.power.policy import Action

__all__ = ["ServerPlan", "ServerView", "plan_servers"]


@dataclass(frozen=True)
class ServerView:
    name: str
    power: PowerState
    order: int = 0
    busy: bool = False
    maintenance: bool = False


@dataclass(frozen=True)
class ServerPlan:
    group: str
    target_hosts: int
    wanted_on: tuple[str, ...]
    actions: tuple[Action, ...]


def plan_servers(
    group: str, servers: tuple[ServerView, ...], *, wanted: int, budget: int
) -> ServerPlan:
    """Start or stop servers so that the first `wanted` (by order, then name) are on."""
    usable = sorted((s for s in servers if not s.maintenance), key=lambda s: (s.order, s.name))
    wanted = max(0, min(wanted, len(usable)))
    keep_on = {s.name for s in usable[:wanted]}
    starts = _next_tier(
        [s for s in usable if s.name in keep_on and s.power is PowerState.OFF and not s.busy],
        [s for s in usable if s.name in keep_on],
        ascending=True,
        ready=PowerState.ON,
    )
    stops = _next_tier(
        [s for s in usable if s.name not in keep_on and s.power is PowerState.ON and not s.busy],
        [s for s in usable if s.name not in keep_on],
        ascending=False,
        ready=PowerState.OFF,
    )
    actions = [
        Action(PowerActionKind.START, s.name, f"schedule: tier {s.order} starts") for s in starts
    ][:budget]
    actions += [
        Action(PowerActionKind.STOP, s.name, f"schedule: tier {s.order} stops") for s in stops
    ][: max(0, budget - len(actions))]
    return ServerPlan(group, wanted, tuple(s.name for s in usable[:wanted]), tuple(actions))


def _next_tier(
    candidates: list[ServerView],
    members: list[ServerView],
    *,
    ascending: bool,
    ready: PowerState,
) -> list[ServerView]:
    """The candidates of the first tier to act on, if every tier before it is `ready`.

    Starting goes up the tiers (`ascending`), stopping comes down them.
    """
    if not candidates:
        return []
    orders = [s.order for s in candidates]
    tier = min(orders) if ascending else max(orders)
    before = [s for s in members if (s.order < tier if ascending else s.order > tier)]
    if any(s.power is not ready for s in before):
        return []
    return [s for s in candidates if s.order == tier]
