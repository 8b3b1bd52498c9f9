"""What the client gets for a ready launch: an .rdp file, or a Guacamole URL."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from anyplace.broker.guacamole import encrypt_token, guacamole_url, rdp_connection
from anyplace.broker.rdp import RdpSigner, remoteapp_settings, render_rdp
from anyplace.clock import Clock
from anyplace.config import BrokerSettings
from anyplace.errors import AnyplaceError
from anyplace.store.models import Launch

__all__ = ["html5_url", "rdp_file"]


def _address(launch: Launch, settings: BrokerSettings) -> str:
    session = launch.session
    if session is None or session.machine is None:
        raise AnyplaceError("the launch has no host yet")
    name = session.machine.name
    return f"{name}.{settings.host_domain}" if settings.host_domain else name


@lru_cache(maxsize=4)
def _signer(certificate: str, key: str) -> RdpSigner:
    return RdpSigner.from_pem(Path(certificate).read_bytes(), Path(key).read_bytes())


def rdp_file(launch: Launch, settings: BrokerSettings) -> str:
    app = launch.app
    settings_map = remoteapp_settings(
        host=_address(launch, settings),
        program=app.program,
        name=app.name_da,
        arguments=app.arguments,
        gateway=settings.rdp_gateway,
    )
    signer = None
    if settings.rdp_signing_certificate and settings.rdp_signing_key:
        signer = _signer(settings.rdp_signing_certificate, settings.rdp_signing_key)
    return render_rdp(settings_map, signer)


def html5_url(launch: Launch, settings: BrokerSettings, clock: Clock) -> str:
    if not settings.guacamole_url or settings.guacamole_key is None:
        raise AnyplaceError("HTML5 sessions are not configured ([broker] guacamole_url and key)")
    expires = clock.now().timestamp() + settings.ticket_seconds
    payload = {
        "username": launch.user.username,
        "expires": int(expires * 1000),
        "singleUse": True,
        "connections": {
            launch.app.name_da: rdp_connection(
                host=_address(launch, settings),
                username=launch.user.username,
                program=launch.app.program,
            )
        },
    }
    token = encrypt_token(payload, settings.guacamole_key.get_secret_value())
    return guacamole_url(settings.guacamole_url, token)
