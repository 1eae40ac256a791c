"""The action state machine through the workflow: legal moves, illegal ones (409), approver rules."""

from __future__ import annotations

import pytest
from actkit import Seeder, proposal

from selfheal import audit
from selfheal.act.states import ALLOWED_FROM, ActionStatus, Transition, check
from selfheal.act.workflow import Workflow
from selfheal.decide.model import Risk
from selfheal.errors import Conflict, Forbidden, NotFound
from selfheal.settings import Settings
from selfheal.store import Store, audit_repo

EXPECTED_LEGAL = {
    ("approve", "proposed"),
    ("reject", "proposed"),
    ("cancel", "proposed"),
    ("cancel", "approved"),
    ("execute", "approved"),
    ("resume", "executing"),
    ("fail", "executing"),
}


def test_transition_table_is_exactly_the_documented_one() -> None:
    for move in Transition:
        for status in ActionStatus:
            legal = (move.value, status.value) in EXPECTED_LEGAL
            assert (status in ALLOWED_FROM[move]) == legal
            if legal:
                check(move, status.value, "a1")
            else:
                with pytest.raises(Conflict) as err:
                    check(move, status.value, "a1")
                assert "a1" in err.value.message
                assert err.value.status_code == 409


def test_approve_then_execute_succeeds_and_is_audited(any_store: Store, seed: Seeder) -> None:
    settings = Settings()
    (aid,) = seed(any_store, settings, proposal(risk=Risk.medium), actor="cycle")
    wf = Workflow(any_store, settings)
    assert wf.get(aid).status == "proposed"
    approved = wf.approve(aid, "alice", "looks right")
    assert approved.status == "approved"
    assert approved.decided_by == "alice"
    assert [a.by for a in approved.approvals] == ["alice"]
    done = wf.execute(aid, "alice")
    assert done.status == "succeeded"
    assert done.attempts == 1
    assert done.executor == "simulated"
    assert done.result is not None
    assert done.result["effect"]["category"] == "webhook_delivery"
    assert done.result["effect"]["stages"] == ["wave_1"]
    assert done.comments[0].text == "looks right"
    with any_store.read() as conn:
        trail = audit_repo.for_targets(conn, [aid])
        assert [r.action for r in trail] == [
            "action.propose",
            "action.approve",
            "action.execute",
            "action.succeeded",
        ]
        approve = trail[1]
        assert approve.actor == "alice"
        assert approve.before["status"] == "proposed"
        assert approve.after["status"] == "approved"
        assert approve.after["comment"] == "looks right"
        assert audit.verify(conn).ok


def test_illegal_transitions_are_conflicts_with_clear_messages(sqlite_store: Store, seed: Seeder) -> None:
    settings = Settings()
    a, b, c = seed(sqlite_store, settings, proposal("k_a"), proposal("k_b"), proposal("k_c"), actor="cycle")
    wf = Workflow(sqlite_store, settings)
    with pytest.raises(Conflict, match="needs approval before it can be executed"):
        wf.execute(a, "alice")
    wf.approve(a, "alice")
    with pytest.raises(Conflict, match="already approved"):
        wf.approve(a, "bob")
    wf.reject(b, "alice", "not now")
    with pytest.raises(Conflict, match="already rejected"):
        wf.execute(b, "alice")
    with pytest.raises(Conflict, match="already rejected"):
        wf.approve(b, "bob")
    wf.execute(a, "alice")
    with pytest.raises(Conflict, match="already succeeded"):
        wf.execute(a, "alice")
    with pytest.raises(Conflict, match="already succeeded"):
        wf.cancel(a, "alice")
    wf.approve(c, "alice")
    with pytest.raises(Conflict, match="only an interrupted execution can be marked failed"):
        wf.mark_failed(c, "alice", "x")
    assert wf.cancel(c, "bob").status == "cancelled"
    with pytest.raises(Conflict, match="already cancelled"):
        wf.execute(c, "alice")
    with pytest.raises(Conflict, match="cannot be resumed"):
        wf.resume(c, "alice")
    with pytest.raises(NotFound):
        wf.approve("act-nope", "alice")
    # A refused move changes nothing and records nothing.
    with sqlite_store.read() as conn:
        assert [r.action for r in audit_repo.for_targets(conn, [b])] == ["action.propose", "action.reject"]


def test_requester_may_not_approve(sqlite_store: Store, seed: Seeder) -> None:
    settings = Settings()
    (aid,) = seed(sqlite_store, settings, proposal(), actor="carol")
    wf = Workflow(sqlite_store, settings)
    with pytest.raises(Forbidden, match=r"requested action .* may not approve it"):
        wf.approve(aid, "carol")
    assert wf.get(aid).status == "proposed"
    assert wf.approve(aid, "dave").status == "approved"


