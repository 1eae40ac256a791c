"""Reason: turn an Observation into Findings (anomalies, soft-failure gaps, ticket themes, runbook context).

Pure with respect to storage: everything comes in through the Observation and the ReasonContext.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from selfheal.observe.model import Observation
from selfheal.reason.detect.anomalies import detect_anomalies
from selfheal.reason.detect.pairing import pair_payments
from selfheal.reason.model import Findings
from selfheal.settings import Settings


@dataclass(frozen=True)
class ReasonContext:
    """What the reason stage may use besides the Observation."""

    settings: Settings


def reason(obs: Observation, ctx: ReasonContext) -> Findings:
    gaps = pair_payments(
        obs.payment_events,
        obs.window_start,
        obs.as_of,
        timedelta(minutes=ctx.settings.soft_failure_grace_minutes),
    )
    anomalies = detect_anomalies(obs, gaps, ctx.settings.detect_threshold)
    return Findings(anomalies=anomalies, soft_failures=tuple(g for g in gaps if g.missing_orders > 0))


__all__ = ["Findings", "ReasonContext", "reason"]
