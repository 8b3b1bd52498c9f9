"""The demo municipality: where its files are, and loading it into an empty store."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select

from anyplace.clock import Clock
from anyplace.errors import AnyplaceError
from anyplace.identity.passwords import hash_password
from anyplace.identity.tokens import NewToken, create_token, revoke_tokens_named
from anyplace.importer import LoadSummary, apply_dataset, read_dataset
from anyplace.store.access import Store
from anyplace.store.models import Group, User

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_TOKEN_NAME",
    "DemoAccess",
    "demo_data_dir",
    "prepare_demo",
    "prepare_microapps_demo",
]

DEMO_TOKEN_NAME = "demo"  # noqa: S105 (a label, not a secret)


def demo_data_dir(name: str = "municipality") -> Path:
    """The packaged copy in a wheel, else the repository's examples/<name>."""
    packaged = resources.files("anyplace").joinpath(f"demo_data/{name}")
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "examples" / name
    if checkout.is_dir():
        return checkout
    raise AnyplaceError(f"the demo's {name} files are not installed")


def prepare_microapps_demo(store: Store, clock: Clock, key: str, payroll: Path) -> None:
    """The secrets the example connectors name, and the payroll database they write to."""
    from sqlalchemy import Column, MetaData, String, Table, create_engine  # noqa: PLC0415

    from anyplace.microapps.secrets import SecretStore  # noqa: PLC0415

    payroll_url = f"sqlite:///{payroll.resolve()}"
    engine = create_engine(payroll_url)
    Table(
        "new_employees",
        MetaData(),
        Column("cpr", String(11), primary_key=True),
        Column("name", String(200)),
        Column("department", String(64)),
        Column("start_date", String(10)),
    ).create(engine, checkfirst=True)
    engine.dispose()
    secrets = SecretStore(store, key)
    with store.transaction() as session:
        secrets.set(session, clock, "payroll_db_url", payroll_url)
        secrets.set(session, clock, "it_tickets_token", "demo-token")


DEMO_USERS = ("hjemmepleje", "jobcenter")
DEMO_ADMIN_GROUP = "it-admins"
DEMO_PASSWORD = "demo-kode"  # noqa: S105 (shown on the demo's sign-in page, on purpose)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, translate later"
    return message


WHO = {
    "hjemmepleje": N_("home carer"),
    "jobcenter": N_("job centre case worker"),
    DEMO_ADMIN_GROUP: N_("IT administrator"),
}


@dataclass(frozen=True)
class DemoAccess:
    admin: NewToken
    users: dict[str, NewToken]
    """A token per demo user (username -> token): a home carer and a job-centre case worker."""
    accounts: list[tuple[str, str, str]]
    """(username, password, who) for the sign-in page: the two users and an IT administrator."""


def prepare_demo(store: Store, clock: Clock) -> tuple[LoadSummary | None, DemoAccess]:
    """Load the demo into an empty store (a used one is left as it is) and issue fresh tokens.

    Earlier demo tokens are revoked, so only the tokens printed last work.
    """
    summary = None
    with store.transaction() as session:
        empty = (session.scalar(select(func.count(User.id))) or 0) == 0
        if empty:
            summary = apply_dataset(session, read_dataset(demo_data_dir()), clock)
        revoke_tokens_named(session, clock, DEMO_TOKEN_NAME)
        admin = create_token(session, clock, name=DEMO_TOKEN_NAME, admin=True)
        users = {}
        accounts = []
        password_hash = hash_password(DEMO_PASSWORD)
        for department in DEMO_USERS:
            user = session.scalars(
                select(User).where(User.department == department).order_by(User.username)
            ).first()
            if user is not None:
                users[user.username] = create_token(
                    session, clock, name=DEMO_TOKEN_NAME, admin=False, user=user
                )
                user.password_hash = password_hash
                accounts.append((user.username, DEMO_PASSWORD, WHO[department]))
        admin_user = session.scalars(
            select(User)
            .where(User.groups.any(Group.name == DEMO_ADMIN_GROUP))
            .order_by(User.username)
        ).first()
        if admin_user is not None:
            admin_user.password_hash = password_hash
            accounts.append((admin_user.username, DEMO_PASSWORD, WHO[DEMO_ADMIN_GROUP]))
    return summary, DemoAccess(admin, users, accounts)
