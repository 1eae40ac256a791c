"""Facts: the Findings flattened into uniform items the hypothesis rules can match.

Every fact keeps the id of what it came from (anomaly id, theme id, runbook chunk id, or the stage of a
soft-failure count) so the evidence of an assessment points at its sources.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from selfheal.decide.catalogue import Match
from selfheal.decide.model import EvidenceKind
from selfheal.reason.detect.counts import binomial_excess_pvalue
from selfheal.reason.model import Anomaly, AnomalyKind, Findings, Severity, SoftFailureGap

SEVERITY_STRENGTH = {Severity.low: 0.4, Severity.medium: 0.7, Severity.high: 0.9, Severity.critical: 1.0}
"""How much an anomaly's severity lets it weigh (times its score)."""

ROLE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("order_webhook", ("webhook", "/hooks/")),
    ("payment", ("payment", "charge", "authoriz", "psp")),
    ("cart", ("cart", "basket", "/bag")),
    ("checkout", ("checkout",)),
    ("storefront", ("graphql",)),
)
"""What a request is for, from words in its endpoint (first match wins); the log source decides first."""
SOURCE_ROLES = {"webhook": "order_webhook", "payment": "payment"}
DOMINANT_CODE_SHARE = 0.5
"""A fact 'answers' a set of status codes when at least this share of its failed requests carry one of them."""

SOFT_FAILURE_PRIOR_RATE = 0.005
"""Share of payments that end without an order on a healthy day (retries, test orders, late webhooks)."""
SOFT_FAILURE_MIN_MISSING = 3
SOFT_FAILURE_FULL_EXCESS = 10.0
"""Missing orders above the prior at which a stage's soft-failure count counts in full."""
SOFT_FAILURE_MAX_PVALUE = 0.05
"""A stage's soft-failure count is a fact only when the prior rate would leave this little chance of as many
missing orders: a handful above the prior (a few webhooks a healthy day loses, or payments judged fewer because
the order webhooks' logs had a gap) is the prior's own noise, and would otherwise place an unexplained cause."""


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
    roles: tuple[str, ...] = ()
    """What the failing requests are for: order_webhook, payment, cart, checkout, storefront (cart and checkout
    behind one endpoint, e.g. GraphQL)."""
    codes: tuple[tuple[str, int], ...] = ()
    """(status code as the rollups keep it, failed requests) of an error-rate anomaly's endpoint and status
    class in the window: `401` exact, `4xx` another code of the class (see `observe.model.error_codes_of`)."""
    cause_codes: tuple[int, ...] = ()
    """The exact status codes the cause this fact locates is about (401/403 for auth): its failed requests, per
    merchant, are the ones answered with these codes, plus those whose code is unknown (only the class was
    kept). Empty: every failure of the fact's status classes. Set when a cause's rule with `codes` locates it."""
    extra: dict[str, object] = field(default_factory=dict)

    def code_share(self, wanted: tuple[int, ...]) -> float | None:
        """Share of the fact's failed requests answered with one of `wanted` (a class, `4xx`, counts as none of
        them); None when codes are unknown."""
        total = sum(n for _, n in self.codes)
        if not total:
            return None
        names = {str(c) for c in wanted}
        return sum(n for c, n in self.codes if c in names) / total

    @property
    def evidence_kind(self) -> EvidenceKind:
        return EvidenceKind(self.signal)


def _status_class(code: str) -> str:
    return f"{code[0]}xx" if code[:1].isdigit() else code


def endpoint_role(source: str, endpoint: str) -> str:
    """What a request is for (see ROLE_WORDS); `storefront` for an API call the name does not place."""
    if source in SOURCE_ROLES:
        return SOURCE_ROLES[source]
    low = endpoint.lower()
    for role, words in ROLE_WORDS:
        if any(w in low for w in words):
            return role
    return "storefront"


CodeCounts = dict[tuple[str, str], dict[str, int]]
"""Failed requests per (source, endpoint) and status code as the rollups keep it (`401`, or `4xx` for another)."""


