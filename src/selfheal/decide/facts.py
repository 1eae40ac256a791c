"""Facts: the Findings flattened into uniform items the hypothesis rules can match.

Every fact keeps the id of what it came from (anomaly id, theme id, runbook chunk id, or the stage of a
soft-failure count) so the evidence of an assessment points at its sources.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from selfheal.decide.catalogue import Match
from selfheal.decide.model import EvidenceKind
from selfheal.reason.model import Anomaly, AnomalyKind, Findings, Severity, SoftFailureGap

SEVERITY_STRENGTH = {Severity.low: 0.4, Severity.medium: 0.7, Severity.high: 0.9, Severity.critical: 1.0}
"""How much an anomaly's severity lets it weigh (times its score)."""

SOFT_FAILURE_PRIOR_RATE = 0.005
"""Share of payments that end without an order on a healthy day (retries, test orders, late webhooks)."""
SOFT_FAILURE_MIN_MISSING = 3
SOFT_FAILURE_FULL_EXCESS = 10.0
"""Missing orders above the prior at which a stage's soft-failure count counts in full."""


@dataclass(frozen=True)
class Fact:
    signal: str
    source_id: str
    text: str
    strength: float
    kind: str = ""
    metric: str = ""
    endpoints: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    status_classes: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()
    onset: datetime | None = None
    earliest: bool = False
    severity: Severity = Severity.low
    count: int = 0
    examples: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def evidence_kind(self) -> EvidenceKind:
        return EvidenceKind(self.signal)


def _status_class(code: str) -> str:
    return f"{code[0]}xx" if code[:1].isdigit() else code


def anomaly_fact(a: Anomaly, earliest: bool) -> Fact:
    return Fact(
        signal="anomaly",
        source_id=a.id,
        text=f"{a.series}: {a.observed:g} vs expected {a.expected:g}. {a.detail}".strip(),
        strength=round(a.score * SEVERITY_STRENGTH[a.severity], 4),
        kind=a.kind.value,
        metric=a.metric,
        endpoints=a.dimensions.endpoints,
        sources=a.dimensions.sources,
        status_classes=tuple(_status_class(c) for c in a.dimensions.status_codes),
        stages=a.dimensions.stages,
        merchants=a.dimensions.merchants,
        onset=a.onset,
        earliest=earliest,
        severity=a.severity,
    )


def soft_failure_facts(gaps: tuple[SoftFailureGap, ...]) -> list[Fact]:
    """One fact per stage: payments without order.created, weighed by their excess over the prior rate."""
    by_stage: dict[str, list[SoftFailureGap]] = defaultdict(list)
    for g in gaps:
        by_stage[g.migration_stage].append(g)
    facts = []
    for stage, items in sorted(by_stage.items()):
        missing = sum(g.missing_orders for g in items)
        payments = sum(g.payments for g in items)
        excess = missing - SOFT_FAILURE_PRIOR_RATE * payments
        if missing < SOFT_FAILURE_MIN_MISSING or excess <= 0:
            continue
        merchants = tuple(g.merchant_id for g in items if g.missing_orders > 0)
        firsts = [g.first_missing_at for g in items if g.first_missing_at is not None]
        facts.append(
            Fact(
                signal="soft_failure",
                source_id=f"soft_failure:{stage}",
                text=f"{missing} of {payments} successful payments at stage {stage} have no order.created "
                f"({len(merchants)} merchants)",
                strength=round(min(1.0, excess / SOFT_FAILURE_FULL_EXCESS), 4),
                kind=AnomalyKind.soft.value,
                metric="payments_without_order",
                stages=(stage,),
                merchants=merchants,
                onset=min(firsts) if firsts else None,
                count=missing,
                examples=tuple(c for g in items for c in g.example_correlation_ids)[:10],
                extra={"payments": payments},
            )
        )
    return facts


def facts_from(findings: Findings) -> list[Fact]:
    """Every fact in the findings: anomalies, per-stage soft-failure counts, ticket themes, runbook passages."""
    hard = [a for a in findings.anomalies if a.kind == AnomalyKind.hard]
    first_hard = min(hard, key=lambda a: (a.onset, -a.score)).id if hard else None
    facts = [anomaly_fact(a, earliest=a.id == first_hard) for a in findings.anomalies]
    facts += soft_failure_facts(findings.soft_failures)
    for t in findings.themes:
        text = " ".join(
            [t.label, " ".join(t.top_terms), *(f"{r.subject} {r.body}" for r in t.representatives)]
        )
        facts.append(
            Fact(
                signal="theme",
                source_id=t.id,
                text=text,
                strength=round(min(1.0, t.size / 5), 4),
                stages=t.stages,
                merchants=t.merchants,
                count=t.size,
                extra={"label": t.label, "trend": t.trend.value},
            )
        )
    for p in findings.runbook_context:
        facts.append(
            Fact(
                signal="runbook",
                source_id=p.chunk_id,
                text=f"{p.document} / {p.section}: {p.text}",
                strength=round(max(0.0, min(1.0, p.score)), 4),
                extra={"document": p.document, "section": p.section},
            )
        )
    return facts


def matches(m: Match, f: Fact) -> bool:
    """True when fact `f` has every attribute match `m` asks for."""
    if m.signal != f.signal:
        return False
    if m.kinds and f.kind not in m.kinds:
        return False
    if m.metrics and f.metric not in m.metrics:
        return False
    if m.endpoint and not any(m.endpoint.lower() in e.lower() for e in f.endpoints):
        return False
    if m.source and m.source not in f.sources:
        return False
    if m.status_class and m.status_class not in f.status_classes:
        return False
    if m.earliest and not f.earliest:
        return False
    if m.terms:
        text = f.text.lower()
        if sum(term.lower() in text for term in m.terms) < m.min_terms:
            return False
    return True
