"""Decide: from Findings to an Assessment (root cause, evidence, blast radius, risk, actions).

Returns None when nothing in the findings calls for an incident.
"""

from __future__ import annotations

from selfheal.decide.model import (
    Assessment,
    Category,
    Evidence,
    EvidenceKind,
    RootCause,
)
from selfheal.observe.model import Observation
from selfheal.reason.model import SEVERITY_RANK, Findings, Severity
from selfheal.settings import Settings

MIN_MISSING_ORDERS = 3


def decide(obs: Observation, findings: Findings, settings: Settings) -> Assessment | None:
    missing = sum(g.missing_orders for g in findings.soft_failures)
    serious = [a for a in findings.anomalies if SEVERITY_RANK[a.severity] >= SEVERITY_RANK[Severity.high]]
    if missing < MIN_MISSING_ORDERS and not serious:
        return None
    evidence = tuple(
        Evidence(
            kind=EvidenceKind.soft_failure,
            source_id=f"{g.merchant_id}/{g.migration_stage}",
            text=f"{g.missing_orders} of {g.payments} payments at {g.merchant_id} have no order.created",
        )
        for g in findings.soft_failures
    ) + tuple(
        Evidence(
            kind=EvidenceKind.anomaly, source_id=a.id, text=f"{a.series}: {a.observed:g} vs {a.expected:g}"
        )
        for a in serious
    )
    stages = sorted({g.migration_stage for g in findings.soft_failures})
    return Assessment(
        title=f"{missing} paid orders missing" if missing else "Anomalies detected",
        summary=(
            f"In the {obs.window_minutes} minutes to {obs.as_of:%H:%M} UTC, {missing} successful payments "
            f"had no order.created after the grace period, across stages {', '.join(stages) or '-'}."
        ),
        severity=Severity.high if missing >= 10 or serious else Severity.medium,
        root_cause=RootCause(category=Category.unknown, hypothesis="Not yet determined", confidence=0.0),
        evidence=evidence,
    )


__all__ = ["Assessment", "decide"]
