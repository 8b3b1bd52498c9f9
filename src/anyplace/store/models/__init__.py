"""The domain as tables (DESIGN.md, "Domain"), one module per area; import from here."""

from anyplace.store.models.activity import (
    AuditEvent,
    HostUsage,
    Launch,
    PoolLoadSample,
    PowerAction,
    Session,
)
from anyplace.store.models.base import NAMING_CONVENTION, Base, entitlements, group_members
from anyplace.store.models.catalog import App, Category
from anyplace.store.models.estate import (
    EnrolmentToken,
    Machine,
    Pool,
    PowerPolicy,
    SchedulePhase,
    ServerGroup,
    VmSize,
)
from anyplace.store.models.identity import (
    ApiToken,
    Favourite,
    Group,
    LoginFailure,
    User,
    WebSession,
)
from anyplace.store.models.microapps import ConnectorSecret, Delivery, Submission

__all__ = [
    "NAMING_CONVENTION",
    "ApiToken",
    "App",
    "AuditEvent",
    "Base",
    "Category",
    "ConnectorSecret",
    "Delivery",
    "EnrolmentToken",
    "Favourite",
    "Group",
    "HostUsage",
    "Launch",
    "LoginFailure",
    "Machine",
    "Pool",
    "PoolLoadSample",
    "PowerAction",
    "PowerPolicy",
    "SchedulePhase",
    "ServerGroup",
    "Session",
    "Submission",
    "User",
    "VmSize",
    "WebSession",
    "entitlements",
    "group_members",
]
