"""The action lifecycle:

    proposed ──approve──▶ approved ──execute──▶ executing ──▶ succeeded
        │                    │                      │    └──▶ failed
        ├──reject──▶ rejected│                      └─resume─▶ executing (after a crash)
        └──cancel──▶ cancelled ◀──cancel──┘

A high-risk action may need several distinct approvals; it stays `proposed` until the last one.
Every other transition is illegal and raises `Conflict` (HTTP 409) with a message that says why.
"""

from __future__ import annotations

from enum import StrEnum

from selfheal.errors import Conflict


class ActionStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    executing = "executing"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class Transition(StrEnum):
    """A move along the lifecycle that a person (or the policy) asks for."""

    approve = "approve"
    reject = "reject"
    cancel = "cancel"
    execute = "execute"
    resume = "resume"
    fail = "fail"


S = ActionStatus
ALLOWED_FROM: dict[Transition, frozenset[ActionStatus]] = {
    Transition.approve: frozenset({S.proposed}),
    Transition.reject: frozenset({S.proposed}),
    Transition.cancel: frozenset({S.proposed, S.approved}),
    Transition.execute: frozenset({S.approved}),
    Transition.resume: frozenset({S.executing}),
    Transition.fail: frozenset({S.executing}),
}
"""The statuses from which each transition is legal."""

TERMINAL = frozenset({S.rejected, S.succeeded, S.failed, S.cancelled})


def _why_not(move: Transition, status: ActionStatus, action_id: str) -> str:
    if status in TERMINAL:
        return f"action {action_id} is already {status.value}; it cannot be {_past(move)} any more"
    if move == Transition.approve and status == S.approved:
        return f"action {action_id} is already approved"
    if move == Transition.approve and status == S.executing:
        return f"action {action_id} is already executing"
    if move == Transition.execute and status == S.proposed:
        return f"action {action_id} is proposed and needs approval before it can be executed"
    if move == Transition.execute and status == S.executing:
        return f"action {action_id} is already executing; it runs only once"
    if move in (Transition.resume, Transition.fail):
        return f"action {action_id} is {status.value}; only an interrupted execution can be {_past(move)}"
    if move == Transition.reject and status == S.approved:
        return f"action {action_id} is already approved; cancel it instead of rejecting it"
    if move == Transition.cancel and status == S.executing:
        return f"action {action_id} is executing; an execution in progress cannot be cancelled"
    return f"action {action_id} is {status.value}; it cannot be {_past(move)}"


def _past(move: Transition) -> str:
    return {
        Transition.approve: "approved",
        Transition.reject: "rejected",
        Transition.cancel: "cancelled",
        Transition.execute: "executed",
        Transition.resume: "resumed",
        Transition.fail: "marked failed",
    }[move]


def check(move: Transition, status: ActionStatus | str, action_id: str) -> None:
    """Raise `Conflict` unless `move` is legal from `status`."""
    current = ActionStatus(status)
    if current not in ALLOWED_FROM[move]:
        raise Conflict(
            _why_not(move, current, action_id),
            {"action_id": action_id, "status": current.value, "move": move.value},
        )
