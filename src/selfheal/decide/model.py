"""Assessment: the decision a person can act on."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from selfheal.reason.model import Severity
from selfheal.records import Record


class Category(StrEnum):
    """Documented root-cause vocabulary (docs/architecture.md)."""

    webhook_delivery = "webhook_delivery"
    api_auth = "api_auth"
    cart_sync = "cart_sync"
    checkout_latency = "checkout_latency"
    payment_provider = "payment_provider"
    unknown = "unknown"


class Risk(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class EvidenceKind(StrEnum):
    anomaly = "anomaly"
    soft_failure = "soft_failure"
    theme = "theme"
    runbook = "runbook"
    metric = "metric"
    alert = "alert"


class Evidence(Record):
    kind: EvidenceKind
    source_id: str = Field(description="Anomaly id, theme id, runbook chunk id, or a merchant/stage key")
    text: str
    supports: str | None = Field(None, description="The hypothesis category this item bears on")
    weight: float = 0.0


class Estimate(Record):
    """A figure with its uncertainty interval."""

    value: float
    low: float
    high: float


class RootCause(Record):
    category: Category
    hypothesis: str
    confidence: float = Field(ge=0, le=1)
    explanation: str | None = Field(
        None,
        description="Plain-language explanation of the hypothesis, written by the optional narrative layer",
    )
    score: float = Field(0.0, description="Evidence score behind the confidence (catalogue rule weights)")
    stages: tuple[str, ...] = Field((), description="Stages the locating evidence of this cause points at")
    onset: datetime | None = Field(None, description="Earliest onset among this cause's locating evidence")
    merchants: tuple[str, ...] = Field(
        (), description="Merchants at risk attributed to this cause (each merchant to one cause only)"
    )
    lost_orders: Estimate | None = Field(None, description="Lost orders at this cause's merchants")
    lost_revenue: Estimate | None = Field(
        None,
        description="Lost revenue at this cause's merchants; the causes' parts never add up to more "
        "than the assessment's total",
    )


class MerchantImpact(Record):
    merchant_id: str
    migration_stage: str
    expected_orders: float
    actual_orders: int
    lost_orders: Estimate
    lost_revenue: Estimate
    traffic_share: float
    basis: str = Field(
        "direct",
        description="`direct`: the merchant's own signals show the fault; `stage`: at risk because its "
        "stage is affected",
    )


class BlastRadius(Record):
    stages: tuple[str, ...] = ()
    merchants: tuple[MerchantImpact, ...] = ()
    traffic_share: float = 0.0


class RiskReport(Record):
    window_minutes: int
    currency: str
    expected_orders: float
    actual_orders: int
    lost_orders: Estimate
    lost_revenue: Estimate
    lost_orders_per_hour: Estimate
    lost_revenue_per_hour: Estimate
    lost_orders_per_day: Estimate
    lost_revenue_per_day: Estimate
    text: str
    onset: datetime | None = Field(None, description="Start of the loss used for the per-hour rate")
    minutes_affected: int = Field(0, description="Minutes of the window since the onset")
    confidence_level: float = Field(0.9, description="Coverage of every interval")


class ProposedAction(Record):
    key: str = Field(description="Catalogue id, e.g. 'replay_failed_webhooks'")
    title: str
    description: str
    risk: Risk
    confidence: float = Field(ge=0, le=1)
    requires_approval: bool
    rationale: str
    expected_effect: str
    params: dict[str, Any] = Field(default_factory=dict)


class Assessment(Record):
    title: str
    summary: str
    severity: Severity
    root_cause: RootCause
    alternatives: tuple[RootCause, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    assumptions: tuple[str, ...] = ()
    uncertainties: tuple[str, ...] = ()
    blast_radius: BlastRadius = BlastRadius()
    risk_report: RiskReport | None = None
    actions: tuple[ProposedAction, ...] = ()
    concurrent_causes: tuple[RootCause, ...] = Field(
        (),
        description="Other root causes found at the same time on separate evidence (one incident, "
        "several causes)",
    )
    narrative_source: str = "deterministic"
    narrative_note: str | None = None
    narrative_citations: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Evidence / runbook chunk ids each narrative field cites: 'summary', 'root_cause', "
        "'action:<key>'",
    )
