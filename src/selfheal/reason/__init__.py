"""Reason: turn an Observation into Findings (anomalies, soft-failure gaps, ticket themes, runbook context).

Pure with respect to storage: everything comes in through the Observation and the ReasonContext.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from selfheal.observe.gaps import log_gap_minutes
from selfheal.observe.model import Observation
from selfheal.reason.cluster import ThemeInput, find_themes, lexical_theme_input
from selfheal.reason.detect.anomalies import data_notes, detect_anomalies
from selfheal.reason.detect.pairing import ORDER_EVENT_SOURCE, pair_payments
from selfheal.reason.model import Findings
from selfheal.reason.runbooks import RunbookRetriever, WindowEvidence, attach_runbooks
from selfheal.settings import Settings


@dataclass(frozen=True)
class ReasonContext:
    """What the reason stage may use besides the Observation."""

    settings: Settings
    themes: ThemeInput | None = None
    """Tickets of the recent windows with their stored vectors (see `selfheal.observe.themes`); without it the
    window's tickets are clustered with the lexical fallback."""
    retriever: RunbookRetriever | None = None
    """Runbook retriever; with it, Findings carry `runbook_context` and `retrieval_query`."""


def reason(obs: Observation, ctx: ReasonContext) -> Findings:
    gaps = pair_payments(
        obs.payment_events,
        obs.window_start,
        obs.as_of,
        timedelta(minutes=ctx.settings.soft_failure_grace_minutes),
        log_gap_minutes(obs, None, (ORDER_EVENT_SOURCE,), resumed_only=True),
    )
    anomalies = detect_anomalies(obs, gaps, ctx.settings.detect_threshold, ctx.settings.detect_stale_minutes)
    themes = find_themes(ctx.themes or lexical_theme_input(obs), anomalies)
    findings = Findings(
        anomalies=anomalies,
        soft_failures=tuple(g for g in gaps if g.missing_orders > 0),
        themes=themes.themes,
        theme_groups=themes.groups,
        ticket_floods=themes.floods,
        unassigned_tickets=themes.unassigned_tickets,
        embedding_model=themes.embedding_model,
        data_notes=data_notes(obs, ctx.settings.detect_stale_minutes),
    )
    return attach_runbooks(
        findings,
        ctx.retriever,
        ctx.settings.kb_incident_top,
        window=WindowEvidence.of(obs),
    )


__all__ = ["Findings", "ReasonContext", "reason"]
