"""Runbook context for the reason stage: the retriever protocol reason needs (the knowledge base implements
it), and a per-incident query built from the incident's own evidence.

The query names what failed (endpoints, sources), how it failed (the exact status codes of the failing
requests, the metrics, payments without orders) and the customer reports that belong to the incident: ticket
themes whose tickets come from the incident's merchants or stages, after its onset, more often than the
window's other tickets do. Retrieved passages are then re-ranked on the exact status codes: a passage that
names one of the incident's codes ranks above one that names only other codes.

Pure: no storage imports. The retriever (the knowledge base in production) is injected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from selfheal.observe.model import ErrorCodeCount, Observation
from selfheal.reason.model import (
    SEVERITY_RANK,
    Anomaly,
    AnomalyKind,
    Findings,
    RunbookPassage,
    Severity,
    TicketTheme,
)
from selfheal.signals import Ticket

MAX_QUERY_TERMS = 60
QUERY_ANOMALIES = 5
"""The worst anomalies whose endpoints, codes and metrics go into the query."""
DOMINANT_CODE_SHARE = 0.2
"""An exact status code names the incident when it is at least this share of its anomaly's failed requests."""
EXACT_CODE_WEIGHT = 0.25
"""Re-ranking on exact codes: a passage naming one of the incident's codes scores x(1 + w), one naming only
other status codes x(1 - w)."""
CANDIDATES_PER_PASSAGE = 4
"""Passages fetched per passage cited, for the re-ranking."""
THEME_LEAD = timedelta(minutes=15)
"""A ticket filed up to this long before the incident's onset still counts as filed during it."""
THEME_MIN_TICKETS = 2
THEME_SIGNIFICANCE = 0.05
"""A theme belongs to the incident when at least THEME_MIN_TICKETS of its tickets come from the incident's
merchants or stages after its onset, and that many would happen by chance (the window's other tickets'
share) with probability at most this."""
QUERY_THEMES = 3
THEME_TERMS = 8

_METRIC_WORDS = {
    "error_rate": "errors failing requests",
    "latency_p95": "high latency slow timeouts",
    "latency": "high latency slow timeouts",
    "orders": "orders dropped missing orders",
    "conversion": "conversion dropped checkout abandoned",
    "revenue": "revenue loss",
    "checkout_attempts": "checkout attempts",
}
_STATUS_WORDS = {
    "401": "401 unauthorized authentication token key",
    "403": "403 forbidden signature secret rejected",
    "404": "404 not found",
    "409": "409 conflict",
    "429": "429 rate limited",
    "500": "500 internal server error",
    "502": "502 bad gateway upstream provider",
    "503": "503 service unavailable provider",
    "504": "504 gateway timeout",
}
_CODE = re.compile(r"(?<![\d.,])([1-5]\d\d)(?![\d.,]\d)")


class RunbookRetriever(Protocol):
    def passages(self, query: str, top: int) -> tuple[RunbookPassage, ...]:
        """The `top` best runbook passages for `query`, best first."""
        ...


@dataclass(frozen=True)
class IncidentScope:
    """Where and since when the incident shows: the merchants and stages of its located signals (empty
    both: platform-wide) and its earliest onset."""

    merchants: frozenset[str]
    stages: frozenset[str]
    onset: datetime | None

    @property
    def platform_wide(self) -> bool:
        return not self.merchants and not self.stages

    def covers(self, ticket: Ticket) -> bool:
        return (
            self.platform_wide
            or ticket.merchant_id in self.merchants
            or ticket.migration_stage in self.stages
        )


def incident_anomalies(findings: Findings) -> list[Anomaly]:
    """The anomalies the query describes, worst first: the medium-or-worse ones (all when none is)."""
    ranked = sorted(findings.anomalies, key=lambda a: (-SEVERITY_RANK[a.severity], -a.score, a.id))
    serious = [a for a in ranked if SEVERITY_RANK[a.severity] >= SEVERITY_RANK[Severity.medium]]
    return (serious or ranked)[:QUERY_ANOMALIES]


def incident_scope(findings: Findings) -> IncidentScope:
    """The merchants, stages and onset of the incident's anomalies, with the payment-without-order gaps on
    them (all gaps when no anomaly names a merchant or stage)."""
    anomalies = incident_anomalies(findings)
    merchants = {m for a in anomalies for m in a.dimensions.merchants}
    stages = {s for a in anomalies for s in a.dimensions.stages}
    onsets = [a.onset for a in anomalies]
    located = bool(merchants or stages)
    for gap in findings.soft_failures:
        if located and gap.merchant_id not in merchants and gap.migration_stage not in stages:
            continue
        merchants.add(gap.merchant_id)
        stages.add(gap.migration_stage)
        if gap.first_missing_at is not None:
            onsets.append(gap.first_missing_at)
    return IncidentScope(frozenset(merchants), frozenset(stages), min(onsets) if onsets else None)


