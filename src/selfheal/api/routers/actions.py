"""Actions: list them, approve, reject, cancel and execute them, recover interrupted executions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from selfheal.act.model import Action
from selfheal.act.states import ActionStatus
from selfheal.act.workflow import Workflow
from selfheal.api.deps import Services, require, services
from selfheal.api.pagination import Page, page_params, paginate
from selfheal.auth import Principal, Role
from selfheal.decide.model import Risk

router = APIRouter(tags=["actions"])


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action_id: str = Field(min_length=1, max_length=64)
    comment: str | None = Field(None, max_length=4000, description="Kept with the action and in the audit")


class ExecuteRequest(ActionRequest):
    dry_run: bool = Field(False, description="Only show what would happen; change nothing")


class MoveBody(BaseModel):
    """The body of `POST /actions/{id}/approve|reject|cancel` (optional)."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(None, max_length=4000, description="Kept with the action and in the audit")


class ExecuteBody(MoveBody):
    dry_run: bool = Field(False, description="Only show what would happen; change nothing")


ActionId = Path(min_length=1, max_length=64, description="The action's id")

ASYNC_NOTE = (
    "With the header `Prefer: respond-async` the execution runs after the answer: 202 with the action in "
    "`executing`, a `Location` header naming `GET /actions/{id}` to poll, and `Preference-Applied: "
    "respond-async`. The claim (approved -> executing) is committed before the answer, so of concurrent "
    "calls exactly one gets 200/202 and the others 409, as without the header; if the process stops during "
    "the execution its lease runs out and `GET /actions/stale` lists it for resume or fail."
)


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
    request: Request,
    response: Response,
    status: ActionStatus | None = Query(None),
    incident: str | None = Query(None, max_length=64, description="Incident id"),
    risk: Risk | None = Query(None),
    page: Page = Depends(page_params(100, 1000)),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> list[Action]:
    """Actions, newest first. Paginated: `X-Total-Count`, and `X-Next-Cursor` / `Link: rel="next"` while
    more follow."""
    workflow = _workflow(svc)
    items = workflow.list_actions(
        status=status, incident_id=incident, risk=risk, limit=page.limit, offset=page.offset
    )
    total = workflow.count_actions(status=status, incident_id=incident, risk=risk)
    paginate(request, response, page, len(items), total)
    return items


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


def _execute(
    svc: Services,
    who: Principal,
    action_id: str,
    body: ExecuteBody,
    prefer: str | None,
    tasks: BackgroundTasks,
) -> Action | JSONResponse:
    workflow = _workflow(svc)
    if body.dry_run:
        return workflow.preview(action_id, who.name)
    if not _wants_async(prefer):
        return workflow.execute(action_id, who.name, body.comment)
    claim = workflow.claim(action_id, who.name, body.comment)
    tasks.add_task(workflow.run_claimed, claim)
    return JSONResponse(
        claim.action.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/actions/{action_id}", "Preference-Applied": "respond-async"},
        background=tasks,
    )


def _wants_async(prefer: str | None) -> bool:
    """RFC 7240: `Prefer: respond-async` (among other preferences, any case)."""
    if not prefer:
        return False
    return any(p.split(";")[0].strip().lower() == "respond-async" for p in prefer.split(","))


_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": Action, "description": "Accepted (`Prefer: respond-async`): the action is executing"}
}


@router.post("/actions/{action_id}/approve")
def approve(
    action_id: str = ActionId,
    body: MoveBody | None = Body(None),
    svc: Services = Depends(services),
    who: Principal = Depends(require(Role.approver)),
) -> Action:
    """Approve a proposed action (high risk may need more than one distinct approver)."""
    return _workflow(svc).approve(action_id, who.name, (body or MoveBody()).comment, key_id=who.key_id)


@router.post("/actions/{action_id}/reject")
def reject(
    action_id: str = ActionId,
    body: MoveBody | None = Body(None),
    svc: Services = Depends(services),
    who: Principal = Depends(require(Role.approver)),
) -> Action:
    """Reject a proposed action."""
    return _workflow(svc).reject(action_id, who.name, (body or MoveBody()).comment)


@router.post("/actions/{action_id}/cancel")
def cancel(
    action_id: str = ActionId,
    body: MoveBody | None = Body(None),
    svc: Services = Depends(services),
    who: Principal = Depends(require(Role.approver)),
) -> Action:
    """Withdraw a proposed or approved action before it runs."""
    return _workflow(svc).cancel(action_id, who.name, (body or MoveBody()).comment)


@router.post(
    "/actions/{action_id}/execute",
    responses=_ACCEPTED,
    description="Execute an approved action exactly once (409 if it is not approved or already running).\n\n"
    + ASYNC_NOTE,
)
def execute(
    tasks: BackgroundTasks,
    action_id: str = ActionId,
    body: ExecuteBody | None = Body(None),
    prefer: str | None = Header(None, max_length=256, description="`respond-async`: answer 202 at once"),
    svc: Services = Depends(services),
    who: Principal = Depends(require(Role.approver)),
) -> Action:
    return _execute(svc, who, action_id, body or ExecuteBody(), prefer, tasks)  # type: ignore[return-value]


DEPRECATED = "Deprecated alias of `POST /actions/{{action_id}}/{move}` (kept for existing callers)."


@router.post("/approve_action", deprecated=True, description=DEPRECATED.format(move="approve"))
def approve_action(
    req: ActionRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.approver))
) -> Action:
    return _workflow(svc).approve(req.action_id, who.name, req.comment, key_id=who.key_id)


@router.post("/reject_action", deprecated=True, description=DEPRECATED.format(move="reject"))
def reject_action(
    req: ActionRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.approver))
) -> Action:
    return _workflow(svc).reject(req.action_id, who.name, req.comment)


@router.post("/cancel_action", deprecated=True, description=DEPRECATED.format(move="cancel"))
def cancel_action(
    req: ActionRequest, svc: Services = Depends(services), who: Principal = Depends(require(Role.approver))
) -> Action:
    return _workflow(svc).cancel(req.action_id, who.name, req.comment)


@router.post(
    "/execute_action", deprecated=True, description=DEPRECATED.format(move="execute"), responses=_ACCEPTED
)
def execute_action(
    req: ExecuteRequest,
    tasks: BackgroundTasks,
    prefer: str | None = Header(None, max_length=256, description="`respond-async`: answer 202 at once"),
    svc: Services = Depends(services),
    who: Principal = Depends(require(Role.approver)),
) -> Action:
    body = ExecuteBody(comment=req.comment, dry_run=req.dry_run)
    return _execute(svc, who, req.action_id, body, prefer, tasks)  # type: ignore[return-value]


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
