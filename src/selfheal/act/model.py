"""What the act stage hands on and what readers of actions see.

- `StoredAction`: an action the cycle just stored, with the autonomy policy's verdict (and, once
  `execute_auto` ran it, whether it was executed by itself).
- `Outcome`: the act stage's result for one cycle (the incident and its stored actions).
- `Action`: a stored action as readers see it (API, CLI, UI), with its approvals, execution and result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from selfheal.act.states import ActionStatus
from selfheal.decide.model import Risk
from selfheal.records import Record, ms_to_dt
from selfheal.store.rows import ActionRecord


class StoredAction(Record):
    """An action stored by the cycle and where the policy left it (`approved` when it may run by itself)."""

    action_id: str
    key: str
    status: ActionStatus
    auto_executed: bool = False
    reason: str = ""


class Outcome(Record):
    incident_id: str | None
    incident_created: bool
    actions: tuple[StoredAction, ...] = ()
    notifications: tuple[str, ...] = ()
    """Outbox rows queued by the cycle (sent after it commits)."""


class Approval(Record):
    by: str
    at: datetime
    comment: str | None = None
    key_id: str | None = None
    """The approving API key (four-eyes compares these); None for the product's own actors."""


class Comment(Record):
    by: str
    at: datetime
    move: str
    text: str


def _dt(ms: int | None) -> datetime | None:
    return None if ms is None else ms_to_dt(ms)


class Action(Record):
    """A proposed action with its approvals, execution and result."""

    id: str
    incident_id: str | None
    key: str
    title: str
    description: str
    rationale: str
    expected_effect: str
    params: dict[str, Any]
    risk: Risk
    confidence: float
    status: ActionStatus
    requested_by: str
    required_approvals: int
    approvals: tuple[Approval, ...]
    policy: dict[str, Any]
    auto_execute: bool
    decided_by: str | None
    created_at: datetime
    updated_at: datetime
    executor: str | None
    executed_by: str | None
    attempts: int
    started_at: datetime | None
    lease_until: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: str | None
    comments: tuple[Comment, ...]
    requested_by_key: str | None = None
    """The API key that requested the action (a cycle run with a key); None for the product's own actors."""

    @classmethod
    def from_row(cls, row: ActionRecord) -> Action:
        """The reader's view of a stored row: times as datetimes, status and risk as enums."""
        return cls(
            id=row.id,
            incident_id=row.incident_id,
            key=row.key,
            title=row.title,
            description=row.description,
            rationale=row.rationale,
            expected_effect=row.expected_effect,
            params=row.params,
            risk=Risk(row.risk),
            confidence=row.confidence,
            status=ActionStatus(row.status),
            requested_by=row.requested_by,
            required_approvals=row.required_approvals,
            approvals=tuple(
                Approval(by=a.by, at=ms_to_dt(a.at_ms), comment=a.comment, key_id=a.key_id)
                for a in row.approvals
            ),
            policy=row.policy,
            auto_execute=row.auto_execute,
            decided_by=row.decided_by,
            created_at=ms_to_dt(row.created_ms),
            updated_at=ms_to_dt(row.updated_ms),
            executor=row.executor,
            executed_by=row.executed_by,
            attempts=row.attempts,
            started_at=_dt(row.started_ms),
            lease_until=_dt(row.lease_until_ms),
            finished_at=_dt(row.finished_ms),
            result=row.result,
            error=row.error,
            comments=tuple(
                Comment(by=c.by, at=ms_to_dt(c.at_ms), move=c.move, text=c.text) for c in row.comments
            ),
            requested_by_key=row.requested_by_key,
        )
