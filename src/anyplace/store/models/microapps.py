"""Microapp submissions and their deliveries (the outbox), and encrypted connector secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from anyplace.store.models.base import Base
from anyplace.store.types import UTCDateTime

__all__ = ["ConnectorSecret", "Delivery", "Submission"]


class Submission(Base):
    """What a person entered in a microapp, committed together with one delivery per target."""

    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    microapp: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(16))
    submitted_by: Mapped[str] = mapped_column(String(128))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    person: Mapped[str | None] = mapped_column(String(16), index=True)
    """The CPR number the submission is about, if the microapp names one (GDPR access reports)."""
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The fields as entered; deleted after the retention period, the metadata stays."""
    payload_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="submission", order_by="Delivery.id"
    )


class Delivery(Base):
    """One target of one submission: delivered at least once, exactly once in effect."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(64))
    connector: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16))
    """pending, running, delivered, skipped (its condition was false) or dead."""
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The rendered mapping, fixed at submission (a replay sends the same)."""
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    submission: Mapped[Submission] = relationship(back_populates="deliveries")

    __table_args__ = (
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_submission", "submission_id"),
    )


class ConnectorSecret(Base):
    """A credential a connector needs, encrypted (Fernet) with the configured key."""

    __tablename__ = "connector_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
