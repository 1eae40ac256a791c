"""Findings: what the reason stage saw in an Observation."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from selfheal.records import Record


class AnomalyKind(StrEnum):
    hard = "hard"  # errors: 4xx/5xx spikes, timeouts
    soft = "soft"  # silent breakage: payment succeeded, no order
    business = "business"  # KPIs: conversion, orders, revenue


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


SEVERITY_RANK = {Severity.low: 0, Severity.medium: 1, Severity.high: 2, Severity.critical: 3}


class Dimensions(Record):
    """Where an anomaly or a theme shows up."""

    merchants: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    status_codes: tuple[str, ...] = ()


class Anomaly(Record):
    id: str
    kind: AnomalyKind
    severity: Severity
    score: float = Field(ge=0, le=1)
    method: str
    series: str = Field(
        description="Human-readable name of the series, e.g. 'error rate webhook POST /x 4xx'"
    )
    metric: str = Field(description="Machine name of the metric, e.g. 'error_rate', 'orders', 'latency_p95'")
    onset: datetime
    observed: float
    expected: float
    expected_low: float | None = None
    expected_high: float | None = None
    dimensions: Dimensions = Dimensions()
    detail: str = ""


class SoftFailureGap(Record):
    """Payments that succeeded with no `order.created` after the grace period, per merchant and stage."""

    merchant_id: str
    migration_stage: str
    payments: int
    missing_orders: int
    rate: float
    example_correlation_ids: tuple[str, ...] = ()
    first_missing_at: datetime | None = None


class ThemeTrend(StrEnum):
    new = "new"
    growing = "growing"
    stable = "stable"
    shrinking = "shrinking"


class RepresentativeTicket(Record):
    ticket_id: str
    subject: str
    body: str


class TicketTheme(Record):
    """A cluster of tickets with a readable label."""

    id: str
    label: str
    top_terms: tuple[str, ...]
    size: int
    representatives: tuple[RepresentativeTicket, ...]
    ticket_ids: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    trend: ThemeTrend = ThemeTrend.new
    anomaly_ids: tuple[str, ...] = ()
    group_id: str = ""
    """The group (coarse level) this theme belongs to."""


class ThemeGroup(Record):
    """Themes that belong together (e.g. all refund problems), cut from the same tree as the themes."""

    id: str
    label: str
    top_terms: tuple[str, ...]
    size: int
    theme_ids: tuple[str, ...]
    merchants: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    trend: ThemeTrend = ThemeTrend.new


class TicketFlood(Record):
    """Many tickets with the same text (one sender copying, a bot, an injection campaign): counted once
    for theme discovery and reported here instead of as themes."""

    id: str
    text: str
    size: int
    ticket_ids: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()


class RunbookPassage(Record):
    """A retrieved runbook chunk with its citation."""

    chunk_id: str
    document: str
    section: str
    page: int | None = None
    text: str
    score: float


class DataNoteKind(StrEnum):
    stale = "stale"
    """The stage's signals stopped arriving before `as_of`."""
    no_history = "no_history"
    """No same window yesterday or last week to compare the stage's orders with."""
    missing_minutes = "missing_minutes"
    """Too few of the window's minutes have KPI points to compare the stage's orders (not enough data)."""


class DataNote(Record):
    """What the window's data cannot tell, said instead of an anomaly."""

    kind: DataNoteKind
    stage: str
    detail: str
    last_signal_at: datetime | None = None


class Findings(Record):
    anomalies: tuple[Anomaly, ...] = ()
    soft_failures: tuple[SoftFailureGap, ...] = ()
    themes: tuple[TicketTheme, ...] = ()
    theme_groups: tuple[ThemeGroup, ...] = ()
    ticket_floods: tuple[TicketFlood, ...] = ()
    unassigned_tickets: int = 0
    embedding_model: str | None = None
    runbook_context: tuple[RunbookPassage, ...] = ()
    data_notes: tuple[DataNote, ...] = ()
    """Stale stages and stages without the history a comparison needs."""
    retrieval_query: str | None = None
    notes: tuple[str, ...] = ()
