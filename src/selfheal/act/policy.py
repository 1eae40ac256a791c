"""The autonomy policy: which actions run by themselves and how many people must approve the rest.

Deterministic by construction: `evaluate` sees only an action's risk class, its confidence and the
catalogue's `requires_approval` flag, never its title, description, rationale or parameters. Text from a
ticket, a runbook or an LLM therefore cannot raise an action's autonomy; it can only be read by people.
"""

from __future__ import annotations

from selfheal.decide.model import ProposedAction, Risk
from selfheal.records import Record
from selfheal.settings import Settings


class PolicyDecision(Record):
    auto_execute: bool
    required_approvals: int
    reason: str


def evaluate(risk: Risk, confidence: float, requires_approval: bool, settings: Settings) -> PolicyDecision:
    """Auto-execute only low risk, at or above the confidence threshold, when the catalogue allows it and
    auto-execution is switched on; medium risk needs one approver, high risk `act_high_risk_approvals`."""
    threshold = settings.act_auto_execute_min_confidence
    if risk == Risk.high:
        n = settings.act_high_risk_approvals
        return PolicyDecision(
            auto_execute=False, required_approvals=n, reason=f"high risk: needs {n} distinct approver(s)"
        )
    if risk == Risk.medium:
        return PolicyDecision(auto_execute=False, required_approvals=1, reason="medium risk: needs approval")
    if requires_approval:
        reason = "low risk, but the action catalogue requires approval"
    elif not settings.act_auto_execute_low_risk:
        reason = "low risk, but auto-execution is switched off (SELFHEAL_ACT_AUTO_EXECUTE_LOW_RISK)"
    elif confidence < threshold:
        reason = f"low risk, but confidence {confidence:.2f} is below the threshold {threshold:.2f}"
    else:
        return PolicyDecision(
            auto_execute=True,
            required_approvals=0,
            reason=f"low risk with confidence {confidence:.2f} >= {threshold:.2f}: auto-executed",
        )
    return PolicyDecision(auto_execute=False, required_approvals=1, reason=reason)


def evaluate_action(action: ProposedAction, settings: Settings) -> PolicyDecision:
    """The policy for a proposed action (only its structured fields are passed on)."""
    return evaluate(action.risk, action.confidence, action.requires_approval, settings)
