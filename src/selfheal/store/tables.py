"""SQLAlchemy tables. Signal timestamps are epoch milliseconds (`*_ms`, BigInteger): portable, compact,
and cheap to bucket. Incident-side timestamps are epoch milliseconds too, converted at the repository edge."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class TicketRow(Base):
    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    created_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    merchant_id: Mapped[str] = mapped_column(String(512), index=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    migration_stage: Mapped[str | None] = mapped_column(String(512))
    channel: Mapped[str | None] = mapped_column(String(128))
    priority: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ingested_ms: Mapped[int] = mapped_column(BigInteger)


class LogEventRow(Base):
    __tablename__ = "log_events"
    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    merchant_id: Mapped[str] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(128))
    endpoint: Mapped[str] = mapped_column(String(512))
    status_code: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    event: Mapped[str | None] = mapped_column(String(128))
    correlation_id: Mapped[str | None] = mapped_column(String(512))
    migration_stage: Mapped[str | None] = mapped_column(String(512))
    message: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


PAIRING_COLUMNS = ("id", "ts_ms", "merchant_id", "migration_stage", "event", "correlation_id")
"""The columns a pairing event shares with its raw log event."""


class PaymentOrderEventRow(Base):
    """The pairing columns of a pruned `payment.succeeded` or `order.created` log event with a correlation id
    (same id), copied when raw log events are pruned and kept for `pairing_retention_days`: pairing reads these and the raw
    events, so a window pairs the same before and after its raw events are pruned. `migration_stage` as the
    event carried it (resolved when read, like the raw event's)."""

    __tablename__ = "payment_order_events"
    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    merchant_id: Mapped[str] = mapped_column(String(512))
    migration_stage: Mapped[str | None] = mapped_column(String(512))
    event: Mapped[str] = mapped_column(String(128))
    correlation_id: Mapped[str] = mapped_column(String(512))


LOG_ROLLUP_KEY = (
    "minute_ms",
    "merchant_id",
    "migration_stage",
    "source",
    "endpoint",
    "status_class",
    "status_code",
)
"""A log rollup row's key: the rows ingest adds into (one per minute and status code as the rollups keep it)."""


class LogRollupRow(Base):
    """Per-minute counts by (merchant, stage, source, endpoint, status class, status code) with a latency
    histogram. `status_code`: the code when it is one the rollups keep apart (`signals.ROLLUP_STATUS_CODES`),
    the class (`4xx`) for any other code of it, "" when only the class is known (rows stored before 0016)."""

    __tablename__ = "log_rollups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    minute_ms: Mapped[int] = mapped_column(BigInteger)
    merchant_id: Mapped[str] = mapped_column(String(512))
    migration_stage: Mapped[str] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(128))
    endpoint: Mapped[str] = mapped_column(String(512))
    status_class: Mapped[str] = mapped_column(String(8))
    status_code: Mapped[str] = mapped_column(String(8), default="", server_default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    latency_count: Mapped[int] = mapped_column(Integer, default=0)
    latency_sum: Mapped[float] = mapped_column(Float, default=0.0)
    latency_max: Mapped[float] = mapped_column(Float, default=0.0)
    h0: Mapped[int] = mapped_column(Integer, default=0)
    h1: Mapped[int] = mapped_column(Integer, default=0)
    h2: Mapped[int] = mapped_column(Integer, default=0)
    h3: Mapped[int] = mapped_column(Integer, default=0)
    h4: Mapped[int] = mapped_column(Integer, default=0)
    h5: Mapped[int] = mapped_column(Integer, default=0)
    h6: Mapped[int] = mapped_column(Integer, default=0)
    h7: Mapped[int] = mapped_column(Integer, default=0)
    h8: Mapped[int] = mapped_column(Integer, default=0)
    h9: Mapped[int] = mapped_column(Integer, default=0)
    h10: Mapped[int] = mapped_column(Integer, default=0)
    h11: Mapped[int] = mapped_column(Integer, default=0)
    h12: Mapped[int] = mapped_column(Integer, default=0)
    h13: Mapped[int] = mapped_column(Integer, default=0)
    h14: Mapped[int] = mapped_column(Integer, default=0)
    h15: Mapped[int] = mapped_column(Integer, default=0)
    h16: Mapped[int] = mapped_column(Integer, default=0)
    h17: Mapped[int] = mapped_column(Integer, default=0)
    h18: Mapped[int] = mapped_column(Integer, default=0)
    h19: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint(*LOG_ROLLUP_KEY, name="uq_log_rollups_key"),
        # The window and history queries read a range of minutes; the unique key is too wide to serve them.
        Index("ix_log_rollups_minute", "minute_ms"),
    )


class MetricPointRow(Base):
    __tablename__ = "metric_points"
    merchant_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    checkout_attempts: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[float] = mapped_column(Float)
    migration_stage: Mapped[str | None] = mapped_column(String(512))
    sessions: Mapped[int | None] = mapped_column(Integer)
    p95_latency_ms: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_metric_points_ts", "ts_ms"),)


class IncidentRow(Base):
    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    as_of_ms: Mapped[int] = mapped_column(BigInteger)
    window_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    assessment: Mapped[dict[str, Any]] = mapped_column(JSON)
    findings: Mapped[dict[str, Any]] = mapped_column(JSON)
    observation: Mapped[dict[str, Any]] = mapped_column(JSON)
    timeline: Mapped[list[Any]] = mapped_column(JSON, default=list)


class CycleRunRow(Base):
    __tablename__ = "cycle_runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    as_of_ms: Mapped[int] = mapped_column(BigInteger)
    window_minutes: Mapped[int] = mapped_column(Integer)
    use_llm: Mapped[bool] = mapped_column(Integer, default=0)
    incident_id: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[float] = mapped_column(Float)
    stage_ms: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ux_api_keys_name", "name", unique=True),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    """Unique: a name identifies one key for good (revoked keys keep theirs)."""
    role: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)


class AuditRow(Base):
    """Hash-chained audit log: each record's hash covers its content and the previous record's hash."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(128), index=True)
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(256), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def table(model: type[Base]) -> Table:
    """The Core table of an ORM class, typed as a Table."""
    return cast(Table, model.__table__)
