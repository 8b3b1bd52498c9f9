"""The declarative base, the naming convention and the association tables.

The schema is made by the Alembic migrations in `migrations/`, never by
`create_all`; a test compares these models with the migrated schema on every
backend, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Enum, ForeignKey, MetaData, Table
from sqlalchemy.orm import DeclarativeBase

__all__ = ["NAMING_CONVENTION", "Base", "entitlements", "enum_column", "group_members"]


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def enum_column(kind: type[Any]) -> Enum:
    """A string column holding an enum's values (not names), portable across backends."""
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


group_members = Table(
    "group_members",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)

entitlements = Table(
    "entitlements",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True, index=True),
)
