"""Configuration: one TOML file, overridden by ANYPLACE_* environment variables.

Each table of the file is a section (``[database]``, ``[server]`` ...) and each
key in it can be overridden by ``ANYPLACE_<SECTION>_<KEY>``: ``[database] url``
by ``ANYPLACE_DATABASE_URL``. The whole configuration is validated at start, and
an error names the file, the line and the key (or the variable) that is wrong,
because an operator reading a log at 07:00 should not have to guess.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from anyplace.errors import ConfigError

__all__ = [
    "AuthSettings",
    "BrokerSettings",
    "CloudSettings",
    "DatabaseSettings",
    "LdapSettings",
    "MicroappSettings",
    "OidcSettings",
    "PowerSettings",
    "ServerSettings",
    "Settings",
    "load_settings",
]

CONFIG_ENV = "ANYPLACE_CONFIG"
DEFAULT_CONFIG_FILE = "anyplace.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///anyplace.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class BrokerSettings(_Section):
    heartbeat_seconds: float = Field(default=30, gt=0, le=3600)
    ticket_seconds: int = Field(default=60, ge=5, le=300)
    lost_after_minutes: float = Field(default=10, gt=0)
    """A host silent this long has its sessions ended (Citrix deregisters a VDA after 10)."""
    host_domain: str | None = None
    """Appended to a host's name for the address clients connect to (gen-01.kommune.local)."""
    rdp_gateway: str | None = None
    rdp_signing_certificate: str | None = None
    rdp_signing_key: str | None = None
    guacamole_url: str | None = None
    guacamole_key: SecretStr | None = None
    """The 32-hex-digit key shared with guacamole-auth-json; never logged."""
    simulated_agents_url: str | None = None
    """Demo only: run the agent in-process for every simulated host, talking to this URL."""


class PowerSettings(_Section):
    enabled: bool = True
    tick_seconds: float = Field(default=60, gt=0, le=3600)
    sample_minutes: float = Field(default=5, gt=0, le=60)
    forecast_weeks: int = Field(default=8, ge=0, le=52)
    max_attempts: int = Field(default=5, ge=1, le=100)
    retry_base_seconds: float = Field(default=30, gt=0)
    retry_cap_seconds: float = Field(default=900, gt=0)
    grid_g_per_kwh: float = Field(default=96.0, ge=0)
    grid_csv: str | None = None
    billing_unit_seconds: int | None = Field(default=None, ge=1)


class CloudSettings(_Section):
    """Which clouds the machines of pools and server groups live in (each names its own)."""

    sim_seed: int = 0
    sim_failure_rate: float = Field(default=0.0, ge=0.0, lt=1.0)
    azure_subscription_id: str | None = None
    aws_region: str | None = None
    aws_hibernate: bool = False
    libvirt_uri: str | None = None


class AuthSettings(_Section):
    """Signing in to the portal: browser sessions and local accounts."""

    secret_key: SecretStr | None = None
    """Signs the short-lived sign-in cookie (OIDC state); set the same one on every replica.

    Without it each process makes its own, so a sign-in must finish on the replica
    that began it."""
    idle_minutes: float = Field(default=60, gt=0, le=24 * 60)
    absolute_hours: float = Field(default=10, gt=0, le=7 * 24)
    """A browser session ends this long after sign-in, however busy (a working day)."""
    local_enabled: bool = True
    demo_accounts: bool = False
    """Show the demo accounts and their password on the sign-in page (``anyplace demo`` only)."""
    lockout_failures: int = Field(default=5, ge=1, le=100)
    """Failed sign-ins for one name (or 4x this from one address) before each next try waits."""


class OidcSettings(_Section):
    """OpenID Connect, e.g. Microsoft Entra ID (issuer https://login.microsoftonline.com/<tenant>/v2.0)."""

    enabled: bool = False
    issuer: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: str = "openid profile email"
    groups_claim: str = "groups"
    """Entra ID sends group object ids here; a group matches by its external id or its name."""
    label: str = "Microsoft"
    redirect_url: str | None = None
    """The callback URL registered at the provider; by default derived from the request."""
    ca_file: str | None = None


