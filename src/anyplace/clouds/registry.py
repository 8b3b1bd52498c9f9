"""The providers a process talks to, built from configuration.

Registered explicitly by name (DESIGN.md, principle 6). The simulated cloud is
always there; it is told about every machine whose provider is `sim`, in the
state the store last saw. Azure, AWS and libvirt are built only when
configured, and their SDKs are imported only then.
"""

from __future__ import annotations

from sqlalchemy import select

from anyplace.clock import Clock
from anyplace.clouds.base import CloudProvider
from anyplace.clouds.sim import SimCloud
from anyplace.config import CloudSettings
from anyplace.domain import PowerState
from anyplace.errors import ConfigError
from anyplace.store.access import Store
from anyplace.store.models import Machine, Pool

__all__ = ["build_providers"]


def build_providers(
    settings: CloudSettings, store: Store, clock: Clock
) -> dict[str, CloudProvider]:
    sim = SimCloud(clock, seed=settings.sim_seed, failure_rate=settings.sim_failure_rate)
    providers: dict[str, CloudProvider] = {"sim": sim}
    with store.sessions() as session:
        rows = session.execute(
            select(Machine.provider_id, Machine.power_state, Pool.boot_minutes)
            .outerjoin(Pool, Machine.pool_id == Pool.id)
            .where(Machine.provider == "sim")
        ).all()
        used = set(session.scalars(select(Machine.provider).distinct()))
    for provider_id, state, boot_minutes in rows:
        settled = PowerState.ON if state in (PowerState.ON, PowerState.STARTING) else PowerState.OFF
        sim.add_machine(provider_id, boot_minutes=boot_minutes or 3, state=settled)
    if settings.azure_subscription_id:
        from anyplace.clouds.azure import AzureCloud  # noqa: PLC0415 - optional SDK

        providers["azure"] = AzureCloud.from_default_credential(settings.azure_subscription_id)
    if settings.aws_region:
        from anyplace.clouds.aws import AwsCloud  # noqa: PLC0415 - optional SDK

        providers["aws"] = AwsCloud.from_region(
            settings.aws_region, hibernate=settings.aws_hibernate
        )
    if settings.libvirt_uri:
        from anyplace.clouds.libvirt import LibvirtCloud  # noqa: PLC0415 - optional SDK

        providers["libvirt"] = LibvirtCloud.open(settings.libvirt_uri)
    missing = sorted(used - set(providers))
    if missing:
        hints = {
            "azure": "[cloud] azure_subscription_id",
            "aws": "[cloud] aws_region",
            "libvirt": "[cloud] libvirt_uri",
        }
        needed = ", ".join(f"{name} ({hints.get(name, 'unknown provider')})" for name in missing)
        raise ConfigError(f"machines use clouds that are not configured: {needed}")
    return providers
