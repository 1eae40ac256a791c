"""The signal contract: what the platform sends us. Documented in docs/signals.md and the OpenAPI schema.

Timestamps are ISO 8601 strings (numbers are refused: `0.5` is not a moment anyone means), between 1970 and
2100; a naive timestamp means UTC. Signals keep the timestamp as parsed and storage normalises it
(`records.dt_to_ms` reads a naive value as UTC): a per-item Python validator would cost a third of the ingest
validation time. Every limit here is the storage column's: text fits its column, numbers are finite and counts
fit a 32-bit integer, so what validates can be stored on SQLite and PostgreSQL alike (`ingest.screen` checks
what a schema cannot say cheaply: NUL characters and the extra fields). Unknown extra fields are kept
(`model_extra`), not rejected, so a sender can add context without breaking ingestion.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    WithJsonSchema,
)
from pydantic_core import core_schema as cs


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

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_AS_OF_AHEAD = timedelta(days=1)
"""How far past the wall clock an `as_of` may be (clock skew, a replay's last minute); later is refused."""
MAX_INT32 = 2**31 - 1
MAX_MONEY = 1e13
"""Revenue per interval, in the merchant's currency: far above any real shop, finite when summed."""
MAX_LATENCY_MS = 1e9
"""About 11.6 days: a latency beyond it is a broken clock, and sums of it stay finite."""

ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}[Tt _]"
"""How an ISO 8601 date-time starts: a string such as `0.5` or `1700000000` is a number, not a moment."""


class _IsoTime:
    """Validation (in pydantic-core, no Python per item) of a date-time given as an ISO 8601 string or a
    `datetime`, from 1970 to 2100; numbers and numeric strings are refused."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        bounded = cs.datetime_schema(ge=EARLIEST, lt=LATEST)
        from_text = cs.chain_schema([cs.str_schema(pattern=ISO_DATETIME, strict=True), bounded])
        instance = cs.datetime_schema(strict=True, ge=EARLIEST, lt=LATEST)
        return cs.json_or_python_schema(
            json_schema=from_text, python_schema=cs.union_schema([instance, from_text])
        )


SignalTime = Annotated[datetime, _IsoTime(), WithJsonSchema({"type": "string", "format": "date-time"})]
"""A signal timestamp: an ISO 8601 string, naive means UTC; normalised to UTC when stored."""


def _iso_only(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        raise ValueError("must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z, not a number")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _not_far_ahead(value: datetime) -> datetime:
    value = as_utc(value)
    if value > datetime.now(tz=UTC) + MAX_AS_OF_AHEAD:
        raise ValueError(f"must not be more than {MAX_AS_OF_AHEAD.days} day ahead of the server's clock")
    return value


AsOf = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    Field(ge=EARLIEST, lt=LATEST),
    AfterValidator(_not_far_ahead),
]
"""The end of a window: ISO 8601 (naive means UTC), from 1970 to one day past the server's clock, as UTC."""

NonEmpty = Annotated[str, Field(min_length=1, max_length=512)]
Short = Annotated[str, Field(max_length=128)]
Count = Annotated[int, Field(ge=0, le=MAX_INT32)]
LatencyMs = Annotated[float, Field(ge=0, le=MAX_LATENCY_MS)]


class _Signal(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    def extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Ticket(_Signal):
    """A customer or merchant support ticket."""

    id: NonEmpty
    created_at: SignalTime
    merchant_id: NonEmpty
    subject: Annotated[str, Field(max_length=1000)]
    body: Annotated[str, Field(max_length=50_000)]
    migration_stage: NonEmpty | None = Field(
        None,
        description="Absent: the merchant directory's stage at `created_at` (resolved when a cycle reads it)",
    )
    channel: Short | None = None
    priority: Annotated[str, Field(max_length=64)] | None = None
    tags: list[Annotated[str, Field(max_length=512)]] = Field(default_factory=list, max_length=100)


class LogEvent(_Signal):
    """One API, webhook, payment or frontend event. `correlation_id` links a payment to its order."""

    ts: SignalTime
    merchant_id: NonEmpty
    source: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        description="Emitter: api, webhook, payment, frontend, ..."
    )
    endpoint: NonEmpty = Field(description="e.g. `POST /api/checkout`")
    status_code: Annotated[int, Field(ge=100, le=599)]
    id: NonEmpty | None = None
    latency_ms: LatencyMs | None = None
    event: Short | None = Field(None, description="e.g. `payment.succeeded`, `order.created`")
    correlation_id: Annotated[str, Field(max_length=512)] | None = None
    migration_stage: Annotated[str, Field(max_length=512)] | None = None
    message: Annotated[str, Field(max_length=50_000)] | None = None


