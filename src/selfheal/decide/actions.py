"""Proposed actions: the action catalogue's templates for each cause, filled in with this incident's scope."""

from __future__ import annotations

from typing import Any

from selfheal.decide.catalogue import ACTIONS, PAGE_ON_CALL, ActionTemplate
from selfheal.decide.model import BlastRadius, Category, ProposedAction, RiskReport, RootCause
from selfheal.reason.model import SEVERITY_RANK, Severity


def _proposal(t: ActionTemplate, confidence: float, params: dict[str, Any], why: str) -> ProposedAction:
    return ProposedAction(
        key=t.key,
        title=t.title,
        description=t.description,
        risk=t.risk,
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        requires_approval=t.requires_approval,
        rationale=f"{t.rationale} {why}".strip(),
        expected_effect=t.expected_effect,
        params=params,
    )


def propose_actions(
    causes: list[RootCause],
    blast: BlastRadius,
    risk: RiskReport | None,
    severity: Severity,
    examples: dict[Category, list[str]],
) -> tuple[ProposedAction, ...]:
    """Actions for every cause (one proposal per catalogue key, scopes merged), then paging when severe."""
    by_key: dict[str, ProposedAction] = {}
    per_hour = (
        f"Revenue at risk when proposed: {risk.currency} {max(risk.lost_revenue_per_hour.value, 0):,.0f} per "
        "hour (the incident card has the current rate)."
        if risk
        else ""
    )
    for cause in causes:
        stages = cause.stages or blast.stages
        merchants = [m.merchant_id for m in blast.merchants if m.migration_stage in stages] or [
            m.merchant_id for m in blast.merchants
        ]
        for t in ACTIONS.get(cause.category, ()):
            params: dict[str, Any] = {
                "category": cause.category.value,
                "stages": list(stages),
                "merchants": merchants,
            }
            if t.key == "replay_failed_webhooks" and examples.get(cause.category):
                params["example_correlation_ids"] = examples[cause.category]
            confidence = cause.confidence * t.confidence_factor
            existing = by_key.get(t.key)
            if existing is not None:
                merged = dict(existing.params)
                merged["stages"] = sorted({*existing.params.get("stages", []), *params["stages"]})
                merged["merchants"] = sorted({*existing.params.get("merchants", []), *params["merchants"]})
                merged["category"] = existing.params["category"] + "," + params["category"]
                by_key[t.key] = existing.model_copy(
                    update={"params": merged, "confidence": max(existing.confidence, round(confidence, 3))}
                )
                continue
            by_key[t.key] = _proposal(t, confidence, params, per_hour)
    if SEVERITY_RANK[severity] >= SEVERITY_RANK[Severity.high]:
        by_key[PAGE_ON_CALL.key] = _proposal(
            PAGE_ON_CALL,
            1.0,
            {"severity": severity.value, "stages": list(blast.stages)},
            per_hour,
        )
    return tuple(by_key.values())
