"""The domain as tables (DESIGN.md, "Domain").

The schema is made by the Alembic migrations in `migrations/`, never by
`create_all`; a test compares these models with the migrated schema on every
backend, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from anyplace.domain import (
    AppKind,
    IdentitySource,
    LoadBalancing,
    Phase,
    PowerActionKind,
    PowerActionState,
    PowerState,
    SessionState,
)
from anyplace.store.types import UTCDateTime

__all__ = [
    "ApiToken",
    "App",
    "AuditEvent",
    "Base",
    "Category",
    "EnrolmentToken",
    "Group",
    "HostUsage",
    "Launch",
    "Machine",
    "Pool",
    "PoolLoadSample",
    "PowerAction",
    "PowerPolicy",
    "SchedulePhase",
    "ServerGroup",
    "Session",
    "User",
    "VmSize",
    "entitlements",
    "group_members",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(kind: type[Any]) -> Enum:
    """A string column holding an enum's values (not names), portable across backends."""
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


group_members = Table(
    "group_members",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)

entitlements = Table(
    "entitlements",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    department: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[IdentitySource] = mapped_column(_enum(IdentitySource))
    external_id: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    groups: Mapped[list[Group]] = relationship(secondary=group_members, back_populates="members")


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    source: Mapped[IdentitySource] = mapped_column(_enum(IdentitySource))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)

    members: Mapped[list[User]] = relationship(secondary=group_members, back_populates="groups")
    apps: Mapped[list[App]] = relationship(secondary=entitlements, back_populates="groups")


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_da: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class VmSize(Base):
    """A machine size with its price: what an hour of a host costs (DESIGN.md, metering)."""

    __tablename__ = "vm_sizes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    vcpus: Mapped[int] = mapped_column(SmallInteger)
    memory_gb: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    price_per_hour: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    disk_price_per_hour: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))


class PowerPolicy(Base):
    """When and how far a pool or server group is powered (AVD scaling plan, Citrix Autoscale)."""

    __tablename__ = "power_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Copenhagen")
    holidays_country: Mapped[str | None] = mapped_column(String(8))
    holiday_phase: Mapped[Phase] = mapped_column(_enum(Phase), default=Phase.OFF_PEAK)
    closed_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    open_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    power_off_delay_minutes: Mapped[int] = mapped_column(Integer, default=30)
    disconnect_timeout_minutes: Mapped[int | None] = mapped_column(Integer)
    idle_timeout_minutes: Mapped[int | None] = mapped_column(Integer)
    forced_logoff: Mapped[bool] = mapped_column(Boolean, default=False)
    logoff_grace_minutes: Mapped[int] = mapped_column(Integer, default=15)
    max_concurrent_actions: Mapped[int] = mapped_column(Integer, default=5)

    phases: Mapped[list[SchedulePhase]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="SchedulePhase.id"
    )


