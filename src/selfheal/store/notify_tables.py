"""The notification outbox: one row per (notice, receiver), written in the cycle's transaction and sent by
the delivery worker after it commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selfheal.store.tables import Base


class NotificationRow(Base):
    """One message to one receiver and where its delivery stands: `pending` (due at `next_attempt_ms`),
    `sending` (claimed by a worker until `lease_until_ms`), `delivered` or `failed` (given up)."""

    __tablename__ = "notifications"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    receiver: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(16))
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    notice_key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger)
    lease_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    delivered_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("incident_id", "notice_key", "receiver", name="uq_notifications_notice"),
        Index("ix_notifications_due", "status", "next_attempt_ms"),
    )
