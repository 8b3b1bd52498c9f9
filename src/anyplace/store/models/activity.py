"""What happens: sessions, launches, power actions, machine time, load samples, audit."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anyplace.domain import (
    PowerActionKind,
    PowerActionState,
    PowerState,
    SessionState,
)
from anyplace.store.models.base import Base, enum_column
from anyplace.store.types import UTCDateTime

if TYPE_CHECKING:
    from anyplace.store.models.catalog import App
    from anyplace.store.models.estate import Machine, Pool
    from anyplace.store.models.identity import User

__all__ = ["AuditEvent", "HostUsage", "Launch", "PoolLoadSample", "PowerAction", "Session"]


class Session(Base):
    """A user's session on a host, from launch to logoff."""

    __tablename__ = "sessions"
    # Placement counts each host's live sessions on every launch batch: with the state in
    # the index, that count never reads the table.
    __table_args__ = (Index("ix_sessions_machine_id_state", "machine_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machines.id"))
    state: Mapped[SessionState] = mapped_column(enum_column(SessionState), index=True)
    apps: Mapped[list[str]] = mapped_column(JSON, default=list)
    external_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    pool: Mapped[Pool] = relationship()
    machine: Mapped[Machine | None] = relationship()


class PowerAction(Base):
    """What was asked of the cloud, recorded before it is carried out (DESIGN.md, principle 5)."""

    __tablename__ = "power_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"), index=True)
    action: Mapped[PowerActionKind] = mapped_column(enum_column(PowerActionKind))
    reason: Mapped[str] = mapped_column(String(400))
    state: Mapped[PowerActionState] = mapped_column(enum_column(PowerActionState), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    """For a logoff of one session (by its user or an admin) rather than the whole host."""

    machine: Mapped[Machine] = relationship()


class HostUsage(Base):
    """A stretch of time a machine spent in one power state: the basis of cost and CO2."""

    __tablename__ = "host_usage"

    id: Mapped[int] = mapped_column(primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"), index=True)
    power_state: Mapped[PowerState] = mapped_column(enum_column(PowerState))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cpu_percent: Mapped[float | None] = mapped_column()


class Launch(Base):
    """A user's request to open an app: placed on a host now, or waiting for one to start.

    The connection is handed out once, against a ticket that is bound to the
    user, expires within a minute and is spent on first use (Citrix STA and
    OpenUDS tickets work the same way); only the ticket's hash is kept.
    """

    __tablename__ = "launches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pools.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    client: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    app: Mapped[App] = relationship()
    pool: Mapped[Pool | None] = relationship()
    session: Mapped[Session | None] = relationship()


class PoolLoadSample(Base):
    """Sessions in a pool at an instant: the history the forecast learns each weekday from."""

    __tablename__ = "pool_load_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    sessions: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_pool_load_samples_pool_at", "pool_id", "at"),)


class AuditEvent(Base):
    """Who did what, when: every admin action and every access to personal data."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject: Mapped[str | None] = mapped_column(String(16), index=True)
    """The person (CPR number) whose data was touched, for the GDPR access report."""
