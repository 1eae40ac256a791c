"""Alerts received from Alertmanager: one row per alert occurrence (fingerprint + start), firing or resolved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from selfheal.store.tables import Base


class AlertRow(Base):
    """An alert occurrence: Alertmanager's fingerprint (a hash of the labels) and its `startsAt` identify it;
    a later `resolved` notification of the same occurrence sets `ends_ms` and the status."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128))
    starts_ms: Mapped[int] = mapped_column(BigInteger)
    ends_ms: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    alertname: Mapped[str] = mapped_column(String(512))
    severity: Mapped[str | None] = mapped_column(String(64))
    merchant_id: Mapped[str | None] = mapped_column(String(512))
    migration_stage: Mapped[str | None] = mapped_column(String(512))
    summary: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON)
    generator_url: Mapped[str | None] = mapped_column(Text)
    group_key: Mapped[str | None] = mapped_column(Text)
    receiver: Mapped[str | None] = mapped_column(String(512))
    received_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_alerts_starts_ms", "starts_ms"), Index("ix_alerts_ends_ms", "ends_ms"))
