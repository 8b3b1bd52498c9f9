"""Who may sign in: a password checked locally or by the directory, or an OIDC identity.

Users from OIDC and LDAP are provisioned on first sign-in and their groups
synchronised on every sign-in from the source: the source owns the membership
of groups that the source named; groups kept only in anyplace (an admin group
given by hand, say) are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.domain import IdentitySource
from anyplace.errors import AnyplaceError
from anyplace.identity.ldap import LdapDirectory, LdapIdentity
from anyplace.identity.oidc import OidcIdentity
from anyplace.identity.passwords import verify_password
from anyplace.identity.throttle import clear_failures, record_failure, retry_after
from anyplace.store.models import Group, User

__all__ = [
    "ExternalIdentity",
    "SignInRefused",
    "SignInThrottled",
    "from_ldap",
    "from_oidc",
    "provision",
    "sign_in_with_password",
]


class SignInRefused(AnyplaceError):
    """Wrong name or password, or a disabled account (the message does not say which)."""


class SignInThrottled(AnyplaceError):
    def __init__(self, wait: timedelta) -> None:
        super().__init__(
            f"too many failed sign-ins; try again in {int(wait.total_seconds()) + 1} s"
        )
        self.wait = wait


@dataclass(frozen=True)
class ExternalIdentity:
    source: IdentitySource
    external_id: str
    username: str
    name: str
    email: str | None
    groups: Sequence[str]
    """Group ids as the source gives them (object ids, DNs); matched by external id or name."""


def _cn(dn: str) -> str:
    first = dn.split(",", 1)[0]
    key, _, value = first.partition("=")
    return value if key.strip().lower() == "cn" else dn


def provision(db: Session, clock: Clock, identity: ExternalIdentity) -> User:
    """The anyplace user for this identity, created or brought up to date."""
    user = db.scalar(
        select(User).where(User.source == identity.source, User.external_id == identity.external_id)
    ) or db.scalar(select(User).where(User.username == identity.username))
    if user is None:
        user = User(
            username=identity.username,
            display_name=identity.name,
            source=identity.source,
            external_id=identity.external_id,
            is_active=True,
            created_at=clock.now(),
        )
        db.add(user)
    elif user.source != identity.source:
        raise SignInRefused(f"the account {identity.username!r} belongs to another sign-in method")
    user.external_id = identity.external_id
    user.display_name = identity.name
    user.email = identity.email or user.email
    if not user.is_active:
        raise SignInRefused("the account is disabled")
    names = set(identity.groups) | {_cn(g) for g in identity.groups}
    matched = (
        db.scalars(
            select(Group).where(
                or_(Group.external_id.in_(identity.groups), Group.name.in_(sorted(names)))
            )
        ).all()
        if names
        else []
    )
    kept = [g for g in user.groups if g.source != identity.source and g.external_id is None]
    user.groups = kept + [g for g in matched if g not in kept]
    db.flush()
    return user


def sign_in_with_password(
    db: Session,
    clock: Clock,
    *,
    username: str,
    password: str,
    address: str,
    lockout_failures: int,
    local_enabled: bool,
    directory: LdapDirectory | None,
) -> User:
    """The user, or SignInRefused / SignInThrottled. Each failure is counted, success resets."""
    username = username.strip()
    wait = retry_after(db, clock, username, address, lockout_failures)
    if wait > timedelta(0):
        raise SignInThrottled(wait)
    user = _check(db, clock, username, password, local_enabled, directory)
    if user is None:
        record_failure(db, clock, username, address)
        raise SignInRefused("wrong user name or password")
    clear_failures(db, username)
    return user


def _check(
    db: Session,
    clock: Clock,
    username: str,
    password: str,
    local_enabled: bool,
    directory: LdapDirectory | None,
) -> User | None:
    local = db.scalar(select(User).where(User.username == username))
    if local is not None and local.source == IdentitySource.LOCAL:
        if not (local_enabled and local.password_hash and local.is_active):
            return None
        return local if verify_password(local.password_hash, password) else None
    if directory is None:
        return None
    found = directory.authenticate(username, password)
    if found is None:
        return None
    try:
        return provision(db, clock, from_ldap(found))
    except SignInRefused:
        return None


def from_ldap(found: LdapIdentity) -> ExternalIdentity:
    return ExternalIdentity(
        IdentitySource.LDAP, found.dn, found.username, found.name, found.email, found.groups
    )


def from_oidc(found: OidcIdentity) -> ExternalIdentity:
    return ExternalIdentity(
        IdentitySource.OIDC, found.subject, found.username, found.name, found.email, found.groups
    )
