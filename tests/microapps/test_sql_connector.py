"""The SQL connector against real PostgreSQL and MariaDB: upserts that happen once in effect."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Date, MetaData, String, Table, create_engine, select
from sqlalchemy.engine import Engine

from anyplace.connectors.base import Permanent, Transient
from anyplace.connectors.sql import SqlConnector

MARIADB_ENV = "ANYPLACE_TEST_MARIADB_URL"
MARIADB_DEFAULT = "mysql+pymysql://root@127.0.0.1:3306/test"


def _servers() -> list[str]:
    return ["postgresql", "mariadb"]


@pytest.fixture(params=_servers())
def database(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, str]]:
    if request.param == "postgresql":
        url = os.environ.get("ANYPLACE_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("ANYPLACE_TEST_POSTGRES_URL is not set")
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = os.environ.get(MARIADB_ENV, MARIADB_DEFAULT)
    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except Exception as exc:
        pytest.skip(f"{request.param} is not reachable: {type(exc).__name__}")
    name = f"payroll_{secrets.token_hex(4)}"
    table = Table(
        name,
        MetaData(),
        Column("cpr", String(11), primary_key=True),
        Column("name", String(200)),
        Column("department", String(64)),
        Column("start_date", Date),
    )
    table.create(engine)
    try:
        yield engine, name
    finally:
        table.drop(engine)
        engine.dispose()


def test_a_row_is_upserted_by_its_key_so_a_second_delivery_changes_nothing(
    database: tuple[Engine, str],
) -> None:
    engine, table = database
    connector = SqlConnector(
        {"url": engine.url.render_as_string(hide_password=False), "table": table, "key": ["cpr"]}
    )
    row = {
        "cpr": "010170-1235",
        "name": "Mette Jensen",
        "department": "jobcenter",
        "start_date": "2027-01-04",
    }
    assert connector.deliver({"row": row}, idempotency_key="s1:loen", timeout=5).endswith(
        "upserted"
    )
    connector.deliver({"row": row}, idempotency_key="s1:loen", timeout=5)
    connector.deliver(
        {"row": {**row, "department": "borgerservice"}}, idempotency_key="s2:loen", timeout=5
    )
    with engine.connect() as connection:
        rows = connection.execute(select(Table(table, MetaData(), autoload_with=engine))).all()
    assert len(rows) == 1
    assert rows[0].department == "borgerservice"
    connector.close()


def test_bad_rows_are_permanent_and_an_unreachable_database_is_transient(
    database: tuple[Engine, str],
) -> None:
    engine, table = database
    url = engine.url.render_as_string(hide_password=False)
    connector = SqlConnector({"url": url, "table": table, "key": ["cpr"]})
    with pytest.raises(Permanent, match="no column"):
        connector.deliver({"row": {"cpr": "1", "salary": 1}}, idempotency_key="k", timeout=5)
    with pytest.raises(Permanent, match="refused"):
        connector.deliver({"row": {"cpr": "x" * 40}}, idempotency_key="k", timeout=5)
    down = engine.url.set(port=1).render_as_string(hide_password=False)
    with pytest.raises(Transient):
        SqlConnector({"url": down, "table": table, "key": ["cpr"]}).deliver(
            {"row": {"cpr": "1"}}, idempotency_key="k", timeout=5
        )
