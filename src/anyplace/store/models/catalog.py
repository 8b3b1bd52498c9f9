"""The app catalog: categories and apps (entitlements are in base)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anyplace.domain import (
    AppKind,
)
from anyplace.store.models.base import Base, entitlements, enum_column

if TYPE_CHECKING:
    from anyplace.store.models.estate import Pool
    from anyplace.store.models.identity import Group

__all__ = ["App", "Category"]


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_da: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class App(Base):
    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_da: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_da: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    icon: Mapped[str | None] = mapped_column(String(64))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    kind: Mapped[AppKind] = mapped_column(enum_column(AppKind))
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pools.id"), index=True)
    program: Mapped[str | None] = mapped_column(String(400))
    arguments: Mapped[str | None] = mapped_column(String(400))
    url: Mapped[str | None] = mapped_column(String(2000))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[Category] = relationship()
    pool: Mapped[Pool | None] = relationship()
    groups: Mapped[list[Group]] = relationship(secondary=entitlements, back_populates="apps")