@dataclass(frozen=True)
class WindowEvidence:
    """What of the window (the Observation) the query needs besides the Findings."""

    tickets: Sequence[Ticket] = ()
    error_codes: Sequence[ErrorCodeCount] = ()
    attempts: Mapping[str, int] = field(default_factory=dict)
    """Checkout attempts per merchant in the window: the expected share of tickets per merchant."""
    merchant_stages: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, obs: Observation) -> WindowEvidence:
        m = obs.metrics
        (totals,) = m.merchant_id.sums(m.checkout_attempts)
        attempts = {merchant: int(n) for merchant, n in totals.items()}
        return cls(obs.tickets, obs.error_codes, attempts, obs.merchant_stages)

    def expected_share(self, scope: IncidentScope) -> float:
        """The share of tickets the scope's merchants would file by chance: their share of checkout
        attempts (of merchants, without attempts; of the window's tickets, without either)."""

        def inside(merchant: str) -> bool:
            return merchant in scope.merchants or self.merchant_stages.get(merchant) in scope.stages

        total = sum(self.attempts.values())
        if total > 0:
            return sum(n for m, n in self.attempts.items() if inside(m)) / total
        if self.merchant_stages:
            return sum(inside(m) for m in self.merchant_stages) / len(self.merchant_stages)
        return sum(scope.covers(t) for t in self.tickets) / len(self.tickets) if self.tickets else 1.0


def exact_codes(anomaly: Anomaly, error_codes: Sequence[ErrorCodeCount]) -> tuple[str, ...]:
    """The exact status codes of `anomaly`: its own when exact, else the window's failed requests of its
    endpoints in its status classes that carry at least DOMINANT_CODE_SHARE of them, most frequent first (codes
    the rollups fold into their class count among the failed requests but are never named)."""
    own = [c for c in anomaly.dimensions.status_codes if c.isdigit()]
    classes = {c[:1] for c in anomaly.dimensions.status_codes if not c.isdigit()}
    if not classes or anomaly.metric != "error_rate":
        return tuple(own)
    sources = set(anomaly.dimensions.sources)
    endpoints = set(anomaly.dimensions.endpoints)
    counts: dict[str, int] = {}
    for row in error_codes:
        placed = row.endpoint in endpoints and (not sources or row.source in sources)
        if placed and row.status_code[:1] in classes:
            counts[row.status_code] = counts.get(row.status_code, 0) + row.count
    total = sum(counts.values())
    found = [
        code
        for code, n in sorted(counts.items(), key=lambda p: (-p[1], p[0]))
        if code.isdigit() and n / total >= DOMINANT_CODE_SHARE
    ]
    return tuple(dict.fromkeys([*own, *found]))


def failing_request_anomalies(findings: Findings) -> list[Anomaly]:
    """The milder failing-request (error rate) anomalies on the incident's own merchants or stages, worst
    first: a few hundred webhook 403s at two merchants score low beside the orders they cost, yet they say
    what failed and where."""
    scope = incident_scope(findings)
    if scope.platform_wide:
        return []
    ids = {a.id for a in incident_anomalies(findings)}
    found: list[Anomaly] = []
    for anomaly in sorted(findings.anomalies, key=lambda a: (-SEVERITY_RANK[a.severity], -a.score, a.id)):
        dims = anomaly.dimensions
        inside = bool(scope.merchants & set(dims.merchants) or scope.stages & set(dims.stages))
        if anomaly.id not in ids and anomaly.metric == "error_rate" and inside:
            found.append(anomaly)
    return found


def incident_codes(findings: Findings, error_codes: Sequence[ErrorCodeCount] = ()) -> tuple[str, ...]:
    """Every exact status code of the incident's anomalies, worst anomaly first, then those of its milder
    failing-request anomalies (`failing_request_anomalies`)."""
    codes: list[str] = []
    for anomaly in (*incident_anomalies(findings), *failing_request_anomalies(findings)):
        codes.extend(exact_codes(anomaly, error_codes))
    return tuple(dict.fromkeys(codes))


def _tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    return min(1.0, sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)))


def incident_themes(findings: Findings, window: WindowEvidence) -> list[TicketTheme]:
    """The themes that belong to the incident, largest first: at least THEME_MIN_TICKETS of their tickets
    come from the incident's merchants or stages after its onset, more than chance explains (binomial tail
    at the scope's expected share at most THEME_SIGNIFICANCE). Without the window's tickets nothing can be
    placed, so no theme is."""
    scope = incident_scope(findings)
    if not window.tickets or scope.onset is None:
        return []
    by_id = {t.id: t for t in window.tickets}
    since = scope.onset - THEME_LEAD
    share = 1.0 if scope.platform_wide else window.expected_share(scope)
    out: list[TicketTheme] = []
    for theme in sorted(findings.themes, key=lambda t: (-t.size, t.id)):
        own = [by_id[i] for i in theme.ticket_ids if i in by_id]
        inside = sum(1 for t in own if t.created_at >= since and scope.covers(t))
        if inside < THEME_MIN_TICKETS:
            continue
        if share >= 1.0:
            # Every ticket is in scope: a theme belongs when most of its tickets came after the onset.
            if inside * 2 > len(own):
                out.append(theme)
        elif _tail(inside, len(own), share) <= THEME_SIGNIFICANCE:
            out.append(theme)
    return out


