"""The action workflow: approve, reject, cancel, execute (exactly once), resume or fail an interrupted
execution. Every change is one transaction that also appends an audit record (who, what, before, after).

Exactly-once execution: `execute` first *claims* the action with a conditional UPDATE
(`status = 'approved'` -> `executing`, with a fresh claim token and a lease) and commits; only the caller
whose UPDATE changed the row runs the executor. The result is recorded by a second conditional UPDATE that
requires the same claim token, so a late result from a run that was meanwhile resumed or marked failed
cannot overwrite the newer state. A process that dies mid-execution leaves the action `executing` with
an expired lease: `stale`, `resume` and `mark_failed` deal with it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from selfheal import audit
from selfheal.act.executors import ExecutionRequest, ExecutionResult, Executor, executor_for
from selfheal.act.executors import preview_executor as _preview_executor
from selfheal.act.model import Action
from selfheal.act.scope import incident_scope
from selfheal.act.states import ActionStatus, Transition, check
from selfheal.auth import same_holder
from selfheal.decide.model import Risk
from selfheal.errors import Conflict, Forbidden, SelfhealError
from selfheal.records import dt_to_ms, ms_to_dt, utcnow
from selfheal.settings import Settings
from selfheal.store import Store, actions_repo
from selfheal.store.rows import ActionRecord, StoredApproval, StoredComment

S = ActionStatus
POLICY_ACTOR = "policy"


def snapshot(row: ActionRecord) -> dict[str, Any]:
    """The part of an action an audit record keeps as `before` / `after`."""
    return {
        "status": row.status,
        "approvals": [a.by for a in row.approvals],
        "required_approvals": row.required_approvals,
        "executed_by": row.executed_by,
        "attempts": row.attempts,
        "error": row.error,
    }


def _comments(
    row: ActionRecord, by: str, move: Transition, text: str | None, now_ms: int
) -> tuple[StoredComment, ...]:
    """The action's comments, with `text` added when there is one."""
    if not text:
        return row.comments
    return (*row.comments, StoredComment(by=by, at_ms=now_ms, move=move.value, text=text))


@dataclass(frozen=True)
class Claim:
    """An action its caller claimed for execution (status executing, under `token` and a lease)."""

    row: ActionRecord
    request: ExecutionRequest
    token: str
    by: str

    @property
    def action(self) -> Action:
        return Action.from_row(self.row)


