"""Recovery: automatic actions a dead process left behind, picked up by the next cycle (or scheduler tick).

Two cases, both found in the database, so any process can recover any other's work:
- a policy-approved action still `approved` `act_recover_after_seconds` after its approval: the cycle that
  stored it stopped between its commit and the execution; it is executed now;
- an automatic execution whose lease ran out (`executing`, the process died mid-run): it is resumed.
Each goes through the workflow's claim (a conditional UPDATE), so of many recovering processes exactly one
runs an action; the others see a `Conflict` and move on. Executions a person started are left for a person
(`/actions/stale` lists them with the rest).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from selfheal.act.model import Action
from selfheal.act.workflow import POLICY_ACTOR, Workflow
from selfheal.errors import Conflict, SelfhealError
from selfheal.records import dt_to_ms, utcnow
from selfheal.settings import Settings
from selfheal.store import Store, actions_repo
from selfheal.store.rows import ActionRecord


def left_behind(
    conn: Connection, settings: Settings, now_ms: int
) -> tuple[list[ActionRecord], list[ActionRecord]]:
    """(policy-approved actions never executed, automatic executions whose lease expired)."""
    approved_before = now_ms - settings.act_recover_after_seconds * 1000
    unexecuted = actions_repo.unexecuted_auto(conn, approved_before)
    expired = [r for r in actions_repo.stale_executions(conn, now_ms) if r.auto_execute]
    return unexecuted, expired


def recover(store: Store, settings: Settings, workflow: Workflow | None = None) -> tuple[Action, ...]:
    """Execute or resume what dead processes left behind; the actions this call ran, with their results."""
    with store.read() as conn:
        unexecuted, expired = left_behind(conn, settings, dt_to_ms(utcnow()))
    if not unexecuted and not expired:
        return ()
    workflow = workflow or Workflow(store, settings)
    done = [_run(workflow.execute, row.id) for row in unexecuted]
    done += [_run(workflow.resume, row.id) for row in expired]
    return tuple(a for a in done if a is not None)


def _run(move: Callable[..., Action], action_id: str) -> Action | None:
    """Run `move` (execute or resume) as the policy; None when another process got there first or the
    executor refuses (the action then stays listed in `/actions/stale`)."""
    try:
        return move(action_id, by=POLICY_ACTOR, comment="recovered: left behind by a stopped process")
    except Conflict:
        return None
    except SelfhealError:
        return None