class LdapSettings(_Section):
    """LDAP or Active Directory: the user's own bind checks the password."""

    enabled: bool = False
    url: str | None = None
    """ldap://dc1.kommune.local or ldaps://..."""
    start_tls: bool = False
    ca_file: str | None = None
    bind_dn: str | None = None
    bind_password: SecretStr | None = None
    user_base: str | None = None
    user_filter: str = "(&(objectClass=person)(|(uid={username})(sAMAccountName={username})))"
    group_base: str | None = None
    group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    """Groups with this member; followed upwards, so nested groups count (as AD's do)."""
    name_attribute: str = "displayName"
    email_attribute: str = "mail"
    timeout_seconds: float = Field(default=5, gt=0, le=60)


class MicroappSettings(_Section):
    """Microapps: where their definitions are, and how their deliveries run."""

    folder: str | None = None
    """A folder of microapp YAML files (and connectors.yaml); none: microapps are off."""
    secret_key: SecretStr | None = None
    """Encrypts the connectors' secrets in the store (a Fernet key: `anyplace secret key`)."""
    workers: int = Field(default=4, ge=0, le=64)
    """Delivery threads in this process (0: none, e.g. on web-only replicas)."""
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    batch: int = Field(default=20, ge=1, le=500)
    retention_days: int = Field(default=30, ge=1, le=3650)
    """Submitted values are deleted after this; who, when and where it went are kept."""


class Settings(BaseSettings):
    """The whole configuration of one anyplace process."""

    model_config = SettingsConfigDict(
        env_prefix="ANYPLACE_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
        frozen=True,
    )

    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    broker: BrokerSettings = BrokerSettings()
    power: PowerSettings = PowerSettings()
    cloud: CloudSettings = CloudSettings()
    auth: AuthSettings = AuthSettings()
    oidc: OidcSettings = OidcSettings()
    ldap: LdapSettings = LdapSettings()
    microapps: MicroappSettings = MicroappSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file, which arrives as init arguments.
        return (env_settings, init_settings)


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate the configuration.

    The file is `path`, else $ANYPLACE_CONFIG, else ./anyplace.toml if it exists;
    with none of them the defaults and the environment alone apply. A file that
    was named explicitly must exist.
    """
    explicit = path if path is not None else os.environ.get(CONFIG_ENV)
    config_path = Path(explicit) if explicit else Path(DEFAULT_CONFIG_FILE)
    text = ""
    if config_path.is_file():
        text = _read(config_path)
    elif explicit:
        raise ConfigError(f"{config_path}: configuration file not found")
    data = _parse(config_path, text) if text else {}
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_path, text)) from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's tomllib puts the position only in the message: "... (at line 3, column 8)".
        found = _TOML_POSITION.search(str(exc))
        message = _TOML_POSITION.sub("", str(exc)).strip()
        where = f"{path}:{found.group(1)}" if found else str(path)
        raise ConfigError(f"{where}: invalid TOML: {message}") from None


def _describe(exc: ValidationError, path: Path, text: str) -> str:
    """One line per problem, each naming the variable or the file, line and key."""
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        env_name = "ANYPLACE_" + "_".join(loc).upper()
        if env_name in os.environ:
            problems.append(f"{env_name}: {error['msg']}")
            continue
        line = _line_of_key(text, loc)
        where = f"{path}:{line}" if line else str(path)
        problems.append(f"{where}: {key}: {error['msg']}")
    return "; ".join(problems)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)")
_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def _line_of_key(text: str, loc: list[str]) -> int | None:
    """The line where ``[section] key`` is set, or the section header for a whole section."""
    if not loc:
        return None
    section, key = loc[0], (loc[1] if len(loc) > 1 else None)
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        table = _TABLE.match(line)
        if table:
            current = table.group(1).strip()
            if current == section and key is None:
                return number
            continue
        assignment = _KEY.match(line)
        if assignment and current == section and assignment.group(1) == key:
            return number
        if assignment and not current and assignment.group(1) == section:
            return number
    return None
