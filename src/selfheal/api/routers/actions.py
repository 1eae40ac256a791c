"""Actions: list them, approve, reject, cancel and execute them, recover interrupted executions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from selfheal.act.model import Action
from selfheal.act.states import ActionStatus
from selfheal.act.workflow import Workflow
from selfheal.api.deps import Services, require, services
from selfheal.api.params import MAX_OFFSET
from selfheal.auth import Principal, Role
from selfheal.decide.model import Risk

router = APIRouter(tags=["actions"])


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action_id: str = Field(min_length=1, max_length=64)
    comment: str | None = Field(None, max_length=4000, description="Kept with the action and in the audit")


class ExecuteRequest(ActionRequest):
    dry_run: bool = Field(False, description="Only show what would happen; change nothing")


class ResumeRequest(ActionRequest):
    force: bool = Field(False, description="Take over even though the execution's lease has not run out")


class FailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=4000)
    force: bool = Field(False, description="Mark failed even though the execution's lease has not run out")


def _workflow(svc: Services) -> Workflow:
    return Workflow(svc.store, svc.settings)


@router.get("/actions")
def list_actions(
    status: ActionStatus | None = Query(None),
    incident: str | None = Query(None, max_length=64, description="Incident id"),
    risk: Risk | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> list[Action]:
    """Actions, newest first."""
    return _workflow(svc).list_actions(
        status=status, incident_id=incident, risk=risk, limit=limit, offset=offset
    )


@router.get("/actions/stale")
def stale_actions(
    svc: Services = Depends(services), _: Principal = Depends(require(Role.viewer))
) -> list[Action]:
    """Executions whose lease ran out (resume them or mark them failed), and automatic actions never
    executed after their approval (the next cycle executes them)."""
    return _workflow(svc).stale()


@router.get("/actions/{action_id}")
def get_action(
    action_id: str, svc: Services = Depends(services), _: Principal = Depends(require(Role.viewer))
) -> Action:
    return _workflow(svc).get(action_id)


@router.post("/approve_action")
def approve_action(
    req: ActionRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.approver))
) -> Action:
    """Approve a proposed action (high risk may need more than one distinct approver)."""
    return _workflow(svc).approve(req.action_id, who.name, req.comment, key_id=who.key_id)


@router.post("/reject_action")
def reject_action(
    req: ActionRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.approver))
) -> Action:
    return _workflow(svc).reject(req.action_id, who.name, req.comment)


@router.post("/cancel_action")
def cancel_action(
    req: ActionRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.approver))
) -> Action:
    """Withdraw a proposed or approved action before it runs."""
    return _workflow(svc).cancel(req.action_id, who.name, req.comment)


@router.post("/execute_action")
def execute_action(
    req: ExecuteRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.approver))
) -> Action:
    """Execute an approved action exactly once (409 if it is not approved or already running)."""
    workflow = _workflow(svc)
    if req.dry_run:
        return workflow.preview(req.action_id, who.name)
    return workflow.execute(req.action_id, who.name, req.comment)


@router.post("/resume_action")
def resume_action(
    req: ResumeRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.approver))
) -> Action:
    """Run an interrupted execution again (after its lease ran out, or with force)."""
    return _workflow(svc).resume(req.action_id, who.name, req.force, req.comment)


@router.post("/fail_action")
def fail_action(
    req: FailRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.approver))
) -> Action:
    """Give up on an interrupted execution."""
    return _workflow(svc).mark_failed(req.action_id, who.name, req.reason, req.force)
