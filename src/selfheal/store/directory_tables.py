"""The merchant directory: one row per merchant (its current stage) and the stage history (a row per move)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selfheal.store.tables import Base


class MerchantRow(Base):
    __tablename__ = "merchants"
    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    name: Mapped[str] = mapped_column(String(512))
    stage: Mapped[str] = mapped_column(String(512))
    """The stage of the latest move (the history row with the largest `moved_ms`)."""
    moved_ms: Mapped[int] = mapped_column(BigInteger)
    plan: Mapped[str | None] = mapped_column(String(128))
    currency: Mapped[str | None] = mapped_column(String(3))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class MerchantStageRow(Base):
    """A merchant entered `stage` at `moved_ms` (0: from the beginning, the first stage known)."""

    __tablename__ = "merchant_stages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(String(512), index=True)
    stage: Mapped[str] = mapped_column(String(512))
    moved_ms: Mapped[int] = mapped_column(BigInteger)
    recorded_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("merchant_id", "moved_ms", name="uq_merchant_stages_move"),)