def build_incident_query(
    findings: Findings,
    hypothesis: str | None = None,
    window: WindowEvidence | None = None,
) -> str:
    """Words that describe this incident: the leading hypothesis, the incident's exact status codes (named
    first, so they weigh most), anomalous endpoints and metrics (worst first), soft-failure gaps, and the terms
    of the ticket themes that belong to the incident. Empty when nothing was found."""
    window = window or WindowEvidence()
    parts: list[str] = []
    if hypothesis:
        parts.append(hypothesis)
    anomalies = incident_anomalies(findings)
    for code in incident_codes(findings, window.error_codes):
        parts.append(_STATUS_WORDS.get(code, code))
    for anomaly in failing_request_anomalies(findings):  # what failed, where: next to its codes
        if exact_codes(anomaly, window.error_codes):
            parts.extend(anomaly.dimensions.sources)
            parts.extend(anomaly.dimensions.endpoints)
    for anomaly in anomalies:
        dims = anomaly.dimensions
        parts.extend(dims.sources)
        parts.extend(dims.endpoints)
        parts.extend(_STATUS_WORDS.get(c, c) for c in dims.status_codes if c.isdigit())
        parts.append(_METRIC_WORDS.get(anomaly.metric, anomaly.metric.replace("_", " ")))
    if _payments_without_orders(findings, anomalies):
        parts.append("payment succeeded but no order created; order.created webhook missing")
    for theme in incident_themes(findings, window)[:QUERY_THEMES]:
        parts.append(theme.label)
        parts.extend(theme.top_terms[:THEME_TERMS])
    return _dedupe_words(parts)


def _payments_without_orders(findings: Findings, anomalies: Sequence[Anomaly]) -> bool:
    """Whether payments without an order are part of the incident: one of its anomalies is the soft failure
    (a few background gaps beside, say, a latency anomaly are not), or, with no anomaly at all, gaps exist."""
    if not any(g.missing_orders > 0 for g in findings.soft_failures):
        return False
    return not anomalies or any(a.kind == AnomalyKind.soft for a in anomalies)


def _dedupe_words(parts: Iterable[str]) -> str:
    seen: set[str] = set()
    words: list[str] = []
    for part in parts:
        for word in re.split(r"\s+", part.strip()):
            key = word.lower().strip(",;:.")
            if key and key not in seen:
                seen.add(key)
                words.append(word)
    return " ".join(words[:MAX_QUERY_TERMS])


def passage_codes(passage: RunbookPassage) -> set[str]:
    """Status codes a passage names, in its text, its section path or its document name."""
    return set(_CODE.findall(f"{passage.document} {passage.section} {passage.text}"))


def rerank_by_codes(
    passages: Sequence[RunbookPassage], codes: Sequence[str], top: int
) -> tuple[RunbookPassage, ...]:
    """`passages` re-scored on the incident's exact `codes` (see EXACT_CODE_WEIGHT), best `top` first;
    unchanged order without codes."""
    if not codes:
        return tuple(passages[:top])
    wanted = set(codes)
    scored: list[tuple[float, int, RunbookPassage]] = []
    for rank, p in enumerate(passages):
        named = passage_codes(p)
        factor = 1.0
        if named & wanted:
            factor = 1.0 + EXACT_CODE_WEIGHT
        elif named:
            factor = 1.0 - EXACT_CODE_WEIGHT
        scored.append((p.score * factor, rank, p))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return tuple(p.model_copy(update={"score": round(score, 6)}) for score, _, p in scored[:top])


def attach_runbooks(
    findings: Findings,
    retriever: RunbookRetriever | None,
    top: int,
    hypothesis: str | None = None,
    window: WindowEvidence | None = None,
) -> Findings:
    """`findings` with `runbook_context` and `retrieval_query` filled in (unchanged without a retriever or
    without anything to ask). `window`: the tickets, status codes and traffic of the Observation."""
    if retriever is None or top <= 0:
        return findings
    window = window or WindowEvidence()
    query = build_incident_query(findings, hypothesis, window)
    if not query:
        return findings
    codes = incident_codes(findings, window.error_codes)
    fetched = retriever.passages(query, top * CANDIDATES_PER_PASSAGE if codes else top)
    passages = rerank_by_codes(fetched, codes, top)
    return findings.model_copy(update={"runbook_context": passages, "retrieval_query": query})
