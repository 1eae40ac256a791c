"""The incident plan, pure: which incident an assessment opens or continues, and each open incident's step."""

from __future__ import annotations

from datetime import datetime, timedelta

from kit import AS_OF, SIGNATURES, baseline, metrics, observation

from selfheal.decide import decide
from selfheal.decide.plan_model import IncidentStatus, TimelineEvent, Verdict
from selfheal.observe.model import ExecutedAction, JudgedAction, Observation, OpenIncident, WaitingAction
from selfheal.reason.model import Findings
from selfheal.settings import Settings

SETTINGS = Settings(incident_resolve_cycles=2, outcome_min_minutes=15)
CART = Findings(anomalies=SIGNATURES["cart_sync"])
BASES = [baseline("A", "wave_1", 1000, 600, 30000.0), baseline("B", "wave_2", 1000, 600, 24000.0)]
STAGES = {"A": "wave_1", "B": "wave_2"}


def _obs(failing: bool, *open_incidents: OpenIncident, as_of: datetime = AS_OF) -> Observation:
    orders = [0] * 60 if failing else [2, 1, 1, 1, 1] * 12
    rows = metrics("A", "wave_1", [2] * 60, orders, 50.0, as_of) + metrics(
        "B", "wave_2", [2] * 60, [2, 1, 1, 1, 1] * 12, 40.0, as_of
    )
    return observation(rows, BASES, STAGES, as_of).model_copy(update={"open_incidents": open_incidents})


def _incident(**update: object) -> OpenIncident:
    base = OpenIncident(
        incident_id="inc-1",
        status="open",
        categories=("cart_sync",),
        stages=("wave_1",),
        merchants=("Z",),
        cycles=3,
        quiet_cycles=0,
        lost_orders_per_hour=70.0,
        seen_executed={},
        executed=(),
        judged=(),
        waiting=(),
    )
    return base.model_copy(update=update)


def test_an_assessment_matching_no_open_incident_opens_one() -> None:
    other = _incident(categories=("api_auth",))
    decision = decide(_obs(True, other), CART, SETTINGS)
    plan = decision.plan
    assert decision.assessment is not None and decision.assessment.risk_report is not None
    assert plan.opening is not None and plan.continues is None
    assert plan.opening.scope.categories == ("cart_sync",) and plan.opening.scope.merchants == ("A",)
    assert plan.opening.lost_orders_per_hour == decision.assessment.risk_report.lost_orders_per_hour.value
    assert [e.event for e in plan.opening.timeline] == [TimelineEvent.opened]
    (quiet,) = plan.steps
    assert not quiet.seen and quiet.move.quiet_cycles == 1 and quiet.tracking.scope is None
    # Its merchant Z has no KPIs to judge by: a quiet cycle is a normal one, and the incident is recovering.
    assert [e.event for e in quiet.timeline] == [TimelineEvent.quiet, TimelineEvent.recovering]
    assert quiet.move.status == IncidentStatus.recovering and quiet.tracking.recovering_since == AS_OF


def test_a_seen_incident_merges_scope_and_freezes_its_loss_rate_once_an_action_executed() -> None:
    executed = ExecutedAction(action_id="act-1", key="rollback_stage_to_legacy", finished_at=AS_OF)
    incident = _incident(executed=(executed,), waiting=(WaitingAction(action_id="act-2", key="notify"),))
    decision = decide(_obs(True, incident), CART, SETTINGS)
    assert decision.assessment is not None and decision.assessment.risk_report is not None
    assert decision.plan.opening is None and decision.plan.continues == "inc-1"
    (step,) = decision.plan.steps
    assert step.seen and step.move.status == IncidentStatus.mitigating
    change = step.tracking
    assert change.scope is not None and change.scope.merchants == ("A", "Z")
    assert change.cycles == 4 and change.last_seen == AS_OF and change.mitigating_since == AS_OF
    assert change.lost_orders_per_hour is None, "frozen: the outcome's 'before'"
    assert change.lost_revenue_per_hour == decision.assessment.risk_report.lost_revenue_per_hour.value
    assert change.executed == {"act-1": AS_OF}
    assert step.outcomes == (), "the after-period starts now"
    mitigating, updated = step.timeline
    assert (mitigating.event, updated.event) == (TimelineEvent.mitigating, TimelineEvent.updated)
    assert updated.cost_of_waiting is not None and updated.cost_of_waiting.actions_waiting == ("notify",)
    assert updated.stored()["as_of"] == AS_OF.isoformat()


def test_a_quiet_incident_gets_its_verdict_outcome_and_resolves() -> None:
    seen = AS_OF - timedelta(minutes=20)
    incident = _incident(
        status="mitigating",
        merchants=("A",),
        quiet_cycles=1,
        lost_orders_per_hour=70.0,
        seen_executed={"act-1": seen},
        executed=(ExecutedAction(action_id="act-1", key="rollback_stage_to_legacy", finished_at=seen),),
        judged=(JudgedAction(action_id="act-0", verdict="no_effect"),),
    )
    decision = decide(_obs(False, incident), Findings(), SETTINGS)
    assert decision.assessment is None and decision.plan.opening is None
    (step,) = decision.plan.steps
    (outcome,) = step.outcomes
    assert outcome.verdict == Verdict.worked and outcome.before_per_hour == 70.0
    assert outcome.executed_at == seen and outcome.judged_at == AS_OF
    assert "70.0 before" in outcome.detail
    assert step.resolves and step.previous_status == IncidentStatus.mitigating
    assert step.tracking.outcome == Verdict.worked and step.tracking.resolved_at == AS_OF
    assert [e.event for e in step.timeline] == [
        TimelineEvent.quiet,
        TimelineEvent.recovering,
        TimelineEvent.outcome,
        TimelineEvent.resolved,
    ]


