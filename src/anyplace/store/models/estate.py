"""The estate: machine sizes, power policies, pools, server groups and machines."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from anyplace.domain import (
    LoadBalancing,
    Phase,
    PowerState,
)
from anyplace.store.models.base import Base, enum_column
from anyplace.store.types import UTCDateTime

__all__ = [
    "EnrolmentToken",
    "Machine",
    "Pool",
    "PowerPolicy",
    "SchedulePhase",
    "ServerGroup",
    "VmSize",
]


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
    holiday_phase: Mapped[Phase] = mapped_column(enum_column(Phase), default=Phase.OFF_PEAK)
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
    phase: Mapped[Phase] = mapped_column(enum_column(Phase))
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
    load_balancing: Mapped[LoadBalancing] = mapped_column(enum_column(LoadBalancing))
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
    power_state: Mapped[PowerState] = mapped_column(enum_column(PowerState), default=PowerState.OFF)
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
