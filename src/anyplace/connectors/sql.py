"""SQL: a row per delivery into a table of any database SQLAlchemy reaches.

Settings: `url` (e.g. `postgresql+psycopg://...`, `mysql+pymysql://...`; best
`secret:NAME`), `table`, `key` (the columns that identify a row). With a key
the row is upserted (PostgreSQL and SQLite `ON CONFLICT`, MariaDB `ON
DUPLICATE KEY UPDATE`), so a second delivery changes nothing: exactly once in
effect. Without a key, `idempotency_column` names a unique column that gets
the idempotency key, and a duplicate is recognised and accepted. A request
carries `row`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import MetaData, Table, create_engine
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    NoSuchTableError,
    OperationalError,
    SQLAlchemyError,
)

from anyplace.connectors.base import Permanent, Transient

__all__ = ["SqlConnector"]


class SqlConnector:
    def __init__(self, settings: Mapping[str, Any]) -> None:
        if not settings.get("url") or not settings.get("table"):
            raise Permanent("a sql connector needs url and table")
        self.engine = create_engine(str(settings["url"]), pool_pre_ping=True, pool_size=4)
        self.table_name = str(settings["table"])
        self.key = [str(k) for k in settings.get("key") or []]
        self.idempotency_column = settings.get("idempotency_column")
        self._table: Table | None = None

    def _reflect(self) -> Table:
        if self._table is None:
            try:
                self._table = Table(self.table_name, MetaData(), autoload_with=self.engine)
            except NoSuchTableError:
                raise Permanent(f"no table {self.table_name!r}") from None
            except OperationalError as exc:
                raise Transient(f"cannot reach the database: {type(exc.orig).__name__}") from None
        return self._table

    def deliver(self, request: Mapping[str, Any], *, idempotency_key: str, timeout: float) -> str:
        row = dict(request.get("row") or {})
        if not row:
            raise Permanent("the request has no row")
        table = self._reflect()
        unknown = sorted(set(row) - set(table.c.keys()))
        if unknown:
            raise Permanent(f"{self.table_name} has no column {', '.join(unknown)}")
        if self.idempotency_column:
            row[str(self.idempotency_column)] = idempotency_key
        statement = self._statement(table, row)
        try:
            with self.engine.begin() as connection:
                connection.execute(statement)
        except IntegrityError as exc:
            if self.idempotency_column and not self.key:
                return "already delivered"  # the unique idempotency column said so
            raise Permanent(f"the database refused the row: {type(exc.orig).__name__}") from None
        except OperationalError as exc:
            raise Transient(f"the database failed: {type(exc.orig).__name__}") from None
        except (DBAPIError, SQLAlchemyError) as exc:
            raise Permanent(f"the database refused the row: {type(exc).__name__}") from None
        return f"{self.table_name}: upserted" if self.key else f"{self.table_name}: inserted"

    def _statement(self, table: Table, row: dict[str, Any]) -> Any:
        if not self.key:
            return table.insert().values(**row)
        changes = {k: v for k, v in row.items() if k not in self.key}
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            pg = postgresql.insert(table).values(**row)
            if not changes:
                return pg.on_conflict_do_nothing(index_elements=self.key)
            return pg.on_conflict_do_update(index_elements=self.key, set_=changes)
        if dialect == "sqlite":
            lite = sqlite.insert(table).values(**row)
            if not changes:
                return lite.on_conflict_do_nothing(index_elements=self.key)
            return lite.on_conflict_do_update(index_elements=self.key, set_=changes)
        if dialect in ("mysql", "mariadb"):
            maria = mysql.insert(table).values(**row)
            return maria.on_duplicate_key_update(**(changes or {self.key[0]: row[self.key[0]]}))
        raise Permanent(f"upsert is not supported on {dialect}")

    def close(self) -> None:
        self.engine.dispose()