def test_self_approval_can_be_allowed_by_setting(sqlite_store: Store, seed: Seeder) -> None:
    settings = Settings(act_allow_self_approval=True)
    (aid,) = seed(sqlite_store, settings, proposal(), actor="carol")
    assert Workflow(sqlite_store, settings).approve(aid, "carol").status == "approved"


def test_high_risk_needs_two_distinct_approvers(any_store: Store, seed: Seeder) -> None:
    settings = Settings(act_high_risk_approvals=2)
    high, medium = seed(
        any_store, settings, proposal("rollback_wave", Risk.high), proposal("replay", Risk.medium)
    )
    wf = Workflow(any_store, settings)
    first = wf.approve(high, "alice")
    assert first.status == "proposed"
    assert first.required_approvals == 2
    with pytest.raises(Conflict, match="already approved by 'alice'"):
        wf.approve(high, "alice")
    with pytest.raises(Conflict, match="needs approval"):
        wf.execute(high, "alice")
    second = wf.approve(high, "bob")
    assert second.status == "approved"
    assert [a.by for a in second.approvals] == ["alice", "bob"]
    assert wf.execute(high, "bob").status == "succeeded"
    # Medium risk still needs only one.
    assert wf.approve(medium, "alice").status == "approved"


def test_high_risk_needs_one_approver_by_default(sqlite_store: Store, seed: Seeder) -> None:
    settings = Settings()
    (high,) = seed(sqlite_store, settings, proposal("rollback_wave", Risk.high))
    assert Workflow(sqlite_store, settings).approve(high, "alice").status == "approved"


def test_reject_is_possible_after_a_partial_approval(sqlite_store: Store, seed: Seeder) -> None:
    settings = Settings(act_high_risk_approvals=2)
    (high,) = seed(sqlite_store, settings, proposal("rollback_wave", Risk.high))
    wf = Workflow(sqlite_store, settings)
    wf.approve(high, "alice")
    rejected = wf.reject(high, "bob", "too risky during peak")
    assert rejected.status == "rejected"
    assert rejected.decided_by == "bob"


def test_list_filters(sqlite_store: Store, seed: Seeder) -> None:
    settings = Settings()
    a, b = seed(sqlite_store, settings, proposal("k1", Risk.medium), proposal("k2", Risk.high))
    (c,) = seed(sqlite_store, settings, proposal("k3", Risk.medium))
    wf = Workflow(sqlite_store, settings)
    wf.approve(a, "alice")
    assert {x.id for x in wf.list_actions(status=ActionStatus.approved)} == {a}
    assert {x.id for x in wf.list_actions(risk=Risk.high)} == {b}
    incident = wf.get(c).incident_id
    assert {x.id for x in wf.list_actions(incident_id=incident)} == {c}
    assert {x.id for x in wf.list_actions(status=ActionStatus.proposed, risk=Risk.medium)} == {c}


def _requested_by_key(store: Store, settings: Settings, name: str, key_id: str) -> str:
    """An action a cycle run with API key `key_id` (held by `name`) proposed."""
    from actkit import make_incident

    from selfheal.act import store_actions

    incident_id = make_incident(store)
    with store.transaction() as conn:
        (out,) = store_actions(conn, incident_id, (proposal(risk=Risk.high),), name, settings, key_id)
    return out.action_id


def test_four_eyes_compares_key_ids_not_names(any_store: Store) -> None:
    settings = Settings(act_high_risk_approvals=2)
    aid = _requested_by_key(any_store, settings, "alice", "key-a1")
    wf = Workflow(any_store, settings)
    # The requesting key may not approve, whatever name it shows.
    with pytest.raises(Forbidden, match="may not approve"):
        wf.approve(aid, "alice-renamed", key_id="key-a1")
    # Another key that happens to carry the requester's name is another holder.
    first = wf.approve(aid, "alice", key_id="key-a2")
    assert [(a.by, a.key_id) for a in first.approvals] == [("alice", "key-a2")]
    # The same approving key under another name is still the same approver ...
    with pytest.raises(Conflict, match="already approved"):
        wf.approve(aid, "bob", key_id="key-a2")
    # ... and a different key with the first approver's name is a second person.
    second = wf.approve(aid, "alice", key_id="key-b")
    assert second.status == "approved"
    assert [a.key_id for a in second.approvals] == ["key-a2", "key-b"]


def test_without_a_stored_key_id_the_names_decide(sqlite_store: Store, seed: Seeder) -> None:
    """An action stored with a name only (the product's own actor, or before key ids were kept)."""
    settings = Settings()
    (aid,) = seed(sqlite_store, settings, proposal(), actor="carol")
    with pytest.raises(Forbidden, match="may not approve"):
        Workflow(sqlite_store, settings).approve(aid, "carol", key_id="key-c")
    assert Workflow(sqlite_store, settings).approve(aid, "dave", key_id="key-d").status == "approved"
