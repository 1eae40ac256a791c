"""The signal contract: what the platform sends us. Documented in docs/signals.md and the OpenAPI schema.

Timestamps are ISO 8601; a naive timestamp means UTC. Signals keep the timestamp as parsed and storage
normalises it (`records.dt_to_ms` reads a naive value as UTC): a per-item Python validator would cost a third
of the ingest validation time. Unknown extra
fields are kept (`model_extra`), not rejected, so a sender can add context without breaking ingestion.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def as_utc(value: datetime) -> datetime:
    """The same moment as an aware UTC datetime (naive input is taken as UTC)."""
    tz = value.tzinfo
    if tz is UTC:
        return value
    if tz is None or value.utcoffset() == _ZERO:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_ZERO = timedelta(0)

UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""A timestamp normalised to UTC; naive input is taken as UTC (for request models and settings)."""

SignalTime = datetime
"""A signal timestamp: ISO 8601, naive means UTC; normalised to UTC when stored."""

NonEmpty = Annotated[str, Field(min_length=1, max_length=512)]


class _Signal(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    def extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Ticket(_Signal):
    """A customer or merchant support ticket."""

    id: NonEmpty
    created_at: SignalTime
    merchant_id: NonEmpty
    subject: Annotated[str, Field(max_length=1000)]
    body: Annotated[str, Field(max_length=50_000)]
    migration_stage: NonEmpty
    channel: str | None = None
    priority: str | None = None
    tags: list[str] = Field(default_factory=list)


class LogEvent(_Signal):
    """One API, webhook, payment or frontend event. `correlation_id` links a payment to its order."""

    ts: SignalTime
    merchant_id: NonEmpty
    source: NonEmpty = Field(description="Emitter: api, webhook, payment, frontend, ...")
    endpoint: NonEmpty = Field(description="e.g. `POST /api/checkout`")
    status_code: Annotated[int, Field(ge=100, le=599)]
    id: NonEmpty | None = None
    latency_ms: Annotated[float, Field(ge=0)] | None = None
    event: str | None = Field(None, description="e.g. `payment.succeeded`, `order.created`")
    correlation_id: str | None = None
    migration_stage: str | None = None
    message: str | None = None


class MetricPoint(_Signal):
    """Per-merchant KPI counts for one interval starting at `ts`. Rates are derived, never stored."""

    ts: SignalTime
    merchant_id: NonEmpty
    checkout_attempts: Annotated[int, Field(ge=0)]
    orders: Annotated[int, Field(ge=0)]
    revenue: Annotated[float, Field(ge=0)]
    interval_seconds: Annotated[int, Field(gt=0, le=86_400)] = 60
    migration_stage: str | None = None
    sessions: Annotated[int, Field(ge=0)] | None = None
    p95_latency_ms: Annotated[float, Field(ge=0)] | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None


SIGNAL_MODELS: dict[str, type[_Signal]] = {"tickets": Ticket, "logs": LogEvent, "metrics": MetricPoint}


def status_class(status_code: int) -> str:
    """`2xx`, `4xx`, ... for a status code."""
    return f"{status_code // 100}xx"


# The per-minute log rollup's latency histogram: part of the contract between ingest, storage and observe.
LATENCY_BUCKETS_MS: tuple[float, ...] = (
    5,
    10,
    20,
    35,
    50,
    75,
    100,
    150,
    200,
    300,
    400,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    10000,
)
"""Upper bounds of the latency histogram buckets kept in each rollup; a last bucket holds the rest."""
N_BUCKETS = len(LATENCY_BUCKETS_MS) + 1
HIST_COLUMNS: tuple[str, ...] = tuple(f"h{i}" for i in range(N_BUCKETS))
