"""Put a validated narrative onto an Assessment, touching the narrative fields and nothing else."""

from __future__ import annotations

from typing import Any

from selfheal.decide.model import Assessment
from selfheal.narrate.errors import NarrativeSkipped, SkipReason
from selfheal.narrate.schema import Narrative

NARRATIVE_FIELDS = frozenset({"summary", "narrative_source", "narrative_note", "narrative_citations"})


def decision_view(assessment: Assessment) -> dict[str, Any]:
    """The assessment without its narrative text: everything the narrative layer must leave unchanged.

    Category, confidence, alternatives, evidence, blast radius, money, and every action's key, risk,
    confidence, approval and parameters are in here; the summary, the root-cause explanation and the
    action descriptions are not.
    """
    view = assessment.model_dump(mode="json", exclude=set(NARRATIVE_FIELDS))
    view["root_cause"].pop("explanation", None)
    for action in view["actions"]:
        action.pop("description", None)
    return view


def apply_narrative(assessment: Assessment, narrative: Narrative, source: str, note: str) -> Assessment:
    """The assessment with the narrative's texts and citations; raises if any decision would change."""
    by_key = {a.key: a for a in narrative.actions}
    actions = tuple(
        a.model_copy(update={"description": by_key[a.key].description}) if a.key in by_key else a
        for a in assessment.actions
    )
    citations: dict[str, tuple[str, ...]] = {
        "summary": narrative.summary.cites,
        "root_cause": narrative.root_cause.cites,
    }
    citations.update({f"action:{a.key}": a.cites for a in narrative.actions})
    narrated = assessment.model_copy(
        update={
            "summary": narrative.summary.text,
            "root_cause": assessment.root_cause.model_copy(update={"explanation": narrative.root_cause.text}),
            "actions": actions,
            "narrative_source": source,
            "narrative_note": note,
            "narrative_citations": citations,
        }
    )
    if decision_view(narrated) != decision_view(assessment):
        raise NarrativeSkipped(SkipReason.decision_changed, "applying the narrative would change a decision")
    return narrated
