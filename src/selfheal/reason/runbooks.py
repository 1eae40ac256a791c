"""Runbook context for the reason stage: the retriever protocol reason needs (the knowledge base implements
it), and a per-incident query built from what the reason stage found.

Pure: no storage imports. The retriever (the knowledge base in production) is injected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from selfheal.reason.model import SEVERITY_RANK, Findings, RunbookPassage

MAX_QUERY_TERMS = 60

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
    "409": "409 conflict",
    "429": "429 rate limited",
    "500": "500 internal server error",
    "502": "502 bad gateway upstream provider",
    "503": "503 service unavailable provider",
    "504": "504 gateway timeout",
}


class RunbookRetriever(Protocol):
    def passages(self, query: str, top: int) -> tuple[RunbookPassage, ...]:
        """The `top` best runbook passages for `query`, best first."""
        ...


def build_incident_query(findings: Findings, hypothesis: str | None = None) -> str:
    """Words that describe this incident: the leading hypothesis, anomalous endpoints, status codes and
    metrics (worst first), soft-failure gaps and ticket theme terms. Empty when nothing was found."""
    parts: list[str] = []
    if hypothesis:
        parts.append(hypothesis)
    ranked = sorted(findings.anomalies, key=lambda a: (-SEVERITY_RANK[a.severity], -a.score))
    for anomaly in ranked[:5]:
        dims = anomaly.dimensions
        parts.extend(dims.sources)
        parts.extend(dims.endpoints)
        for code in dims.status_codes:
            parts.append(_STATUS_WORDS.get(code, code))
        parts.append(_METRIC_WORDS.get(anomaly.metric, anomaly.metric.replace("_", " ")))
    gaps = [g for g in findings.soft_failures if g.missing_orders > 0]
    if gaps:
        parts.append("payment succeeded but no order created; order.created webhook missing")
    for theme in sorted(findings.themes, key=lambda t: -t.size)[:3]:
        parts.append(theme.label)
        parts.extend(theme.top_terms[:8])
    return _dedupe_words(parts)


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


def attach_runbooks(
    findings: Findings, retriever: RunbookRetriever | None, top: int, hypothesis: str | None = None
) -> Findings:
    """`findings` with `runbook_context` and `retrieval_query` filled in (unchanged without a retriever or
    without anything to ask)."""
    if retriever is None or top <= 0:
        return findings
    query = build_incident_query(findings, hypothesis)
    if not query:
        return findings
    passages = retriever.passages(query, top)
    return findings.model_copy(update={"runbook_context": passages, "retrieval_query": query})
