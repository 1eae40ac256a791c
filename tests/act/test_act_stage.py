"""The act stage inside a cycle: the incident, its actions with ids, the policy, the audit records."""

from __future__ import annotations

from actkit import proposal

from selfheal import audit
from selfheal.act import act, execute_auto
from selfheal.cycle import CycleDeps, run_cycle
from selfheal.decide import plan_incidents
from selfheal.decide.model import Assessment, BlastRadius, Category, Risk, RootCause
from selfheal.decide.plan_model import Decision
from selfheal.observe import observe
from selfheal.observe.summary import summarize
from selfheal.reason.model import Findings, Severity
from selfheal.records import utcnow
from selfheal.settings import Settings
from selfheal.store import Store, actions_repo, audit_repo, incidents_repo


def test_act_stores_actions_with_ids_and_policy(sqlite_store: Store) -> None:
    settings = Settings()
    assessment = Assessment(
        title="Paid orders missing",
        summary="webhooks fail",
        severity=Severity.high,
        root_cause=RootCause(
            category=Category.webhook_delivery, hypothesis="403 on webhooks", confidence=0.9
        ),
        blast_radius=BlastRadius(stages=("wave_1",)),
        actions=(
            proposal("replay_failed_webhooks", Risk.low, 0.9),
            proposal("rollback_wave_1", Risk.high, 0.9),
        ),
    )
    obs = observe(sqlite_store, utcnow(), 60, settings)
    decision = Decision(assessment=assessment, plan=plan_incidents(obs, assessment, Findings(), settings))
    with sqlite_store.transaction() as conn:
        outcome = act(
            conn,
            decision=decision,
            findings=Findings(),
            summary=summarize(obs),
            actor="cycle-bot",
            settings=settings,
        )
    assert outcome.incident_id is not None and outcome.incident_created
    assert [a.status for a in outcome.actions] == ["approved", "proposed"]
    assert all(a.action_id.startswith("act-") for a in outcome.actions)
    outcome = execute_auto(sqlite_store, settings, outcome)
    assert [a.status for a in outcome.actions] == ["succeeded", "proposed"]
    with sqlite_store.read() as conn:
        rows = actions_repo.list_actions(conn, incident_id=outcome.incident_id)
        assert {r.requested_by for r in rows} == {"cycle-bot"}
        assert incidents_repo.get_incident(conn, outcome.incident_id).category == "webhook_delivery"
        effect = actions_repo.pending_effects(conn)[0]
        assert effect.effect["stages"] == ["wave_1"]
        kinds = [r.action for r in audit_repo.query(conn, limit=100)][::-1]
        assert kinds[:1] == ["incident.open"]
        assert kinds.count("action.propose") == 2
        assert audit.verify(conn).ok


def test_cycle_without_assessment_stores_no_actions(sqlite_store: Store) -> None:
    result = run_cycle(CycleDeps(store=sqlite_store, settings=Settings()), utcnow(), 60)
    assert result.outcome.actions == ()
    with sqlite_store.read() as conn:
        assert actions_repo.list_actions(conn) == []
        assert audit.verify(conn).ok
