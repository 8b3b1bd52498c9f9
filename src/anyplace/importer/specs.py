"""What each entry of a data file may say, as pydantic models.

The models check one entry at a time; references between entries (an app's
pool, a user's groups) are checked by `dataset.py`, which knows every file.
"""

from __future__ import annotations

import itertools
from datetime import date, time
from decimal import Decimal
from math import ceil
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from anyplace.domain import AppKind, LoadBalancing, Phase, Weekday

__all__ = [
    "AppSpec",
    "CategorySpec",
    "GroupSpec",
    "MachineSpec",
    "PhaseSpec",
    "PoolSpec",
    "PowerPolicySpec",
    "ScheduleSpec",
    "ServerGroupSpec",
    "UserSpec",
    "VmSizeSpec",
]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
MachineName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$", max_length=64)
]
Percent = Annotated[int, Field(ge=0, le=100)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
PROVIDERS = ("sim", "azure", "aws", "libvirt")


def _known_provider(value: str) -> str:
    if value not in PROVIDERS:
        raise ValueError(f"unknown provider {value!r}; one of {', '.join(PROVIDERS)}")
    return value


Provider = Annotated[str, AfterValidator(_known_provider)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VmSizeSpec(_Spec):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    vcpus: Annotated[int, Field(gt=0, le=1024)]
    memory_gb: Annotated[Decimal, Field(gt=0)]
    price_per_hour: Annotated[Decimal, Field(ge=0)]
    disk_price_per_hour: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class GroupSpec(_Spec):
    name: Slug
    display_name: Name
    admin: bool = False


class UserSpec(_Spec):
    username: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._@-]*$", max_length=128)]
    name: Name
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    department: Slug | None = None
    groups: list[Slug] = []


class CategorySpec(_Spec):
    slug: Slug
    da: Name
    en: Name
    order: int = 0


class AppSpec(_Spec):
    slug: Slug
    da: Name
    en: Name
    category: Slug
    kind: AppKind
    pool: Slug | None = None
    program: str | None = None
    arguments: str | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https?://")] | None = None
    icon: str | None = None
    keywords: list[str] = []
    groups: list[Slug] = []
    description_da: str | None = None
    description_en: str | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        if self.kind is AppKind.WEB:
            if not self.url:
                raise ValueError("a web app needs a url")
            if self.pool:
                raise ValueError("a web app has no pool")
        else:
            if not self.pool:
                raise ValueError(f"a {self.kind.value} app needs a pool")
            if self.kind is AppKind.HOSTED and not self.program:
                raise ValueError("a hosted app needs a program (the RemoteApp alias, e.g. ||calc)")
        return self


class PhaseSpec(_Spec):
    phase: Phase
    start: time
    min_hosts: Annotated[int, Field(ge=0)] = 0
    min_percent: Percent = 0
    buffer_percent: Percent = 10

    @field_validator("start", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                hours, minutes = value.split(":")
                return time(int(hours), int(minutes))
            except ValueError:
                raise ValueError(f"{value!r} is not a time of day HH:MM") from None
        return value


class ScheduleSpec(_Spec):
    days: Annotated[list[Weekday], Field(min_length=1)]
    phases: Annotated[list[PhaseSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len(set(self.days)) != len(self.days):
            raise ValueError("a weekday is named twice")
        starts = [phase.start for phase in self.phases]
        if len(set(starts)) != len(starts):
            raise ValueError("two phases start at the same time")
        names = [phase.phase for phase in self.phases]
        if len(set(names)) != len(names):
            raise ValueError("a phase appears twice on the same days")
        in_time = sorted(self.phases, key=lambda phase: phase.start)
        order = list(Phase)
        for earlier, later in itertools.pairwise(in_time):
            if order.index(earlier.phase) > order.index(later.phase):
                raise ValueError(
                    f"phases overlap: {later.phase.value} at {later.start:%H:%M} comes after "
                    f"{earlier.phase.value} at {earlier.start:%H:%M}; the order is "
                    "ramp_up, peak, ramp_down, off_peak"
                )
        return self


class PowerPolicySpec(_Spec):
    name: Slug
    timezone: str = "Europe/Copenhagen"
    holidays: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = "DK"
    holiday_phase: Phase = Phase.OFF_PEAK
    closed_days: list[date] = []
    open_days: list[date] = []
    power_off_delay_minutes: Minutes = 30
    disconnect_timeout_minutes: Minutes | None = None
    idle_timeout_minutes: Minutes | None = None
    forced_logoff: bool = False
    logoff_grace_minutes: Minutes = 15
    max_concurrent_actions: Annotated[int, Field(ge=1, le=1000)] = 5
    schedule: list[ScheduleSpec] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Copenhagen)"
            )
        try:
            ZoneInfo(value)
        except ZoneInfoNotFoundError:
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _each_day_once(self) -> Self:
        seen: set[Weekday] = set()
        for entry in self.schedule:
            twice = seen.intersection(entry.days)
            if twice:
                names = ", ".join(sorted(day.value for day in twice))
                raise ValueError(f"overlapping schedules: {names} appear in more than one entry")
            seen.update(entry.days)
        if set(self.closed_days) & set(self.open_days):
            raise ValueError("a day cannot be both closed and open")
        return self

    def largest_minimum(self, pool_size: int) -> int:
        """The most hosts any phase asks to keep on, for a pool of `pool_size` hosts."""
        most = 0
        for entry in self.schedule:
            for phase in entry.phases:
                most = max(most, phase.min_hosts, ceil(pool_size * phase.min_percent / 100))
        return most


class MachineSpec(_Spec):
    name: MachineName
    provider_id: str | None = None
    vm_size: str | None = None
    order: int = 0


class PoolSpec(_Spec):
    name: Slug
    display_name: Name
    description: str | None = None
    vm_size: str
    max_sessions_per_host: Annotated[int, Field(gt=0, le=10_000)]
    load_balancing: LoadBalancing = LoadBalancing.BREADTH_FIRST
    provider: Provider = "sim"
    power_policy: Slug | None = None
    boot_minutes: Annotated[int, Field(ge=0, le=120)] = 5
    host_prefix: MachineName | None = None
    host_count: Annotated[int, Field(ge=0, le=10_000)] = 0
    hosts: list[MachineSpec] = []

    @model_validator(mode="after")
    def _prefix_with_count(self) -> Self:
        if self.host_count and not self.host_prefix:
            raise ValueError("host_count needs a host_prefix to name the hosts")
        return self

    def machines(self) -> list[MachineSpec]:
        """The explicit hosts, then `host_count` more named prefix01, prefix02 ..."""
        width = max(2, len(str(self.host_count)))
        generated = [
            MachineSpec(name=f"{self.host_prefix}{number:0{width}d}")
            for number in range(1, self.host_count + 1)
        ]
        return [*self.hosts, *generated]


class ServerGroupSpec(_Spec):
    name: Slug
    display_name: Name
    description: str | None = None
    provider: Provider = "sim"
    power_policy: Slug | None = None
    vm_size: str
    servers: Annotated[list[MachineSpec], Field(min_length=1)]