def test_an_action_is_not_judged_before_its_after_period_is_long_enough() -> None:
    seen = AS_OF - timedelta(minutes=10)
    incident = _incident(
        status="mitigating",
        merchants=("A",),
        seen_executed={"act-1": seen},
        executed=(ExecutedAction(action_id="act-1", key="k", finished_at=seen),),
    )
    # Still losing (not recovering): 10 minutes after the action are short of `outcome_min_minutes` (15).
    (step,) = decide(_obs(True, incident), Findings(), SETTINGS).plan.steps
    assert step.move.status == IncidentStatus.mitigating
    assert step.outcomes == () and step.tracking.outcome is None and not step.resolves


def test_an_action_is_judged_when_the_incident_recovers() -> None:
    """The recovery and the outcome show together: once the rate after the fix is normal, an action with at
    least MIN_MINUTES_AFTER_ACTION minutes after it is judged, before `outcome_min_minutes`."""
    seen = AS_OF - timedelta(minutes=5)
    incident = _incident(
        status="mitigating",
        seen_executed={"act-1": seen},
        executed=(ExecutedAction(action_id="act-1", key="k", finished_at=seen),),
    )
    (step,) = decide(_obs(False, incident), Findings(), SETTINGS).plan.steps
    assert step.move.status == IncidentStatus.recovering and not step.resolves
    (outcome,) = step.outcomes
    assert outcome.verdict == Verdict.worked and step.tracking.outcome == Verdict.worked
    # Two minutes are too few even while recovering.
    early = _incident(
        status="mitigating",
        seen_executed={"act-1": AS_OF - timedelta(minutes=2)},
        executed=(ExecutedAction(action_id="act-1", key="k", finished_at=AS_OF - timedelta(minutes=2)),),
    )
    (step,) = decide(_obs(False, early), Findings(), SETTINGS).plan.steps
    assert step.outcomes == ()


def test_a_continued_incident_shows_its_own_loss_so_far_and_a_held_severity() -> None:
    from selfheal.decide.plan import plan_decision

    incident = _incident(
        merchants=("A",),
        severity="medium",
        onset=AS_OF - timedelta(minutes=50),
        lost_orders_so_far=10.0,
        lost_revenue_so_far=500.0,
        counted_until=AS_OF - timedelta(minutes=5),
        peak_lost_orders_per_hour=60.0,
        peak_lost_revenue_per_hour=3000.0,
    )
    decision = decide(_obs(True, incident), CART, SETTINGS)
    a = decision.assessment
    (step,) = decision.plan.steps
    loss = step.tracking.loss
    assert a is not None and loss is not None and step.tracking.story is not None
    # A takes 2 checkouts a minute at 60 % conversion and loses them all: 5 new minutes add about 6 orders.
    assert 14 <= loss.lost_orders <= 18 and loss.onset <= AS_OF - timedelta(minutes=50)
    assert loss.current is not None and loss.current.measured and not loss.current.normal
    assert loss.peak_lost_orders_per_hour >= 60.0
    assert a.title.endswith(f"~{loss.lost_orders:,.0f} orders lost so far")
    assert a.summary.endswith(step.tracking.story)
    # 72 lost orders an hour now supports high, not critical, whatever the window proposes.
    assert a.severity.value in ("medium", "high") and step.tracking.severity == a.severity.value
    # Re-planned under the plan lock with the shown assessment: the same text, not the story twice.
    again = plan_decision(_obs(True, incident), a, CART, SETTINGS)
    assert again.assessment is not None and again.assessment.summary == a.summary
    assert again.assessment.title == a.title


def test_a_worked_verdict_is_revised_when_the_loss_comes_back() -> None:
    """An action judged to have worked, on an incident whose loss then returns, is judged again on the rate
    since it executed: no longer "worked", and the incident's outcome follows the revised verdict."""
    executed_at = AS_OF - timedelta(minutes=40)
    incident = _incident(
        status="recovering",
        merchants=("A",),
        quiet_cycles=1,
        recovering_since=AS_OF - timedelta(minutes=20),
        peak_lost_orders_per_hour=70.0,
        seen_executed={"act-1": executed_at},
        executed=(
            ExecutedAction(action_id="act-1", key="rollback_stage_to_legacy", finished_at=executed_at),
        ),
        judged=(
            JudgedAction(
                action_id="act-1",
                verdict="worked",
                key="rollback_stage_to_legacy",
                executed_at=executed_at,
                before_per_hour=70.0,
            ),
        ),
    )
    (step,) = decide(_obs(True, incident), CART, SETTINGS).plan.steps
    assert "relapsed" in step.move.events
    (revised,) = step.outcomes
    assert revised.revised and revised.action_id == "act-1" and revised.verdict != Verdict.worked
    assert revised.detail.startswith("Revised at") and "was worked" in revised.detail
    assert step.tracking.outcome == revised.verdict
    assert TimelineEvent.outcome in [e.event for e in step.timeline]
    # Without a relapse the verdict stands: nothing is judged again.
    (steady,) = decide(_obs(False, incident), Findings(), SETTINGS).plan.steps
    assert steady.outcomes == () and steady.tracking.outcome == Verdict.worked
