"""Incidents over time: pure rules, then whole sequences of cycles (observe's open incidents -> decide's plan ->
the act stage) on SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from kit import AS_OF, SIGNATURES, baseline, metrics, observation

from selfheal.act import act
from selfheal.act.model import Outcome
from selfheal.decide import decide
from selfheal.decide.lifecycle import TrackedIncident, overlaps, step, verdict
from selfheal.decide.model import Assessment
from selfheal.decide.plan_model import Decision, IncidentStatus, Scope, Verdict
from selfheal.observe.incidents import read_open_incidents
from selfheal.observe.model import Observation
from selfheal.observe.summary import summarize
from selfheal.reason.model import Findings
from selfheal.settings import Settings
from selfheal.store import Store, actions_repo, incidents_repo


def test_overlap_needs_the_same_cause_and_a_shared_stage_or_merchant() -> None:
    a = Scope(categories=("cart_sync",), stages=("wave_1",), merchants=("A",))
    assert overlaps(a, Scope(categories=("cart_sync",), stages=("wave_1", "wave_2"), merchants=()))
    assert overlaps(a, Scope(categories=("cart_sync",), stages=("pilot",), merchants=("A",)))
    assert not overlaps(a, Scope(categories=("api_auth",), stages=("wave_1",), merchants=("A",)))
    assert not overlaps(a, Scope(categories=("cart_sync",), stages=("pilot",), merchants=("B",)))


def test_status_moves() -> None:
    inc = TrackedIncident(
        incident_id="i", status=IncidentStatus.open, scope=Scope(categories=(), stages=(), merchants=())
    )
    assert step(inc, seen=True, action_executed=False, resolve_after=2).status == IncidentStatus.open
    moved = step(inc, seen=True, action_executed=True, resolve_after=2)
    assert moved.status == IncidentStatus.mitigating and "mitigating" in moved.events
    once = step(inc, seen=False, action_executed=False, resolve_after=2)
    assert once.status == IncidentStatus.recovering and once.quiet_cycles == 1  # stopped by itself
    recovering = inc.model_copy(update={"quiet_cycles": 1, "status": IncidentStatus.recovering})
    twice = step(recovering, seen=False, action_executed=False, resolve_after=2)
    assert twice.status == IncidentStatus.resolved
    back = step(recovering, seen=True, action_executed=False, resolve_after=2)
    assert back.quiet_cycles == 0 and back.status == IncidentStatus.open and "relapsed" in back.events


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (20.0, 1.0, Verdict.worked),
        (20.0, 10.0, Verdict.partial),
        (20.0, 18.0, Verdict.no_effect),
        (20.0, -3.0, Verdict.worked),
    ],
)
def test_verdicts(before: float, after: float, expected: Verdict) -> None:
    assert verdict(before, after) == expected


BASES = [baseline("A", "wave_1", 1000, 600, 30000.0), baseline("B", "wave_2", 1000, 600, 24000.0)]
STAGES = {"A": "wave_1", "B": "wave_2"}


def _obs(as_of: datetime, failing: bool) -> Observation:
    # A: 2 checkouts a minute at a 60 % baseline conversion. Failing: no orders. Healthy: 6 orders every 5 minutes.
    orders = [0] * 60 if failing else [2, 1, 1, 1, 1] * 12
    rows = metrics("A", "wave_1", [2] * 60, orders, 50.0, as_of) + metrics(
        "B", "wave_2", [2] * 60, [2, 1, 1, 1, 1] * 12, 40.0, as_of
    )
    return observation(rows, BASES, STAGES, as_of)


def _with_open_incidents(store: Store, obs: Observation) -> Observation:
    """What observe adds to the window: the open incidents as stored."""
    with store.read() as conn:
        return obs.model_copy(update={"open_incidents": read_open_incidents(conn)})


def _act(store: Store, settings: Settings, obs: Observation, findings: Findings) -> tuple[Outcome, Decision]:
    decision = decide(_with_open_incidents(store, obs), findings, settings)
    with store.transaction() as conn:
        out = act(
            conn,
            decision=decision,
            findings=findings,
            summary=summarize(obs),
            actor="test",
            settings=settings,
        )
    return out, decision


def _cycle(
    store: Store, settings: Settings, as_of: datetime, findings: Findings | None
) -> tuple[str | None, bool, Assessment | None]:
    out, decision = _act(store, settings, _obs(as_of, failing=findings is not None), findings or Findings())
    return out.incident_id, out.incident_created, decision.assessment


def _store(tmp_path: Path) -> tuple[Settings, Store]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        incident_resolve_cycles=3,
        outcome_min_minutes=15,
    )
    return settings, Store.open(settings.resolved_database_url())


def test_incident_lifecycle_over_cycles(tmp_path: Path) -> None:
    settings, store = _store(tmp_path)
    cart = Findings(anomalies=SIGNATURES["cart_sync"])

    first, created, a1 = _cycle(store, settings, AS_OF, cart)
    assert first and created and a1 is not None
    again, created2, a2 = _cycle(store, settings, AS_OF + timedelta(minutes=5), cart)
    assert again == first and not created2  # same cause, same stage: updated, not a new incident

    auth_elsewhere = Findings(
        anomalies=tuple(
            x.model_copy(update={"dimensions": x.dimensions.model_copy(update={"stages": ("wave_2",)})})
            for x in SIGNATURES["api_auth"]
        )
    )
    at = AS_OF + timedelta(minutes=5)
    b_failing = observation(metrics("B", "wave_2", [2] * 60, [0] * 60, 40.0, at), BASES, STAGES, at)
    out, other = _act(store, settings, b_failing, auth_elsewhere)
    assert other.assessment is not None and other.assessment.root_cause.category.value == "api_auth"
    assert out.incident_created and out.incident_id != first
    (quiet,) = other.plan.steps
    assert quiet.incident_id == first and not quiet.seen and quiet.move.quiet_cycles == 1

    with store.read() as conn:
        view = incidents_repo.get_incident(conn, first)
        waiting = incidents_repo.waiting_actions(conn, first)
    assert [e["event"] for e in view.timeline][:2] == ["opened", "updated"]
    assert waiting, "the rollback needs approval"
    cost = view.timeline[1]["cost_of_waiting"]
    assert a2 is not None and a2.risk_report is not None
    assert cost["lost_revenue_per_hour"] == pytest.approx(a2.risk_report.lost_revenue_per_hour.value)
    assert cost["lost_revenue_per_hour"] > 0

    rollback = next(w for w in waiting if w.key == "rollback_stage_to_legacy")
    with store.transaction() as conn:
        assert actions_repo.update_if(
            conn, rollback.id, {"status": "proposed"}, {"status": "succeeded", "finished_ms": 1}
        )

    _cycle(store, settings, AS_OF + timedelta(minutes=10), cart)  # still failing; sees the executed action
    with store.read() as conn:
        assert incidents_repo.get_incident(conn, first).status == "mitigating"
        assert incidents_repo.verdicts(conn, first) == []  # too early to judge

    # Orders come back: quiet cycles; the outcome is judged 15+ minutes after the action was seen executed.
    for k, minutes in enumerate((30, 35, 40), start=1):
        inc_id, _, assessment = _cycle(store, settings, AS_OF + timedelta(minutes=minutes), None)
        assert inc_id is None and assessment is None
        with store.read() as conn:
            track = incidents_repo.get_tracking(conn, first)
        assert track is not None and track.quiet_cycles == k
    with store.read() as conn:
        incident = incidents_repo.get_incident(conn, first)
        (outcome,) = incidents_repo.verdicts(conn, first)
        track = incidents_repo.get_tracking(conn, first)
    assert incident.status == "resolved"
    assert outcome.verdict == "worked" and outcome.key == "rollback_stage_to_legacy"
    assert outcome.after_per_hour < 0.2 * outcome.before_per_hour
    assert track is not None and track.outcome == "worked" and track.resolved_at is not None
    events = [e["event"] for e in incident.timeline]
    # quiet: the api_auth cycle, which has no KPIs of A to judge by (recovering); the loss is back next cycle
    assert events[:7] == ["opened", "updated", "quiet", "recovering", "mitigating", "updated", "relapsed"], (
        events
    )
    assert "outcome" in events and events[-1] == "resolved"


def test_lifecycle_endpoint_shows_cost_of_waiting(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from selfheal.api.app import create_app
    from selfheal.settings import AuthMode

    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}", auth_mode=AuthMode.open
    )
    store = Store.open(settings.resolved_database_url())
    incident_id, _, a = _cycle(store, settings, AS_OF, Findings(anomalies=SIGNATURES["cart_sync"]))
    assert incident_id and a is not None and a.risk_report is not None
    with TestClient(create_app(settings, store)) as client:
        body = client.get(f"/incidents/{incident_id}/lifecycle").json()
        assert body["status"] == "open"
        waiting = body["cost_of_waiting"]
        assert "rollback_stage_to_legacy" in [w["key"] for w in waiting["actions_waiting"]]
        assert waiting["lost_revenue_per_hour"] == pytest.approx(a.risk_report.lost_revenue_per_hour.value)
        assert body["timeline"][0]["event"] == "opened"
        assert client.get("/incidents/inc-nope/lifecycle").status_code == 404


def test_a_verdict_given_while_recovering_is_replaced_when_the_incident_relapses(tmp_path: Path) -> None:
    settings, store = _store(tmp_path)
    cart = Findings(anomalies=SIGNATURES["cart_sync"])
    first, _, _ = _cycle(store, settings, AS_OF, cart)
    assert first is not None
    with store.read() as conn:
        rollback = next(
            w for w in incidents_repo.waiting_actions(conn, first) if w.key == "rollback_stage_to_legacy"
        )
    with store.transaction() as conn:
        assert actions_repo.update_if(
            conn, rollback.id, {"status": "proposed"}, {"status": "succeeded", "finished_ms": 1}
        )
    _cycle(store, settings, AS_OF + timedelta(minutes=10), cart)  # sees the executed action
    _cycle(store, settings, AS_OF + timedelta(minutes=30), None)  # orders back: recovering, judged
    with store.read() as conn:
        (judged,) = incidents_repo.verdicts(conn, first)
        track = incidents_repo.get_tracking(conn, first)
    assert judged.verdict == "worked" and track is not None and track.outcome == "worked"

    _cycle(store, settings, AS_OF + timedelta(minutes=35), cart)  # the loss is back
    with store.read() as conn:
        (revised,) = incidents_repo.verdicts(conn, first)  # replaced, not added
        track = incidents_repo.get_tracking(conn, first)
        incident = incidents_repo.get_incident(conn, first)
    assert revised.verdict in ("partial", "no_effect") and revised.detail.startswith("Revised at")
    assert track is not None and track.outcome == revised.verdict
    assert incident.status == "mitigating"
    events = [e["event"] for e in incident.timeline]
    assert events[-2:] == ["relapsed", "outcome"], events
