"""LDAP and Active Directory sign-in with ldap3.

A service account finds the user's entry; the user's own bind checks the
password (the directory, not anyplace, decides: lockout policies apply). Group
membership is followed upwards through nested groups, breadth-first, with
`group_filter`; this works on OpenLDAP and on AD alike (AD's own
LDAP_MATCHING_RULE_IN_CHAIN is AD-only).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from ldap3 import ALL_ATTRIBUTES, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPBindError, LDAPException, LDAPInvalidCredentialsResult
from ldap3.utils.conv import escape_filter_chars

from anyplace.config import LdapSettings
from anyplace.errors import AnyplaceError

__all__ = ["LdapDirectory", "LdapIdentity", "LdapUnavailable"]

MAX_GROUP_DEPTH = 10


class LdapUnavailable(AnyplaceError):
    """The directory cannot be reached or the service account cannot bind."""


@dataclass(frozen=True)
class LdapIdentity:
    dn: str
    username: str
    name: str
    email: str | None
    groups: tuple[str, ...]
    """Distinguished names of every group the user is in, directly or through nesting."""


def _first(entry: dict[str, list[object]], attribute: str) -> str | None:
    for key, values in entry.items():
        if key.lower() == attribute.lower() and values:
            return str(values[0])
    return None


class LdapDirectory:
    def __init__(self, settings: LdapSettings) -> None:
        if not (settings.url and settings.user_base):
            raise LdapUnavailable("LDAP needs url and user_base")
        self.settings = settings
        tls = None
        if settings.url.startswith("ldaps://") or settings.start_tls:
            tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
        # No schema read: one round trip less, and filters may name AD-only attributes
        # (sAMAccountName) that an OpenLDAP schema does not know.
        self._server = Server(
            settings.url, tls=tls, connect_timeout=settings.timeout_seconds, get_info=NONE
        )

    def _connect(self, user: str | None, password: str | None) -> Connection:
        connection = Connection(
            self._server,
            user=user,
            password=password,
            receive_timeout=self.settings.timeout_seconds,
            raise_exceptions=True,
        )
        if self.settings.start_tls:
            connection.open()
            connection.start_tls()
        connection.bind()
        return connection

    def _service(self) -> Connection:
        password = self.settings.bind_password
        try:
            return self._connect(
                self.settings.bind_dn, password.get_secret_value() if password else None
            )
        except LDAPException as exc:
            raise LdapUnavailable(f"cannot bind to the directory: {type(exc).__name__}") from None

    def authenticate(self, username: str, password: str) -> LdapIdentity | None:
        """The user if the directory accepts this password, else None."""
        if not username or not password:
            return None  # an empty password would be an anonymous bind: always "valid"
        with self._service() as service:
            entry = self._find_user(service, username)
            if entry is None:
                return None
            dn, attributes = entry
            try:
                self._connect(dn, password).unbind()
            except (LDAPBindError, LDAPInvalidCredentialsResult):
                return None
            except LDAPException as exc:
                raise LdapUnavailable(f"the directory failed: {type(exc).__name__}") from None
            groups = self._groups_of(service, dn)
        return LdapIdentity(
            dn=dn,
            username=username.lower(),
            name=_first(attributes, self.settings.name_attribute)
            or _first(attributes, "cn")
            or username,
            email=_first(attributes, self.settings.email_attribute),
            groups=groups,
        )

    def _find_user(
        self, connection: Connection, username: str
    ) -> tuple[str, dict[str, list[object]]] | None:
        query = self.settings.user_filter.format(username=escape_filter_chars(username))
        try:
            connection.search(
                self.settings.user_base or "", query, SUBTREE, attributes=ALL_ATTRIBUTES
            )
        except LDAPException as exc:
            raise LdapUnavailable(f"the user search failed: {type(exc).__name__}") from None
        entries = [e for e in connection.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:
            return None  # none, or ambiguous: never guess which person this is
        return str(entries[0]["dn"]), dict(entries[0]["attributes"])

    def _groups_of(self, connection: Connection, dn: str) -> tuple[str, ...]:
        base = self.settings.group_base or self.settings.user_base or ""
        found: list[str] = []
        seen = {dn.lower()}
        frontier = [dn]
        for _ in range(MAX_GROUP_DEPTH):
            next_frontier: list[str] = []
            for member in frontier:
                query = self.settings.group_filter.format(dn=escape_filter_chars(member))
                try:
                    connection.search(base, query, SUBTREE, attributes=["cn"])
                except LDAPException as exc:
                    raise LdapUnavailable(
                        f"the group search failed: {type(exc).__name__}"
                    ) from None
                for entry in connection.response or []:
                    if entry.get("type") != "searchResEntry":
                        continue
                    group_dn = str(entry["dn"])
                    if group_dn.lower() not in seen:
                        seen.add(group_dn.lower())
                        found.append(group_dn)
                        next_frontier.append(group_dn)
            if not next_frontier:
                break
            frontier = next_frontier
        return tuple(found)
