"""Actions cross the store boundary as frozen, typed records; readers get enums for status and risk."""

from __future__ import annotations

import pytest
from actkit import Seeder, proposal
from pydantic import ValidationError

from selfheal.act.states import ActionStatus
from selfheal.act.workflow import Workflow
from selfheal.decide.model import Risk
from selfheal.settings import Settings
from selfheal.store import Store, actions_repo, audit_repo
from selfheal.store.rows import ActionRecord, AuditEntry, StoredApproval, StoredComment


def test_a_stored_action_is_a_frozen_record_with_typed_approvals(any_store: Store, seed: Seeder) -> None:
    settings = Settings(act_high_risk_approvals=2)
    (aid,) = seed(any_store, settings, proposal(risk=Risk.high), actor="cycle")
    Workflow(any_store, settings).approve(aid, "alice", "first of two")
    with any_store.read() as conn:
        row = actions_repo.get_action(conn, aid)
    assert isinstance(row, ActionRecord)
    assert row.status == "proposed"
    assert row.approvals == (
        StoredApproval(by="alice", at_ms=row.approvals[0].at_ms, comment="first of two"),
    )
    assert row.comments == (
        StoredComment(by="alice", at_ms=row.comments[0].at_ms, move="approve", text="first of two"),
    )
    assert row.auto_execute is False
    with pytest.raises(ValidationError):
        row.status = "approved"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        row.changed(no_such_column=1)


def test_readers_see_status_and_risk_as_enums_and_the_wire_keeps_the_strings(
    sqlite_store: Store, seed: Seeder
) -> None:
    settings = Settings()
    (aid,) = seed(sqlite_store, settings, proposal(risk=Risk.medium), actor="cycle")
    action = Workflow(sqlite_store, settings).get(aid)
    assert type(action.status) is ActionStatus and action.status is ActionStatus.proposed
    assert type(action.risk) is Risk and action.risk is Risk.medium
    wire = action.model_dump(mode="json")
    assert (wire["status"], wire["risk"]) == ("proposed", "medium")


def test_audit_rows_are_typed(sqlite_store: Store, seed: Seeder) -> None:
    (aid,) = seed(sqlite_store, Settings(), proposal(), actor="cycle")
    with sqlite_store.read() as conn:
        (entry,) = audit_repo.for_targets(conn, [aid])
        walked = list(audit_repo.iter_all(conn))
    assert isinstance(entry, AuditEntry)
    assert (entry.action, entry.actor, entry.target_id) == ("action.propose", "cycle", aid)
    assert walked[-1] == entry
