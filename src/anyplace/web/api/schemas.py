"""What the API returns: stable shapes, independent of the table layout.

The CLI's ``--json`` output uses the same models, so both say the same thing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from anyplace.domain import AppKind, LoadBalancing, PowerState, SessionState
from anyplace.store.models import App, Pool

__all__ = ["AppOut", "HostOut", "PoolOut", "SessionOut"]


class AppOut(BaseModel):
    slug: str
    name: dict[str, str]
    category: str
    kind: AppKind
    pool: str | None
    keywords: list[str]
    url: str | None
    groups: list[str]

    @classmethod
    def from_row(cls, app: App) -> AppOut:
        return cls(
            slug=app.slug,
            name={"da": app.name_da, "en": app.name_en},
            category=app.category.slug,
            kind=app.kind,
            pool=app.pool.name if app.pool else None,
            keywords=app.keywords,
            url=app.url,
            groups=sorted(group.name for group in app.groups),
        )


class PoolOut(BaseModel):
    name: str
    display_name: str
    max_sessions_per_host: int
    load_balancing: LoadBalancing
    provider: str
    vm_size: str
    price_per_hour: Decimal
    currency: str
    power_policy: str | None
    hosts: int
    hosts_on: int

    @classmethod
    def from_row(cls, pool: Pool) -> PoolOut:
        return cls(
            name=pool.name,
            display_name=pool.display_name,
            max_sessions_per_host=pool.max_sessions_per_host,
            load_balancing=pool.load_balancing,
            provider=pool.provider,
            vm_size=pool.vm_size.name,
            price_per_hour=pool.vm_size.price_per_hour,
            currency=pool.vm_size.currency,
            power_policy=pool.power_policy.name if pool.power_policy else None,
            hosts=len(pool.hosts),
            hosts_on=sum(1 for host in pool.hosts if host.power_state is PowerState.ON),
        )


class HostOut(BaseModel):
    name: str
    pool: str
    provider_id: str
    power_state: PowerState
    drain: bool
    maintenance: bool
    registered: bool
    last_heartbeat_at: datetime | None
    sessions: int
    cpu_percent: float | None
    memory_percent: float | None


class SessionOut(BaseModel):
    id: int
    user: str
    pool: str
    host: str | None
    state: SessionState
    apps: list[str]
    created_at: datetime
    connected_at: datetime | None
    disconnected_at: datetime | None
    ended_at: datetime | None
