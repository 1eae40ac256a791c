"""Exactly-once execution: many concurrent execute calls on one action run it once (SQLite, PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from actkit import Receiver, Seeder, proposal

from selfheal import audit
from selfheal.act.model import Action
from selfheal.act.workflow import Workflow
from selfheal.errors import Conflict
from selfheal.settings import Settings
from selfheal.store import Store, actions_repo, audit_repo

CALLERS = 24


def race(store: Store, settings: Settings, action_id: str) -> tuple[list[Action], list[Conflict]]:
    """Start CALLERS execute calls at the same moment, each with its own workflow and connection."""
    barrier = threading.Barrier(CALLERS)

    def call(i: int) -> Action | Conflict:
        wf = Workflow(store, settings)
        barrier.wait()
        try:
            return wf.execute(action_id, f"approver-{i % 3}")
        except Conflict as exc:
            return exc

    with ThreadPoolExecutor(CALLERS) as pool:
        outcomes = list(pool.map(call, range(CALLERS)))
    done = [o for o in outcomes if isinstance(o, Action)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    return done, refused


def test_concurrent_execute_runs_the_webhook_once(any_store: Store, seed: Seeder) -> None:
    with Receiver([(200, 0.2, {})]) as rx:  # a slow first answer keeps the execution open during the race
        settings = Settings(
            act_executor="webhook",
            act_webhook_url=rx.url,
            act_webhook_secret="k",
            act_webhook_allowed_hosts=["127.0.0.1"],
        )
        (aid,) = seed(any_store, settings, proposal(), actor="cycle")
        Workflow(any_store, settings).approve(aid, "alice")
        done, refused = race(any_store, settings, aid)
    assert len(rx.requests) == 1
    assert len(done) == 1
    assert len(refused) == CALLERS - 1
    assert done[0].status == "succeeded"
    assert all(("already" in c.message) or ("being executed" in c.message) for c in refused)
    with any_store.read() as conn:
        actions = [r.action for r in audit_repo.for_targets(conn, [aid])]
        assert actions.count("action.execute") == 1
        assert actions.count("action.succeeded") == 1
        assert actions_repo.get_action(conn, aid).attempts == 1
        assert audit.verify(conn).ok


def test_concurrent_execute_records_one_simulated_effect(any_store: Store, seed: Seeder) -> None:
    settings = Settings()
    ids = seed(any_store, settings, proposal("k1"), proposal("k2"), actor="cycle")
    wf = Workflow(any_store, settings)
    for aid in ids:
        wf.approve(aid, "alice")
    for aid in ids:
        done, refused = race(any_store, settings, aid)
        assert len(done) == 1
        assert len(refused) == CALLERS - 1
    with any_store.read() as conn:
        effects = actions_repo.list_effects(conn)
        assert sorted(e.action_id for e in effects) == sorted(ids)
        assert audit.verify(conn).ok


def test_concurrent_distinct_approvals_all_count(any_store: Store, seed: Seeder) -> None:
    """Three approvers at once on a high-risk action needing two: two count, the third gets 409."""
    from selfheal.decide.model import Risk

    settings = Settings(act_high_risk_approvals=2)
    (aid,) = seed(any_store, settings, proposal("rollback", Risk.high), actor="cycle")
    barrier = threading.Barrier(3)

    def call(name: str) -> Action | Conflict:
        wf = Workflow(any_store, settings)
        barrier.wait()
        try:
            return wf.approve(aid, name)
        except Conflict as exc:
            return exc

    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(call, ["alice", "bob", "carol"]))
    assert sum(isinstance(o, Action) for o in outcomes) == 2
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    final = Workflow(any_store, settings).get(aid)
    assert final.status == "approved"
    assert len(final.approvals) == 2
