"""Sign-in against LDAP / Active Directory, tested on a real OpenLDAP server (slapd)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.config import LdapSettings
from anyplace.domain import IdentitySource
from anyplace.identity.ldap import LdapDirectory
from anyplace.store.access import Store
from anyplace.store.models import User
from anyplace.web.app import create_app
from tests.peers.ldap import ADMIN_DN, ADMIN_PASSWORD, BASE, Directory, run_slapd
from tests.web.portal.conftest import portal_settings, signin_token

PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
LDIF = f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Test kommune
dc: kommune

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

dn: {GROUPS}
objectClass: organizationalUnit
ou: groups

dn: uid=kirsten,{PEOPLE}
objectClass: inetOrgPerson
uid: kirsten
cn: Kirsten Holm
sn: Holm
displayName: Kirsten Holm
mail: kirsten.holm@kommune.test
userPassword: kirstens-kodeord

dn: uid=bo,{PEOPLE}
objectClass: inetOrgPerson
uid: bo
cn: Bo Lund
sn: Lund
userPassword: bos-kodeord

dn: cn=jobcenter,{GROUPS}
objectClass: groupOfNames
cn: jobcenter
member: uid=kirsten,{PEOPLE}

dn: cn=sagsbehandlere,{GROUPS}
objectClass: groupOfNames
cn: sagsbehandlere
member: cn=jobcenter,{GROUPS}

dn: cn=alle,{GROUPS}
objectClass: groupOfNames
cn: alle
member: cn=sagsbehandlere,{GROUPS}
member: uid=bo,{PEOPLE}
"""


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    with run_slapd(tmp_path_factory.mktemp("slapd"), LDIF) as running:
        yield running


def ldap_settings(directory: Directory) -> LdapSettings:
    return LdapSettings(
        enabled=True,
        url=directory.url,
        bind_dn=ADMIN_DN,
        bind_password=SecretStr(ADMIN_PASSWORD),
        user_base=PEOPLE,
        group_base=GROUPS,
    )


@pytest.fixture
def ldap_portal(
    demo_store: Store, clock: VirtualClock, directory: Directory
) -> Iterator[TestClient]:
    settings = portal_settings(demo_store.url).model_copy(update={"ldap": ldap_settings(directory)})
    with TestClient(
        create_app(settings, engine=demo_store.engine, clock=clock), base_url="http://localhost"
    ) as client:
        yield client


def post_login(portal: TestClient, username: str, password: str) -> int:
    token = signin_token(portal)
    answer = portal.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return int(answer.status_code)


def test_the_directory_checks_the_password_and_follows_nested_groups(directory: Directory) -> None:
    found = LdapDirectory(ldap_settings(directory)).authenticate("kirsten", "kirstens-kodeord")
    assert found is not None
    assert (found.name, found.email) == ("Kirsten Holm", "kirsten.holm@kommune.test")
    names = sorted(dn.split(",")[0] for dn in found.groups)
    assert names == ["cn=alle", "cn=jobcenter", "cn=sagsbehandlere"]


def test_wrong_passwords_unknown_names_and_filter_tricks_are_refused(directory: Directory) -> None:
    ldap = LdapDirectory(ldap_settings(directory))
    assert ldap.authenticate("kirsten", "wrong") is None
    assert ldap.authenticate("kirsten", "") is None, "an empty password is an anonymous bind"
    assert ldap.authenticate("nobody", "kirstens-kodeord") is None
    assert ldap.authenticate("*", "kirstens-kodeord") is None
    assert ldap.authenticate("kirsten)(uid=*", "kirstens-kodeord") is None


def test_a_directory_user_signs_in_to_the_portal_with_their_groups(
    ldap_portal: TestClient, demo_store: Store
) -> None:
    assert post_login(ldap_portal, "kirsten", "kirstens-kodeord") == 303
    with demo_store.sessions() as session:
        user = session.scalars(select(User).where(User.username == "kirsten")).one()
        assert user.source is IdentitySource.LDAP
        assert user.external_id == f"uid=kirsten,{PEOPLE}"
        assert sorted(g.name for g in user.groups) == ["alle", "jobcenter", "sagsbehandlere"]
    assert 'data-app="word"' in ldap_portal.get("/").text


def test_group_changes_in_the_directory_follow_at_the_next_sign_in(
    ldap_portal: TestClient, demo_store: Store
) -> None:
    assert post_login(ldap_portal, "bo", "bos-kodeord") == 303
    with demo_store.sessions() as session:
        user = session.scalars(select(User).where(User.username == "bo")).one()
        assert [g.name for g in user.groups] == ["alle"]


def test_a_wrong_directory_password_is_refused_and_counted(ldap_portal: TestClient) -> None:
    assert post_login(ldap_portal, "kirsten", "wrong") == 401
    for _ in range(4):
        post_login(ldap_portal, "kirsten", "wrong")
    assert post_login(ldap_portal, "kirsten", "kirstens-kodeord") == 429


def test_an_unreachable_directory_says_so(
    demo_store: Store, clock: VirtualClock, tmp_path: Path
) -> None:
    settings = portal_settings(demo_store.url).model_copy(
        update={
            "ldap": LdapSettings(
                enabled=True, url="ldap://127.0.0.1:1", user_base=PEOPLE, timeout_seconds=1
            )
        }
    )
    with TestClient(
        create_app(settings, engine=demo_store.engine, clock=clock), base_url="http://localhost"
    ) as portal:
        token = signin_token(portal)
        answer = portal.post(
            "/login", data={"username": "kirsten", "password": "x", "csrf_token": token}
        )
        assert answer.status_code == 503
        assert "Brugerkataloget kan ikke nås" in answer.text