class SchedulePhase(Base):
    """One phase's start on a set of weekdays, with its minimum and buffer."""

    __tablename__ = "schedule_phases"
    __table_args__ = (
        CheckConstraint("weekdays > 0 AND weekdays < 128", name="weekdays_mask"),
        CheckConstraint("buffer_percent >= 0 AND buffer_percent <= 100", name="buffer_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("power_policies.id", ondelete="CASCADE"), index=True
    )
    weekdays: Mapped[int] = mapped_column(SmallInteger)  # bit mask, Monday = 1
    phase: Mapped[Phase] = mapped_column(_enum(Phase))
    start: Mapped[time] = mapped_column(Time)
    min_hosts: Mapped[int] = mapped_column(Integer, default=0)
    min_percent: Mapped[int] = mapped_column(Integer, default=0)
    buffer_percent: Mapped[int] = mapped_column(Integer, default=10)

    policy: Mapped[PowerPolicy] = relationship(back_populates="phases")


class Pool(Base):
    """A delivery group / host pool: hosts that serve the same apps."""

    __tablename__ = "pools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    max_sessions_per_host: Mapped[int] = mapped_column(Integer)
    load_balancing: Mapped[LoadBalancing] = mapped_column(_enum(LoadBalancing))
    provider: Mapped[str] = mapped_column(String(32))
    vm_size_id: Mapped[int] = mapped_column(ForeignKey("vm_sizes.id"))
    power_policy_id: Mapped[int | None] = mapped_column(ForeignKey("power_policies.id"))
    boot_minutes: Mapped[int] = mapped_column(Integer, default=5)

    vm_size: Mapped[VmSize] = relationship()
    power_policy: Mapped[PowerPolicy | None] = relationship()
    hosts: Mapped[list[Machine]] = relationship(back_populates="pool", order_by="Machine.name")


class ServerGroup(Base):
    """Plain servers (no sessions) on a schedule: started in order, stopped in reverse."""

    __tablename__ = "server_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(32))
    power_policy_id: Mapped[int | None] = mapped_column(ForeignKey("power_policies.id"))

    power_policy: Mapped[PowerPolicy | None] = relationship()
    servers: Mapped[list[Machine]] = relationship(
        back_populates="server_group", order_by="Machine.start_order"
    )


class Machine(Base):
    """A virtual machine: a session host when it belongs to a pool, a plain server in a group."""

    __tablename__ = "machines"
    __table_args__ = (
        CheckConstraint(
            "(pool_id IS NULL) <> (server_group_id IS NULL)", name="pool_or_server_group"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pools.id"), index=True)
    server_group_id: Mapped[int | None] = mapped_column(ForeignKey("server_groups.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_id: Mapped[str] = mapped_column(String(400))
    vm_size_id: Mapped[int] = mapped_column(ForeignKey("vm_sizes.id"))
    power_state: Mapped[PowerState] = mapped_column(_enum(PowerState), default=PowerState.OFF)
    power_state_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    start_order: Mapped[int] = mapped_column(Integer, default=0)
    drain: Mapped[bool] = mapped_column(Boolean, default=False)
    drain_by_policy: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """True when autoscale drained the host (and may undrain it); an admin's drain is False."""
    logoff_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agent_secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    agent_boot: Mapped[str | None] = mapped_column(String(64))
    heartbeat_seq: Mapped[int | None] = mapped_column(Integer)
    cpu_percent: Mapped[float | None] = mapped_column()
    memory_percent: Mapped[float | None] = mapped_column()

    pool: Mapped[Pool | None] = relationship(back_populates="hosts")
    server_group: Mapped[ServerGroup | None] = relationship(back_populates="servers")
    vm_size: Mapped[VmSize] = relationship()


class App(Base):
    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_da: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_da: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    icon: Mapped[str | None] = mapped_column(String(64))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    kind: Mapped[AppKind] = mapped_column(_enum(AppKind))
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pools.id"), index=True)
    program: Mapped[str | None] = mapped_column(String(400))
    arguments: Mapped[str | None] = mapped_column(String(400))
    url: Mapped[str | None] = mapped_column(String(2000))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[Category] = relationship()
    pool: Mapped[Pool | None] = relationship()
    groups: Mapped[list[Group]] = relationship(secondary=entitlements, back_populates="apps")


class Session(Base):
    """A user's session on a host, from launch to logoff."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machines.id"), index=True)
    state: Mapped[SessionState] = mapped_column(_enum(SessionState), index=True)
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
    action: Mapped[PowerActionKind] = mapped_column(_enum(PowerActionKind))
    reason: Mapped[str] = mapped_column(String(400))
    state: Mapped[PowerActionState] = mapped_column(_enum(PowerActionState), index=True)
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
    power_state: Mapped[PowerState] = mapped_column(_enum(PowerState))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cpu_percent: Mapped[float | None] = mapped_column()


class EnrolmentToken(Base):
    """A one-time secret with which a host's agent enrols and gets its own credential."""

    __tablename__ = "enrolment_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    machine: Mapped[Machine] = relationship()


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


class ApiToken(Base):
    """A bearer token for the API; only a hash of the secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()