class Workflow:
    """Action operations over a store. `executor` overrides the configured one (tests, previews)."""

    def __init__(self, store: Store, settings: Settings, executor: Executor | None = None) -> None:
        self.store = store
        self.settings = settings
        self.executor = executor or executor_for(settings)

    # --- reading -------------------------------------------------------------------------------
    def get(self, action_id: str) -> Action:
        with self.store.read() as conn:
            return Action.from_row(actions_repo.get_action(conn, action_id))

    def list_actions(
        self,
        status: ActionStatus | None = None,
        incident_id: str | None = None,
        risk: Risk | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Action]:
        with self.store.read() as conn:
            rows = actions_repo.list_actions(
                conn,
                status=ActionStatus(status).value if status else None,
                incident_id=incident_id,
                risk=Risk(risk).value if risk else None,
                limit=limit,
                offset=offset,
            )
        return [Action.from_row(r) for r in rows]

    def count_actions(
        self, status: ActionStatus | None = None, incident_id: str | None = None, risk: Risk | None = None
    ) -> int:
        """How many actions `list_actions` pages through with these filters."""
        with self.store.read() as conn:
            return actions_repo.count_actions(
                conn,
                status=ActionStatus(status).value if status else None,
                incident_id=incident_id,
                risk=Risk(risk).value if risk else None,
            )

    def stale(self) -> list[Action]:
        """Work a stopped process left behind: executions whose lease has run out, and policy-approved
        actions never executed `act_recover_after_seconds` after their approval."""
        now = dt_to_ms(utcnow())
        with self.store.read() as conn:
            expired = actions_repo.stale_executions(conn, now)
            unexecuted = actions_repo.unexecuted_auto(
                conn, now - self.settings.act_recover_after_seconds * 1000
            )
        return [Action.from_row(r) for r in (*expired, *unexecuted)]

    # --- decisions -----------------------------------------------------------------------------
    def approve(
        self, action_id: str, by: str, comment: str | None = None, key_id: str | None = None
    ) -> Action:
        """Add `by`'s approval; the action becomes `approved` once it has all the approvals it needs.

        Four-eyes compares holders: `key_id` is the approving API key (None for the product's own actors and
        the configured admin key), checked against the key that requested the action and the keys that
        approved it already; by name only where a key id is not known (`auth.same_holder`)."""
        with self.store.transaction() as conn:
            row = actions_repo.get_action(conn, action_id, for_update=True)
            check(Transition.approve, row.status, action_id)
            requester = same_holder(by, key_id, row.requested_by, row.requested_by_key)
            if requester and not self.settings.act_allow_self_approval:
                raise Forbidden(
                    f"{by!r} requested action {action_id} and may not approve it; another approver must",
                    {"action_id": action_id, "requested_by": row.requested_by},
                )
            if any(same_holder(by, key_id, a.by, a.key_id) for a in row.approvals):
                raise Conflict(
                    f"action {action_id} is already approved by {by!r}; "
                    f"the next approval must come from a different person",
                    {"action_id": action_id, "approved_by": [a.by for a in row.approvals]},
                )
            now = dt_to_ms(utcnow())
            approvals = (*row.approvals, StoredApproval(by=by, at_ms=now, comment=comment, key_id=key_id))
            after = row.changed(
                approvals=approvals,
                updated_ms=now,
                comments=_comments(row, by, Transition.approve, comment, now),
            )
            if len(approvals) >= row.required_approvals:
                after = after.changed(status=S.approved.value, decided_by=by)
            return self._apply(conn, row, after, by, "action.approve", comment)

    def reject(self, action_id: str, by: str, comment: str | None = None) -> Action:
        return self._simple_move(action_id, by, Transition.reject, S.rejected, comment, decided=True)

    def cancel(self, action_id: str, by: str, comment: str | None = None) -> Action:
        return self._simple_move(action_id, by, Transition.cancel, S.cancelled, comment, decided=False)

    def _simple_move(
        self, action_id: str, by: str, move: Transition, to: ActionStatus, comment: str | None, decided: bool
    ) -> Action:
        with self.store.transaction() as conn:
            row = actions_repo.get_action(conn, action_id, for_update=True)
            check(move, row.status, action_id)
            now = dt_to_ms(utcnow())
            after = row.changed(
                status=to.value,
                updated_ms=now,
                comments=_comments(row, by, move, comment, now),
                decided_by=by if decided else row.decided_by,
            )
            return self._apply(conn, row, after, by, f"action.{move.value}", comment)

    def _apply(
        self,
        conn: Connection,
        row: ActionRecord,
        after: ActionRecord,
        by: str,
        what: str,
        comment: str | None,
    ) -> Action:
        """Write `after` if the action is still as read (else 409) and audit the change."""
        if not actions_repo.replace_if(conn, row, after, {"status": row.status}):
            raise Conflict(
                f"action {row.id} changed while this request ran; reload it and try again",
                {"action_id": row.id},
            )
        audit.record(
            conn,
            actor=by,
            action=what,
            target_type="action",
            target_id=row.id,
            before=snapshot(row),
            after={**snapshot(after), **({"comment": comment} if comment else {})},
        )
        return Action.from_row(after)

    # --- execution -----------------------------------------------------------------------------
    def preview(self, action_id: str, by: str) -> Action:
        """What executing the action would do, without changing it (the dry-run executor)."""
        with self.store.read() as conn:
            row = actions_repo.get_action(conn, action_id)
            request = self._request(conn, row, by, attempt=row.attempts + 1)
        result = _preview_executor(self.settings).execute(request)
        return Action.from_row(row.changed(result=result.model_dump(mode="json")))

    def execute(self, action_id: str, by: str, comment: str | None = None) -> Action:
        """Run an approved action once. Of many concurrent calls one runs it; the others get 409."""
        return self.run_claimed(self.claim(action_id, by, comment))

    def claim(self, action_id: str, by: str, comment: str | None = None) -> Claim:
        """The first half of `execute`: move the action from approved to executing under a fresh claim token
        and lease, and commit. Only the caller that gets the Claim runs the executor (`run_claimed`); a
        process that stops in between leaves an execution whose lease runs out (`stale`, `resume`)."""
        self.executor.preflight()
        token = uuid.uuid4().hex
        with self.store.transaction() as conn:
            row = actions_repo.get_action(conn, action_id)
            check(Transition.execute, row.status, action_id)
            now = dt_to_ms(utcnow())
            claimed = self._claimed(row, by, token, now, _comments(row, by, Transition.execute, comment, now))
            if not actions_repo.replace_if(conn, row, claimed, {"status": S.approved.value}):
                # Another caller claimed it between our read and our UPDATE.
                current = actions_repo.get_action(conn, action_id)
                check(Transition.execute, current.status, action_id)
                raise Conflict(f"action {action_id} is already being executed", {"action_id": action_id})
            audit.record(
                conn,
                actor=by,
                action="action.execute",
                target_type="action",
                target_id=action_id,
                before=snapshot(row),
                after={
                    **snapshot(claimed),
                    "executor": self.executor.name,
                    "lease_until_ms": claimed.lease_until_ms,
                },
            )
            request = self._request(conn, claimed, by, attempt=claimed.attempts)
        return Claim(claimed, request, token, by)

    def run_claimed(self, claim: Claim) -> Action:
        """The second half of `execute`: run the executor for a claim and record its result."""
        return self._run_and_finish(claim.row, claim.request, claim.token, claim.by)

    def resume(self, action_id: str, by: str, force: bool = False, comment: str | None = None) -> Action:
        """Run an interrupted execution again (its lease must have run out unless `force`)."""
        self.executor.preflight()
        token = uuid.uuid4().hex
        with self.store.transaction() as conn:
            row = actions_repo.get_action(conn, action_id, for_update=True)
            check(Transition.resume, row.status, action_id)
            now = dt_to_ms(utcnow())
            self._require_expired(row, now, force, "resume")
            claimed = self._claimed(row, by, token, now, _comments(row, by, Transition.resume, comment, now))
            expect = {"status": S.executing.value, "claim_token": row.claim_token}
            if not actions_repo.replace_if(conn, row, claimed, expect):
                raise Conflict(f"action {action_id} was taken over by someone else", {"action_id": action_id})
            audit.record(
                conn,
                actor=by,
                action="action.resume",
                target_type="action",
                target_id=action_id,
                before=snapshot(row),
                after={**snapshot(claimed), "executor": self.executor.name, "forced": force},
            )
            request = self._request(conn, claimed, by, attempt=claimed.attempts)
        return self._run_and_finish(claimed, request, token, by)

    def mark_failed(self, action_id: str, by: str, reason: str, force: bool = False) -> Action:
        """Give up on an interrupted execution (its lease must have run out unless `force`)."""
        with self.store.transaction() as conn:
            row = actions_repo.get_action(conn, action_id, for_update=True)
            check(Transition.fail, row.status, action_id)
            now = dt_to_ms(utcnow())
            self._require_expired(row, now, force, "mark failed")
            after = row.changed(
                status=S.failed.value,
                error=f"marked failed by {by}: {reason}",
                finished_ms=now,
                lease_until_ms=None,
                updated_ms=now,
                comments=_comments(row, by, Transition.fail, reason, now),
            )
            expect = {"status": S.executing.value, "claim_token": row.claim_token}
            if not actions_repo.replace_if(conn, row, after, expect):
                raise Conflict(f"action {action_id} changed while this request ran", {"action_id": action_id})
            audit.record(
                conn,
                actor=by,
                action="action.fail",
                target_type="action",
                target_id=action_id,
                before=snapshot(row),
                after={**snapshot(after), "forced": force},
            )
            return Action.from_row(after)

    def _require_expired(self, row: ActionRecord, now: int, force: bool, what: str) -> None:
        lease = row.lease_until_ms
        if not force and lease is not None and lease > now:
            raise Conflict(
                f"action {row.id} is executing under a lease until {ms_to_dt(lease).isoformat()}; "
                f"wait for it to run out or pass force to {what} it now",
                {"action_id": row.id, "lease_until": ms_to_dt(lease).isoformat()},
            )

    def _claimed(
        self, row: ActionRecord, by: str, token: str, now: int, comments: tuple[StoredComment, ...]
    ) -> ActionRecord:
        """The action claimed for a run by `by` under `token`, with a fresh lease."""
        lease = now + int(timedelta(seconds=self.settings.act_execution_lease_seconds).total_seconds() * 1000)
        return row.changed(
            status=S.executing.value,
            claim_token=token,
            executor=self.executor.name,
            executed_by=by,
            attempts=row.attempts + 1,
            started_ms=now,
            lease_until_ms=lease,
            updated_ms=now,
            comments=comments,
        )

    def _request(self, conn: Connection, row: ActionRecord, by: str, attempt: int) -> ExecutionRequest:
        scope = incident_scope(conn, row.incident_id)
        return ExecutionRequest(
            action_id=row.id,
            attempt=attempt,
            key=row.key,
            title=row.title,
            risk=Risk(row.risk),
            params=row.params,
            incident_id=row.incident_id,
            category=scope.category,
            stages=scope.stages,
            merchants=scope.merchants,
            requested_by=row.requested_by,
            executed_by=by,
        )

    def _run_and_finish(
        self, claimed: ActionRecord, request: ExecutionRequest, token: str, by: str
    ) -> Action:
        try:
            result = self.executor.execute(request)
        except SelfhealError as exc:
            result = ExecutionResult(
                ok=False, executor=self.executor.name, summary=exc.message, error=exc.message
            )
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            result = ExecutionResult(ok=False, executor=self.executor.name, summary=message, error=message)
        return self._finish(claimed, result, token, by)

    def _finish(self, claimed: ActionRecord, result: ExecutionResult, token: str, by: str) -> Action:
        action_id = claimed.id
        now = dt_to_ms(utcnow())
        status = S.succeeded if result.ok else S.failed
        after = claimed.changed(
            status=status.value,
            result=result.model_dump(mode="json"),
            error=result.error,
            finished_ms=now,
            lease_until_ms=None,
            updated_ms=now,
        )
        with self.store.transaction() as conn:
            expect = {"status": S.executing.value, "claim_token": token}
            if not actions_repo.replace_if(conn, claimed, after, expect):
                # Resumed or marked failed while we ran: keep the newer state, keep our result on record.
                audit.record(
                    conn,
                    actor=by,
                    action="action.late_result",
                    target_type="action",
                    target_id=action_id,
                    after={"ok": result.ok, "summary": result.summary, "executor": result.executor},
                )
                return Action.from_row(actions_repo.get_action(conn, action_id))
            if result.ok and result.effect is not None:
                actions_repo.insert_effect(
                    conn,
                    {
                        "action_id": action_id,
                        "incident_id": claimed.incident_id,
                        "action_key": claimed.key,
                        "category": result.effect.get("category"),
                        "effect": result.effect,
                        "created_ms": now,
                    },
                )
            audit.record(
                conn,
                actor=by,
                action=f"action.{status.value}",
                target_type="action",
                target_id=action_id,
                before=snapshot(claimed),
                after={**snapshot(after), "summary": result.summary, "executor": result.executor},
            )
        return Action.from_row(after)
