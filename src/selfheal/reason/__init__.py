"""Reason: turn an Observation into Findings (anomalies, soft-failure gaps, ticket themes, runbook context).

Pure with respect to storage: everything comes in through the Observation and the ReasonContext.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from selfheal.knowledge.incident import RunbookRetriever, attach_runbooks
from selfheal.observe.model import Observation
from selfheal.reason.detect.pairing import pair_payments
from selfheal.reason.model import Findings
from selfheal.settings import Settings


@dataclass(frozen=True)
class ReasonContext:
    """What the reason stage may use besides the Observation."""

    settings: Settings
    retriever: RunbookRetriever | None = None


def reason(obs: Observation, ctx: ReasonContext) -> Findings:
    gaps = pair_payments(
        obs.payment_events,
        obs.window_start,
        obs.as_of,
        timedelta(minutes=ctx.settings.soft_failure_grace_minutes),
    )
    findings = Findings(soft_failures=tuple(g for g in gaps if g.missing_orders > 0))
    return attach_runbooks(findings, ctx.retriever, ctx.settings.kb_incident_top)


__all__ = ["Findings", "ReasonContext", "reason"]
