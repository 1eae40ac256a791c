"""Tables of the incident lifecycle: what each open incident covers (`incident_tracking`) and how its executed
actions fared (`action_outcomes`). decide plans both; act writes them; observe reads them back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from selfheal.store.tables import Base


class IncidentTrackingRow(Base):
    """The lifecycle state of one incident: its causes and scope, quiet cycles, and the cost of waiting."""

    __tablename__ = "incident_tracking"
    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    categories: Mapped[list[Any]] = mapped_column(JSON)
    stages: Mapped[list[Any]] = mapped_column(JSON)
    merchants: Mapped[list[Any]] = mapped_column(JSON)
    first_seen_ms: Mapped[int] = mapped_column(BigInteger)
    last_seen_ms: Mapped[int] = mapped_column(BigInteger)
    cycles: Mapped[int] = mapped_column(Integer, default=0)
    quiet_cycles: Mapped[int] = mapped_column(Integer, default=0)
    mitigating_since_ms: Mapped[int | None] = mapped_column(BigInteger)
    resolved_ms: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    lost_revenue_per_hour: Mapped[float] = mapped_column(Float, default=0.0)
    lost_orders_per_hour: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str | None] = mapped_column(String(16))
    executed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Executed action id -> as_of (ms) of the first cycle that saw it executed."""
    recovering_since_ms: Mapped[int | None] = mapped_column(BigInteger)
    onset_ms: Mapped[int | None] = mapped_column(BigInteger)
    """The earliest onset any cycle saw (not the rolling window's)."""
    lost_orders_so_far: Mapped[float | None] = mapped_column(Float)
    """Cumulative since the onset (not the rolling window's sum)."""
    lost_revenue_so_far: Mapped[float | None] = mapped_column(Float)
    counted_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    peak_lost_orders_per_hour: Mapped[float | None] = mapped_column(Float)
    peak_lost_revenue_per_hour: Mapped[float | None] = mapped_column(Float)
    current_lost_orders_per_hour: Mapped[float | None] = mapped_column(Float)
    """Over the last `incident_recovery_minutes`, as the latest cycle measured it."""
    current_lost_revenue_per_hour: Mapped[float | None] = mapped_column(Float)
    """The same span's loss in money."""
    story: Mapped[str | None] = mapped_column(Text)
    """Where the incident stands, in words."""


class ActionVerdictRow(Base):
    """The verdict on an executed action: whether it brought its KPIs back, judged by a later cycle."""

    __tablename__ = "action_outcomes"
    action_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(128))
    executed_ms: Mapped[int] = mapped_column(BigInteger)
    judged_ms: Mapped[int] = mapped_column(BigInteger)
    verdict: Mapped[str] = mapped_column(String(16))
    before_per_hour: Mapped[float] = mapped_column(Float)
    after_per_hour: Mapped[float] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text)
