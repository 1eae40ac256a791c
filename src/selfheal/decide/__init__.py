"""Decide: from an Observation and its Findings to a Decision, the assessment and the incident plan.

- `assess` (decide.assessment): root cause, evidence, blast radius, risk in money and proposed actions; None
  when nothing calls for an incident.
- `plan_incidents` (decide.plan): what the cycle does to incidents: open a new one or continue an open one,
  move every open incident along its lifecycle (open -> mitigating -> recovering -> resolved), judge
  executed actions; `plan_decision` also shows the continued incident's assessment with the incident's
  held severity and loss so far.
- `plan_notices` (decide.notify): the notifications the plan calls for and the routes that take them.

Pure: no storage, no network, no LLM. The act stage writes what the Decision says.
"""

from __future__ import annotations

from selfheal.decide.assessment import assess
from selfheal.decide.model import Assessment
from selfheal.decide.notify import plan_notices
from selfheal.decide.plan import plan_decision, plan_incidents
from selfheal.decide.plan_model import Decision, IncidentPlan
from selfheal.observe.model import Observation
from selfheal.reason.model import Findings
from selfheal.settings import Settings


def decide(obs: Observation, findings: Findings, settings: Settings) -> Decision:
    """The assessment of the window and the incident plan for it."""
    decision = plan_decision(obs, assess(obs, findings, settings), findings, settings)
    return decision.model_copy(
        update={"notices": plan_notices(obs, decision.assessment, decision.plan, settings)}
    )


__all__ = [
    "Assessment",
    "Decision",
    "IncidentPlan",
    "assess",
    "decide",
    "plan_decision",
    "plan_incidents",
    "plan_notices",
]
