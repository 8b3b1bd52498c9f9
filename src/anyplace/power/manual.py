"""An administrator's hand on a host: maintenance (drain), start and stop.

As in Citrix Studio, a host an admin takes in hand is put in maintenance: no
new session goes there, its own sessions carry on, and the power policy
leaves it alone until the admin lets it go (otherwise the schedule would undo
a manual start or stop at the next tick). Start and stop are recorded as
power actions for the controller to carry out, like its own; a stop of a host
that still has sessions is cancelled by the controller, so nobody is cut off.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.domain import PowerActionKind, PowerActionState
from anyplace.errors import AnyplaceError
from anyplace.store.models import Machine, PowerAction

__all__ = ["request_power", "set_maintenance"]

MANUAL = (PowerActionKind.START, PowerActionKind.STOP)


def set_maintenance(machine: Machine, on: bool) -> None:
    machine.maintenance = on
    if not on and machine.drain_by_policy is False:
        machine.drain = False


def request_power(
    db: Session, clock: Clock, machine: Machine, kind: PowerActionKind, actor: str
) -> PowerAction:
    if kind not in MANUAL:
        raise AnyplaceError(f"an admin can start or stop a host, not {kind.value}")
    pending = db.scalar(
        select(PowerAction.id).where(
            PowerAction.machine_id == machine.id,
            PowerAction.action.in_(MANUAL),
            PowerAction.state.in_((PowerActionState.PENDING, PowerActionState.RUNNING)),
        )
    )
    if pending is not None:
        raise AnyplaceError(f"{machine.name} has a start or stop under way already")
    now = clock.now()
    set_maintenance(machine, True)
    action = PowerAction(
        machine_id=machine.id,
        action=kind,
        reason=f"{kind.value} asked by {actor}",
        state=PowerActionState.PENDING,
        idempotency_key=f"manual/{machine.id}/{kind.value}/{now.isoformat()}",
        requested_at=now,
    )
    db.add(action)
    db.flush()
    return action
