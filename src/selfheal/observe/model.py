"""Observation: everything a cycle knows about the window ending at `as_of` (read from storage)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Self

import numpy as np
from pydantic import BeforeValidator, ConfigDict, Field, PlainSerializer

from selfheal.observe.history_model import DetectionHistory
from selfheal.observe.window import MetricColumns, MetricRow, RollupColumns, RollupRow, group_rows, group_sums
from selfheal.records import Record
from selfheal.signals import Ticket


class ErrorCodeCount(Record):
    """Failed requests of one (source, endpoint) with one status code, as the rollups keep it, in the window."""

    source: str
    endpoint: str
    status_code: str
    """The exact code (`401`) when it is one of `signals.ROLLUP_STATUS_CODES`, else its class (`4xx`: a code of
    the class other than the kept ones, never one a cause asks for)."""
    count: int


def error_codes_of(rollups: RollupColumns) -> tuple[ErrorCodeCount, ...]:
    """The failed requests (status class 4xx or 5xx) of the window's rollups per (source, endpoint, status
    code as the rollups keep it), ordered by those. Rows whose code is unknown (stored before the rollups
    kept codes, `CODE_UNKNOWN`) are left out: they say nothing about the code, so a share of codes is one of
    the requests whose code is known. The rollups outlive raw log retention, so the codes of a window read
    the same before and after its raw events are pruned."""
    codes = rollups.status_code
    failed = np.array([v[:1] in ("4", "5") for v in codes.values], dtype=bool)
    rows = np.flatnonzero(failed[codes.codes]) if len(failed) else np.zeros(0, dtype=np.int64)
    if not len(rows):
        return ()
    kept = rollups.take(rows)
    group, first = group_rows(kept.source, kept.endpoint, kept.status_code)
    (totals,) = group_sums(group, len(first), kept.count)
    out = [
        ErrorCodeCount.model_construct(
            source=kept.source[i], endpoint=kept.endpoint[i], status_code=kept.status_code[i], count=int(n)
        )
        for i, n in zip(first.tolist(), totals.tolist(), strict=True)
    ]
    return tuple(sorted(out, key=lambda c: (c.source, c.endpoint, c.status_code)))


class PaymentOrderEvent(Record):
    """A `payment.succeeded` or `order.created` event, for pairing payments with orders."""

    ts: datetime
    merchant_id: str
    migration_stage: str
    event: str
    correlation_id: str


class MerchantBaseline(Record):
    """A merchant's totals over the baseline period before the window."""

    merchant_id: str
    migration_stage: str
    minutes: int
    checkout_attempts: int
    orders: int
    revenue: float
    currency: str | None = None


class SignalCounts(Record):
    tickets: int
    log_events: int
    metric_points: int


class ExecutedAction(Record):
    """An action of an open incident that finished executing successfully."""

    action_id: str
    key: str
    finished_at: datetime


class JudgedAction(Record):
    """An executed action whose outcome an earlier cycle already judged."""

    action_id: str
    verdict: str
    key: str = ""
    executed_at: datetime | None = None
    """The start of its after-period, as judged."""
    before_per_hour: float | None = None
    """Lost orders per hour before the action, as judged."""


class WaitingAction(Record):
    """An action of an open incident waiting for a person's approval."""

    action_id: str
    key: str


class OpenIncident(Record):
    """An unresolved incident's lifecycle state when the cycle starts: what decide needs to plan its next move."""

    incident_id: str
    status: str
    """`open`, `mitigating` or `recovering`."""
    categories: tuple[str, ...]
    stages: tuple[str, ...]
    merchants: tuple[str, ...]
    cycles: int
    """Cycles that saw the incident so far."""
    quiet_cycles: int
    lost_orders_per_hour: float
    """The loss rate the last seeing cycle measured (frozen once mitigating: the outcomes' "before")."""
    seen_executed: dict[str, datetime]
    """Executed action id -> as_of of the first cycle that saw it executed."""
    executed: tuple[ExecutedAction, ...]
    """Its succeeded actions, oldest first."""
    judged: tuple[JudgedAction, ...]
    """Verdicts already stored, in the order they were judged."""
    waiting: tuple[WaitingAction, ...]
    title: str = ""
    """The incident's headline as the last seeing cycle assessed it."""
    lost_revenue_per_hour: float = 0.0

    severity: str = ""
    """The incident's severity as stored by the last seeing cycle (an escalation is a rise above it; empty when
    it has none)."""
    first_seen: datetime | None = None
    mitigating_since: datetime | None = None
    onset: datetime | None = None
    """The earliest onset a cycle saw."""
    recovering_since: datetime | None = None
    lost_orders_so_far: float | None = None
    lost_revenue_so_far: float | None = None
    counted_until: datetime | None = None
    """End of the minutes already counted into the loss so far."""
    peak_lost_orders_per_hour: float | None = None
    peak_lost_revenue_per_hour: float | None = None
    currency: str = "USD"