def _codes(a: Anomaly, codes: CodeCounts) -> tuple[tuple[str, int], ...]:
    classes = {c[:1] for c in a.dimensions.status_codes}
    out: dict[str, int] = {}
    for source in a.dimensions.sources or ("",):
        for endpoint in a.dimensions.endpoints:
            for code, n in codes.get((source, endpoint), {}).items():
                if code[:1] in classes:
                    out[code] = out.get(code, 0) + n
    return tuple(sorted(out.items()))


def _value(metric: str, value: float) -> str:
    """A metric's value for people: rates and shares as percentages (0.0501 -> 5.01%), similarities to two
    decimals, counts as numbers (at most one decimal)."""
    if any(part in ("rate", "share") for part in metric.split("_")):
        percent = value * 100
        return f"{percent:.2f}%" if abs(percent) < 10 else f"{percent:.1f}%"
    if metric == "cosine":
        return f"{value:.2f}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{round(value, 1):g}"


def anomaly_fact(a: Anomaly, earliest: bool, codes: CodeCounts | None = None) -> Fact:
    sources = a.dimensions.sources or ("",)
    roles = tuple(dict.fromkeys(endpoint_role(s, e) for s in sources for e in a.dimensions.endpoints))
    return Fact(
        signal="anomaly",
        source_id=a.id,
        text=f"{a.series}: {_value(a.metric, a.observed)} vs expected {_value(a.metric, a.expected)}. "
        f"{a.detail}".strip(),
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
        roles=roles,
        codes=_codes(a, codes) if codes and a.metric == "error_rate" else (),
        extra={"observed": float(a.observed), "expected": float(a.expected)},
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
        if float(
            binomial_excess_pvalue(np.array([missing]), np.array([payments]), SOFT_FAILURE_PRIOR_RATE)[0]
        ) >= (SOFT_FAILURE_MAX_PVALUE):
            continue
        merchants = tuple(g.merchant_id for g in items if g.missing_orders > 0)
        firsts = [g.first_missing_at for g in items if g.first_missing_at is not None]
        facts.append(
            Fact(
                signal="soft_failure",
                source_id=f"soft_failure:{stage}",
                text=f"{missing} of {payments} successful payments at stage {stage} in the window have no "
                f"order.created ({len(merchants)} merchants)",
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


def facts_from(findings: Findings, codes: CodeCounts | None = None) -> list[Fact]:
    """Every fact in the findings: anomalies, per-stage soft-failure counts, ticket themes, runbook passages.
    `codes`: the window's failed requests per (source, endpoint) and status code (from the rollups)."""
    hard = [a for a in findings.anomalies if a.kind == AnomalyKind.hard]
    first_hard = min(hard, key=lambda a: (a.onset, -a.score)).id if hard else None
    facts = [anomaly_fact(a, a.id == first_hard, codes) for a in findings.anomalies]
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


def _request_matches(m: Match, f: Fact) -> bool:
    """What the failing requests are for and the status codes they got."""
    if m.roles and not set(m.roles) & set(f.roles):
        return False
    if m.codes:
        share = f.code_share(m.codes)
        if share is None:
            # Unknown codes (rollups stored before they kept codes): the class alone decides, unless codes are needed.
            return not m.needs_codes
        if share < DOMINANT_CODE_SHARE:
            return False
    return True


def _anomaly_matches(m: Match, f: Fact) -> bool:
    """The anomaly attributes: kind, metric, endpoint, source, status class, earliest."""
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
    return not (m.earliest and not f.earliest)


def matches(m: Match, f: Fact) -> bool:
    """True when fact `f` has every attribute match `m` asks for."""
    if m.signal != f.signal or not _anomaly_matches(m, f) or not _request_matches(m, f):
        return False
    if m.terms:
        text = f.text.lower()
        if sum(term.lower() in text for term in m.terms) < m.min_terms:
            return False
    return True
