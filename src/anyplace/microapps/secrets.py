"""Connector credentials, encrypted at rest with Fernet (AES-128-CBC and HMAC-SHA256).

The key is in the configuration (`[microapps] secret_key`, best given as
ANYPLACE_MICROAPPS_SECRET_KEY), never in the store: a copy of the database
alone does not give away a password. Values are never logged or shown again.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.errors import ConfigError, Permanent
from anyplace.store.access import Store
from anyplace.store.models import ConnectorSecret

__all__ = ["SecretStore", "new_key"]


def new_key() -> str:
    return Fernet.generate_key().decode()


class SecretStore:
    def __init__(self, store: Store, key: str | None) -> None:
        self.store = store
        try:
            self._fernet = Fernet(key.encode()) if key else None
        except ValueError:
            raise ConfigError(
                "[microapps] secret_key is not a Fernet key (anyplace secret key)"
            ) from None

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            raise Permanent("no [microapps] secret_key is configured: secrets cannot be read")
        return self._fernet

    def set(self, session: Session, clock: Clock, name: str, value: str) -> None:
        token = self._cipher().encrypt(value.encode())
        row = session.get(ConnectorSecret, name)
        if row is None:
            session.add(ConnectorSecret(name=name, ciphertext=token, updated_at=clock.now()))
        else:
            row.ciphertext, row.updated_at = token, clock.now()

    def get(self, name: str) -> str:
        with self.store.sessions() as session:
            row = session.get(ConnectorSecret, name)
            if row is None:
                raise Permanent(f"no secret named {name!r} (anyplace secret set {name})")
            try:
                return self._cipher().decrypt(row.ciphertext).decode()
            except InvalidToken:
                raise Permanent(f"the secret {name!r} was stored with another key") from None