class MetricPoint(_Signal):
    """Per-merchant KPI counts for one interval starting at `ts`. Rates are derived, never stored."""

    ts: SignalTime
    merchant_id: NonEmpty
    checkout_attempts: Count
    orders: Count
    revenue: Annotated[float, Field(ge=0, le=MAX_MONEY)]
    interval_seconds: Annotated[int, Field(gt=0, le=86_400)] = 60
    migration_stage: Annotated[str, Field(max_length=512)] | None = None
    sessions: Count | None = None
    p95_latency_ms: LatencyMs | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None


def _day_start(value: Any) -> Any:
    """A bare date (`2026-11-30`) means the start of that day, UTC."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value + "T00:00:00Z"
    return value


MoveTime = Annotated[
    datetime,
    _IsoTime(),
    BeforeValidator(_day_start),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "or a date: the day's start, UTC"}
    ),
]
"""When a merchant moved stage: an ISO 8601 date-time or a date (its start, UTC)."""


class MerchantEntry(BaseModel):
    """One merchant of the directory, as imported (`POST /merchants`, `selfheal merchants import`).

    `moved_at` is when the merchant entered `stage`; absent, a new merchant's stage counts from the beginning of
    time and a changed stage from the moment of the import. `labels` are free key/value pairs (e.g. the
    helpdesk's organisation id, used to map tickets to merchants)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: NonEmpty
    name: Annotated[str, Field(min_length=1, max_length=512)]
    stage: NonEmpty
    moved_at: MoveTime | None = None
    plan: Annotated[str, Field(max_length=128)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    labels: dict[
        Annotated[str, Field(min_length=1, max_length=128)], Annotated[str, Field(max_length=512)]
    ] = Field(default_factory=dict, max_length=50)


SIGNAL_MODELS: dict[str, type[_Signal]] = {"tickets": Ticket, "logs": LogEvent, "metrics": MetricPoint}


PAIRING_EVENTS: tuple[str, ...] = ("payment.succeeded", "order.created")
"""The log events payment/order pairing reads (with a correlation id): when raw log events are pruned, these
are kept (their pairing columns, as `payment_order_events`)."""


def status_class(status_code: int) -> str:
    """`2xx`, `4xx`, ... for a status code."""
    return f"{status_code // 100}xx"


ROLLUP_STATUS_CODES: frozenset[int] = frozenset(
    (400, 401, 403, 404, 408, 409, 410, 412, 413, 415, 422, 429, 500, 501, 502, 503, 504)
)
"""The failure codes the per-minute log rollups keep apart (a cause may be about one of them: 401/403 auth,
404/409/422 sync, 504 timeouts, 500/502/503 provider). Every other code folds into its class (`rollup_status`),
so a rollup minute holds at most these plus one row per class for each (merchant, stage, source, endpoint):
the table stays bounded whatever codes clients send. Successes (2xx) and redirects (3xx) are never split."""
CODE_UNKNOWN = ""
"""A rollup row's `status_code` when only its class is known (rows stored before the rollups kept codes)."""


def rollup_status(status_code: int) -> str:
    """A status code as the rollups keep it: the code itself when in `ROLLUP_STATUS_CODES`, else its class
    (`4xx`: a code of the class other than the kept ones)."""
    return str(status_code) if status_code in ROLLUP_STATUS_CODES else status_class(status_code)


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
