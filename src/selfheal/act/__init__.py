"""Act: write the incident plan decide made, queue the notifications it calls for (outbox), store the
proposed actions under the autonomy policy and record it all in the audit trail. Low-risk actions the policy lets run by themselves are stored
`approved` by the policy; `execute_auto` runs them after the cycle's transaction has committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from selfheal import audit
from selfheal.act.incidents import write_incident_plan
from selfheal.act.model import Action, Outcome, StoredAction
from selfheal.act.policy import PolicyDecision, evaluate_action
from selfheal.act.states import ActionStatus
from selfheal.act.workflow import POLICY_ACTOR, Workflow
from selfheal.decide.model import ProposedAction
from selfheal.decide.plan_model import Decision
from selfheal.errors import SelfhealError
from selfheal.notify.outbox import queue_notices
from selfheal.observe.summary import ObservationSummary
from selfheal.reason.model import Findings
from selfheal.records import dt_to_ms, utcnow
from selfheal.settings import Settings
from selfheal.store import Store, actions_repo


def act(
    conn: Connection,
    *,
    decision: Decision,
    findings: Findings,
    summary: ObservationSummary,
    actor: str,
    settings: Settings,
    actor_key: str | None = None,
) -> Outcome:
    """Write the decision's incident plan (the incident it opens or continues, every open incident's step),
    then store the assessment's proposed actions under the policy (inside the caller's transaction)."""
    incident_id, created = write_incident_plan(
        conn, decision=decision, findings=findings, summary=summary, actor=actor
    )
    notifications = queue_notices(conn, decision.notices, incident_id if created else None, settings)
    assessment = decision.assessment
    if assessment is None or incident_id is None:
        return Outcome(incident_id=None, incident_created=False, notifications=notifications)
    actions = store_actions(conn, incident_id, assessment.actions, actor, settings, actor_key)
    return Outcome(
        incident_id=incident_id, incident_created=created, actions=actions, notifications=notifications
    )


def store_actions(
    conn: Connection,
    incident_id: str,
    proposed: tuple[ProposedAction, ...],
    actor: str,
    settings: Settings,
    actor_key: str | None = None,
) -> tuple[StoredAction, ...]:
    """Store each proposed action with an id and the policy's verdict. An action whose catalogue key is
    already live on the incident (not rejected, cancelled or failed) is not proposed twice."""
    live = actions_repo.live_keys(conn, incident_id)
    outcomes: list[StoredAction] = []
    for proposal in proposed:
        if proposal.key in live:
            continue
        live.add(proposal.key)
        decision = evaluate_action(proposal, settings)
        action_id = _insert_action(conn, incident_id, proposal, decision, actor, actor_key)
        outcomes.append(
            StoredAction(
                action_id=action_id,
                key=proposal.key,
                status=ActionStatus.approved.value if decision.auto_execute else ActionStatus.proposed.value,
                reason=decision.reason,
            )
        )
    return tuple(outcomes)


def _insert_action(
    conn: Connection,
    incident_id: str,
    proposal: ProposedAction,
    decision: PolicyDecision,
    actor: str,
    actor_key: str | None = None,
) -> str:
    now = dt_to_ms(utcnow())
    row: dict[str, Any] = {
        "incident_id": incident_id,
        "key": proposal.key,
        "title": proposal.title,
        "description": proposal.description,
        "rationale": proposal.rationale,
        "expected_effect": proposal.expected_effect,
        "params": proposal.params,
        "risk": proposal.risk.value,
        "confidence": proposal.confidence,
        "status": ActionStatus.proposed.value,
        "requested_by": actor,
        "requested_by_key": actor_key,
        "required_approvals": decision.required_approvals,
        "approvals": [],
        "policy": decision.model_dump(mode="json"),
        "auto_execute": int(decision.auto_execute),
        "created_ms": now,
        "updated_ms": now,
        "attempts": 0,
        "comments": [],
    }
    action_id = actions_repo.insert_action(conn, row)
    audit.record(
        conn,
        actor=actor,
        action="action.propose",
        target_type="action",
        target_id=action_id,
        after={
            "incident_id": incident_id,
            "key": proposal.key,
            "risk": proposal.risk.value,
            "confidence": proposal.confidence,
            "status": ActionStatus.proposed.value,
            "policy": decision.reason,
            "required_approvals": decision.required_approvals,
        },
    )
    if decision.auto_execute:
        approved = {"status": ActionStatus.approved.value, "decided_by": POLICY_ACTOR, "updated_ms": now}
        actions_repo.update_if(conn, action_id, {"status": ActionStatus.proposed.value}, approved)
        audit.record(
            conn,
            actor=POLICY_ACTOR,
            action="action.approve",
            target_type="action",
            target_id=action_id,
            before={"status": ActionStatus.proposed.value},
            after={"status": ActionStatus.approved.value, "reason": decision.reason},
        )
    return action_id


def execute_auto(store: Store, settings: Settings, outcome: Outcome) -> Outcome:
    """Execute the actions the policy approved by itself; call after the cycle's transaction commits.
    A failure is recorded on the action (status `failed`) and never fails the cycle."""
    workflow: Workflow | None = None
    results: list[StoredAction] = []
    for item in outcome.actions:
        if item.status != ActionStatus.approved.value:
            results.append(item)
            continue
        workflow = workflow or Workflow(store, settings)
        try:
            done: Action = workflow.execute(item.action_id, by=POLICY_ACTOR)
            results.append(item.model_copy(update={"status": done.status, "auto_executed": True}))
        except SelfhealError as exc:
            # E.g. the webhook host is not allowed: the action stays approved for a person to handle.
            results.append(item.model_copy(update={"reason": f"{item.reason}; not executed: {exc.message}"}))
    return outcome.model_copy(update={"actions": tuple(results)})


__all__ = ["Outcome", "act", "execute_auto", "store_actions"]