class ResolvedIncident(Record):
    """An incident resolved within the last window: its leftover loss may still be in the window."""

    incident_id: str
    categories: tuple[str, ...]
    stages: tuple[str, ...]
    merchants: tuple[str, ...]
    resolved_at: datetime


class ActiveAlert(Record):
    """An alert (from Alertmanager) firing at some moment of the window."""

    fingerprint: str
    alertname: str
    status: str
    """`firing`, or `resolved` when it ended inside the window."""
    starts_at: datetime
    ends_at: datetime | None
    severity: str | None = None
    merchant_id: str | None = None
    migration_stage: str | None = None
    summary: str | None = None


def _rollup_columns(value: Any) -> Any:
    """Rollup rows given as records or mappings (tests, small windows, a dumped Observation) become columns."""
    if isinstance(value, RollupColumns):
        return value
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return RollupColumns.from_rows(RollupRow.model_validate(r) for r in value)
    return value


def _metric_columns(value: Any) -> Any:
    if isinstance(value, MetricColumns):
        return value
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return MetricColumns.from_rows(MetricRow.model_validate(r) for r in value)
    return value


_AS_COLUMNS: dict[str, tuple[Callable[[Any], Any], type]] = {
    "rollups": (_rollup_columns, RollupColumns),
    "metrics": (_metric_columns, MetricColumns),
}
"""The column fields, how rows given for them become columns, and the type they hold."""


def _as_rows(columns: RollupColumns | MetricColumns) -> list[dict[str, Any]]:
    """Columns dump as their rows (so an Observation still prints and stores as JSON)."""
    return [row.model_dump() for row in columns]


class Observation(Record):
    """The window `[window_start, as_of)` and the baseline history before it."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    as_of: datetime
    window_start: datetime
    window_minutes: int
    baseline_start: datetime
    counts: SignalCounts
    rollups: Annotated[RollupColumns, BeforeValidator(_rollup_columns), PlainSerializer(_as_rows)] = Field(
        default_factory=RollupColumns.empty
    )
    """The window's log rollups as columns (iterating yields `RollupRow`s); rows may be given as records"""
    metrics: Annotated[MetricColumns, BeforeValidator(_metric_columns), PlainSerializer(_as_rows)] = Field(
        default_factory=MetricColumns.empty
    )
    """The window's metric points as columns (iterating yields `MetricRow`s)"""
    tickets: tuple[Ticket, ...]
    payment_events: tuple[PaymentOrderEvent, ...]
    """Payments and orders from `window_start - grace` to `as_of`, for soft-failure pairing (raw events and the
    pairing events pruning keeps of them, so pruning leaves them whole)."""
    baselines: tuple[MerchantBaseline, ...]
    merchant_stages: dict[str, str]
    """Latest known migration stage of every merchant seen in the window or baseline."""
    history: DetectionHistory | None = None
    """Baselines for anomaly detection (complete hours before the window)."""
    open_incidents: tuple[OpenIncident, ...] = ()
    """Every unresolved incident, most recently seen first (the order decide matches a new assessment in)."""
    error_codes: tuple[ErrorCodeCount, ...] = ()
    """Status codes of the window's failed requests, from its rollups (`error_codes_of`; observe fills it, so
    raw log retention and ingest without raw logs leave it whole)."""
    recently_resolved: tuple[ResolvedIncident, ...] = ()
    """Incidents resolved within the window before `as_of`, most recent first."""
    alerts: tuple[ActiveAlert, ...] = ()
    """Alerts received from Alertmanager that were firing at some moment of the window."""
    unknown_merchants: tuple[str, ...] = ()
    """Merchants with signals in the window that the merchant directory does not list (empty when no
    directory is loaded): their signals count, their stage comes only from the signals themselves."""

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied; rows given for `rollups` or `metrics` become columns, as validation
        makes them (pydantic's copy stores updates as given, which would leave rows where columns belong)."""
        if update:
            update = dict(update)
            for name, (convert, kind) in _AS_COLUMNS.items():
                if name in update:
                    value = convert(update[name])
                    if not isinstance(value, kind):
                        raise TypeError(
                            f"Observation.{name} takes {kind.__name__} or rows, not {type(value).__name__}"
                        )
                    update[name] = value
        return super().model_copy(update=update, deep=deep)


__all__ = [
    "ActiveAlert",
    "ErrorCodeCount",
    "MerchantBaseline",
    "MetricColumns",
    "MetricRow",
    "Observation",
    "OpenIncident",
    "PaymentOrderEvent",
    "RollupColumns",
    "RollupRow",
    "SignalCounts",
    "error_codes_of",
]
