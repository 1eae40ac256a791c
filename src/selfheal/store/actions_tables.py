"""Tables of the act stage: proposed actions, the effects the simulated executor leaves for the demo
simulator, and the head anchor of the audit chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selfheal.store.tables import Base


class ActionRow(Base):
    """One proposed action and where it is in its lifecycle (see `selfheal.act.states`)."""

    __tablename__ = "actions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str] = mapped_column(Text)
    expected_effect: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    risk: Mapped[str] = mapped_column(String(16), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(String(256))
    requested_by_key: Mapped[str | None] = mapped_column(String(64))
    """The API key that requested the action (a cycle run with a key); None for the product's own actors."""
    required_approvals: Mapped[int] = mapped_column(Integer)
    approvals: Mapped[list[Any]] = mapped_column(JSON)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    auto_execute: Mapped[int] = mapped_column(Integer, default=0)
    decided_by: Mapped[str | None] = mapped_column(String(256))
    created_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    executor: Mapped[str | None] = mapped_column(String(32))
    executed_by: Mapped[str | None] = mapped_column(String(256))
    claim_token: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_ms: Mapped[int | None] = mapped_column(BigInteger)
    lease_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    finished_ms: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    comments: Mapped[list[Any]] = mapped_column(JSON)


class SimulatorEffectRow(Base):
    """An effect the `simulated` executor produced. The demo simulator polls rows with `consumed_ms` NULL,
    applies them (ends the fault, replays the lost webhooks) and sets `consumed_ms`."""

    __tablename__ = "simulator_effects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str | None] = mapped_column(String(64))
    action_key: Mapped[str] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(String(64))
    effect: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    consumed_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("action_id", name="uq_simulator_effects_action"),
        Index("ix_simulator_effects_pending", "consumed_ms", "id"),
    )


class AuditHeadRow(Base):
    """The last (seq, hash) of the audit chain, updated with every append. Deleting the newest audit
    records leaves a valid-looking chain; comparing it with this anchor shows the loss."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
