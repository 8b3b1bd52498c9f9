"""The power controller: snapshot, plan, record, carry out, read back (DESIGN.md, "Power").

Each tick, for each pool and server group it holds the lock for:

1. **Reconcile**: read every machine's state from its cloud; the cloud wins.
   A machine found off has its sessions ended (no ghost sessions), and every
   change of state opens a new `HostUsage` stretch (the basis of cost and CO2).
2. **Plan** with the pure policy, and **record** what it decided (flags for
   drain and undrain, `PowerAction` rows for everything else) in one
   transaction.
3. **Carry out** the recorded starts and stops that are due, each in its own
   short transaction: a stop is checked once more against the host's sessions
   just before it is sent; a transient error is retried with backoff on a
   later tick; a permanent one fails the action.

Work is recorded before it is done, so a crash between the two loses nothing:
the next tick carries out what is still pending. Notices and logoffs are
recorded for the host's agent, which carries them out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from anyplace.broker.agents import enforce_session_timeouts, sweep_lost_hosts
from anyplace.clock import Clock
from anyplace.clouds.base import CloudProvider
from anyplace.config import PowerSettings
from anyplace.domain import PowerActionKind, PowerActionState, PowerState, SessionState
from anyplace.errors import AnyplaceError, Permanent, Transient
from anyplace.power.locks import PoolLocks, locks_for
from anyplace.power.policy import Action, Plan, plan
from anyplace.power.servers import ServerPlan
from anyplace.power.snapshot import LIVE_STATES, pool_snapshot, server_group_plan
from anyplace.retry import backoff_seconds
from anyplace.store.access import Store
from anyplace.store.models import (
    HostUsage,
    Machine,
    Pool,
    PoolLoadSample,
    PowerAction,
    ServerGroup,
)
from anyplace.store.models import Session as UserSession

__all__ = ["PowerController", "TickReport"]

log = logging.getLogger(__name__)
AGENT_COMMANDS = (PowerActionKind.NOTIFY, PowerActionKind.LOGOFF)
CLAIM_TIMEOUT = timedelta(minutes=10)


def _lapsed(action: PowerAction, now: datetime) -> bool:
    return action.next_attempt_at is not None and action.next_attempt_at <= now


@dataclass
class TickReport:
    pools: dict[str, Plan]
    server_groups: dict[str, ServerPlan]
    skipped: list[str]


class PowerController:
    def __init__(
        self,
        store: Store,
        providers: Mapping[str, CloudProvider],
        clock: Clock,
        settings: PowerSettings,
        *,
        locks: PoolLocks | None = None,
        lost_after: timedelta = timedelta(minutes=10),
    ) -> None:
        self.lost_after = lost_after
        self.store = store
        self.providers = providers
        self.clock = clock
        self.settings = settings
        self.locks = locks or locks_for(store.engine)

    # --- the loop -------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Tick every `tick_seconds` until `stop` is set; a failing tick is logged, not fatal."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("power controller tick failed; trying again next tick")
            stop.wait(self.settings.tick_seconds)

    def tick(self) -> TickReport:
        report = TickReport({}, {}, [])
        with self.store.transaction() as session:
            # The one periodic loop also ends the sessions of hosts whose agent went silent,
            # and queues the pools' idle and disconnected session limits for the agents.
            sweep_lost_hosts(session, self.clock.now(), lost_after=self.lost_after)
            enforce_session_timeouts(session, self.clock.now())
        with self.store.sessions() as session:
            pools = list(session.scalars(select(Pool.name).order_by(Pool.name)))
            groups = list(session.scalars(select(ServerGroup.name).order_by(ServerGroup.name)))
        for name in pools:
            result = self.tick_pool(name)
            if result is None:
                report.skipped.append(f"pool {name}")
            else:
                report.pools[name] = result
        for name in groups:
            group_result = self.tick_server_group(name)
            if group_result is None:
                report.skipped.append(f"server group {name}")
            else:
                report.server_groups[name] = group_result
        return report

    def request_capacity(self, pool: str, waiting: int = 1) -> Plan | None:
        """Start on demand: the broker found no room for `waiting` users; plan for them now."""
        return self.tick_pool(pool, waiting=waiting)

    # --- pools ----------------------------------------------------------------------------

    def tick_pool(self, name: str, *, waiting: int = 0) -> Plan | None:
        with self.locks.hold(f"pool:{name}") as held:
            if not held:
                return None
            with self.store.transaction() as session:
                pool = self._load_pool(session, name)
                if not self._reconcile(session, list(pool.hosts)):
                    return None
                now = self.clock.now()
                snapshot, _ = pool_snapshot(session, pool, now, self.settings, waiting=waiting)
                result = plan(snapshot)
                self._record(session, pool.name, list(pool.hosts), result.actions, now)
                self._sample_load(session, pool, now, result.sessions)
                machine_ids = [host.id for host in pool.hosts]
            self._carry_out(machine_ids)
            return result

    def _load_pool(self, session: Session, name: str) -> Pool:
        return session.scalars(
            select(Pool)
            .where(Pool.name == name)
            .options(selectinload(Pool.hosts), selectinload(Pool.power_policy))
        ).one()

    # --- server groups --------------------------------------------------------------------

    def tick_server_group(self, name: str) -> ServerPlan | None:
        with self.locks.hold(f"server-group:{name}") as held:
            if not held:
                return None
            with self.store.transaction() as session:
                group = session.scalars(
                    select(ServerGroup)
                    .where(ServerGroup.name == name)
                    .options(selectinload(ServerGroup.servers))
                ).one()
                servers = list(group.servers)
                if not self._reconcile(session, servers):
                    return None
                now = self.clock.now()
                result = server_group_plan(session, group, now)
                self._record(session, group.name, servers, result.actions, now)
                machine_ids = [server.id for server in servers]
            self._carry_out(machine_ids)
            return result

    # --- reconcile: the provider's state wins ---------------------------------------------

    def _reconcile(self, session: Session, machines: list[Machine]) -> bool:
        now = self.clock.now()
        by_provider: dict[str, list[Machine]] = {}
        for machine in machines:
            by_provider.setdefault(machine.provider, []).append(machine)
        for provider_name, members in by_provider.items():
            provider = self.providers.get(provider_name)
            if provider is None:
                log.warning("no cloud provider %r is configured; skipping", provider_name)
                return False
            try:
                states = provider.power_states([m.provider_id for m in members])
            except (Transient, Permanent) as exc:
                log.warning("cannot read power states from %s: %s", provider_name, exc)
                return False
            for machine in members:
                state = states.get(machine.provider_id)
                if state is None:
                    log.warning("%s does not know machine %s", provider_name, machine.name)
                    continue
                self._observe(session, machine, state, now)
        return True

    def _observe(
        self, session: Session, machine: Machine, state: PowerState, now: datetime
    ) -> None:
        open_usage = session.scalars(
            select(HostUsage).where(
                HostUsage.machine_id == machine.id, HostUsage.ended_at.is_(None)
            )
        ).first()
        if open_usage is None or open_usage.power_state is not state:
            if open_usage is not None:
                open_usage.ended_at = now
            session.add(HostUsage(machine_id=machine.id, power_state=state, started_at=now))
        if machine.power_state is not state or machine.power_state_at is None:
            machine.power_state = state
            machine.power_state_at = now
        if state is PowerState.OFF:
            machine.logoff_notice_at = None
            for ghost in session.scalars(
                select(UserSession).where(
                    UserSession.machine_id == machine.id, UserSession.state.in_(LIVE_STATES)
                )
            ):
                log.info("ending session %s: host %s is off", ghost.id, machine.name)
                ghost.state = SessionState.ENDED
                ghost.ended_at = now

    # --- record what the plan decided -----------------------------------------------------

    def _record(
        self,
        session: Session,
        owner: str,
        machines: list[Machine],
        actions: tuple[Action, ...],
        now: datetime,
    ) -> None:
        by_name = {machine.name: machine for machine in machines}
        waiting_for_agent = set(
            session.scalars(
                select(PowerAction.machine_id).where(
                    PowerAction.machine_id.in_([m.id for m in machines]),
                    PowerAction.state == PowerActionState.PENDING,
                    PowerAction.action.in_(AGENT_COMMANDS),
                )
            )
        )
        for action in actions:
            machine = by_name[action.host]
            state = PowerActionState.PENDING
            if action.kind is PowerActionKind.DRAIN:
                machine.drain, machine.drain_by_policy = True, True
                state = PowerActionState.SUCCEEDED
            elif action.kind is PowerActionKind.UNDRAIN:
                machine.drain, machine.drain_by_policy = False, False
                machine.logoff_notice_at = None
                state = PowerActionState.SUCCEEDED
            elif action.kind in AGENT_COMMANDS:
                if machine.id in waiting_for_agent:
                    continue
                if action.kind is PowerActionKind.NOTIFY:
                    machine.logoff_notice_at = now
            reason = action.reason + (
                " (disconnected sessions only)" if action.expired_only else ""
            )
            session.add(
                PowerAction(
                    machine_id=machine.id,
                    action=action.kind,
                    reason=reason[:400],
                    state=state,
                    idempotency_key=f"{owner}/{machine.name}/{action.kind.value}/{now.isoformat()}",
                    requested_at=now,
                    finished_at=now if state is PowerActionState.SUCCEEDED else None,
                )
            )

    def _sample_load(self, session: Session, pool: Pool, now: datetime, sessions: int) -> None:
        last = session.scalar(
            select(PoolLoadSample.at)
            .where(PoolLoadSample.pool_id == pool.id)
            .order_by(PoolLoadSample.at.desc())
            .limit(1)
        )
        if last is None or now - last >= timedelta(minutes=self.settings.sample_minutes):
            session.add(PoolLoadSample(pool_id=pool.id, at=now, sessions=sessions))

    # --- carry out starts and stops -------------------------------------------------------

    def _carry_out(self, machine_ids: list[int]) -> None:
        now = self.clock.now()
        with self.store.sessions() as session:
            due = list(
                session.scalars(
                    select(PowerAction.id)
                    .where(
                        PowerAction.machine_id.in_(machine_ids),
                        PowerAction.action.in_((PowerActionKind.START, PowerActionKind.STOP)),
                        (
                            (PowerAction.state == PowerActionState.PENDING)
                            & (
                                PowerAction.next_attempt_at.is_(None)
                                | (PowerAction.next_attempt_at <= now)
                            )
                        )
                        | (
                            (PowerAction.state == PowerActionState.RUNNING)
                            & (PowerAction.next_attempt_at <= now)
                        ),
                    )
                    .order_by(PowerAction.id)
                )
            )
        for action_id in due:
            self._carry_out_one(action_id)

    def _carry_out_one(self, action_id: int) -> None:
        """Claim the action, call the cloud with no transaction open, then record the outcome.

        No database lock is held while the cloud answers (SQLite has one writer).
        A claim lapses after `CLAIM_TIMEOUT`, so an action whose process died
        mid-call is carried out again; the verbs are idempotent.
        """
        with self.store.transaction() as session:
            action = session.get(PowerAction, action_id)
            now = self.clock.now()
            if action is None or not (
                action.state is PowerActionState.PENDING
                or (action.state is PowerActionState.RUNNING and _lapsed(action, now))
            ):
                return
            machine = action.machine
            if action.action is PowerActionKind.STOP:
                reason = self._stop_is_unsafe(session, machine)
                if reason:
                    action.state, action.finished_at = PowerActionState.FAILED, now
                    action.error = f"cancelled: {reason}"
                    log.info("stop of %s cancelled: %s", machine.name, reason)
                    return
            action.state, action.attempts = PowerActionState.RUNNING, action.attempts + 1
            action.next_attempt_at = now + CLAIM_TIMEOUT
            kind, provider_name, provider_id = action.action, machine.provider, machine.provider_id
            name, attempts = machine.name, action.attempts
        failure: AnyplaceError | None = None
        provider = self.providers.get(provider_name)
        try:
            if provider is None:
                raise Permanent(f"no cloud provider {provider_name!r} is configured")
            if kind is PowerActionKind.START:
                provider.start(provider_id)
            else:
                provider.stop(provider_id)
        except (Transient, Permanent) as exc:
            failure = exc
        with self.store.transaction() as session:
            action = session.get(PowerAction, action_id)
            if action is None:
                return
            now = self.clock.now()
            if failure is None:
                state = (
                    PowerState.STARTING if kind is PowerActionKind.START else PowerState.STOPPING
                )
                self._observe(session, action.machine, state, now)
                action.state, action.finished_at, action.error = (
                    PowerActionState.SUCCEEDED,
                    now,
                    None,
                )
                return
            action.error = str(failure)[:2000]
            if isinstance(failure, Permanent) or attempts >= self.settings.max_attempts:
                action.state, action.finished_at = PowerActionState.FAILED, now
                log.warning("%s of %s failed after %d attempts: %s", kind.value, name, attempts,
                            failure)  # fmt: skip
                return
            wait = backoff_seconds(
                attempts, base=self.settings.retry_base_seconds, cap=self.settings.retry_cap_seconds
            )
            action.state, action.next_attempt_at = (
                PowerActionState.PENDING,
                now + timedelta(seconds=wait),
            )

    def _stop_is_unsafe(self, session: Session, machine: Machine) -> str | None:
        """Why stopping `machine` now would cut someone off, if it would."""
        if machine.pool_id is None:
            return None
        if not machine.drain:
            return "the host is no longer drained"
        live = session.scalar(
            select(UserSession.id)
            .where(UserSession.machine_id == machine.id, UserSession.state.in_(LIVE_STATES))
            .limit(1)
        )
        return "the host has a session again" if live is not None else None
