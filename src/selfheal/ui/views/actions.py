"""Actions: what waits for a decision first; approve, reject or execute with a comment; see the result."""

from __future__ import annotations

from typing import Any

import streamlit as st

from selfheal.auth import Role
from selfheal.client import ActionMove, ApiError
from selfheal.ui import common as ui
from selfheal.ui import format as fmt

ORDER = {
    "proposed": 0,
    "approved": 1,
    "executing": 2,
    "failed": 3,
    "succeeded": 4,
    "rejected": 5,
    "cancelled": 6,
}


def _move(action: dict[str, Any], move: ActionMove) -> None:
    comment = str(st.session_state.get(f"comment_{action['id']}") or "").strip() or None
    try:
        updated = ui.client().move_action(move, action["id"], comment)
    except ApiError as exc:
        st.session_state["action_message"] = (
            "error",
            f"{move.capitalize()} {action['title']}: {exc.message}",
            exc.hint,
        )
        return
    st.session_state["action_message"] = (
        "success",
        f"{action['title']}: now {updated['status']}.",
        "",
    )


def _verdicts(actions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Action id -> the verdict on its outcome, from each incident's lifecycle (one call per incident)."""
    out: dict[str, dict[str, Any]] = {}
    incidents = {a["incident_id"] for a in actions if a.get("incident_id") and a["status"] == "succeeded"}
    for incident_id in sorted(incidents):
        try:
            life = ui.client().incident_lifecycle(incident_id)
        except ApiError:
            continue  # an older server without lifecycles, or the incident is gone: no verdicts to show
        for v in life.get("outcomes") or []:
            out[v["action_id"]] = v
    return out


def _outcome(action: dict[str, Any], verdict: dict[str, Any] | None) -> None:
    if action["status"] != "succeeded":
        return
    if verdict is None:
        st.markdown(
            f"**Outcome:** {fmt.chip('not judged yet', 'gray')} :gray[judged once enough minutes of signals "
            "after it ran are in]"
        )
        return
    st.markdown(f"**Outcome:** {fmt.verdict_text(verdict)}  \n:gray[{verdict['detail']}]")


def _card(action: dict[str, Any], may: bool, why: str, verdict: dict[str, Any] | None = None) -> None:
    status = action["status"]
    approvals = action.get("approvals") or []
    st.markdown(
        f"#### {action['title']}\n"
        f"{fmt.status_chip(status)} {fmt.risk_chip(action['risk'])} "
        + (f"{fmt.verdict_chip(verdict['verdict'])} " if verdict else "")
        + f"{fmt.chip('confidence ' + fmt.pct(action['confidence'], 0), 'gray')}"
        + (f" {fmt.chip('auto-executed', 'blue')}" if action.get("auto_execute") else "")
    )
    st.write(action["description"])
    st.markdown(f"**Why:** {action['rationale']}  \n**Expected effect:** {action['expected_effect']}")
    st.caption(
        f"`{action['key']}` · incident `{action.get('incident_id') or '—'}` · proposed by {action['requested_by']} "
        f"{ui.when(action['created_at'])} · approvals {len(approvals)} of {action['required_approvals']}"
        + "".join(f" · approved by {a['by']} {ui.when(a['at'])}" for a in approvals)
    )
    for c in action.get("comments") or []:
        st.markdown(f"> _{c['by']} ({c['move']}, {ui.when(c['at'])}):_ {c['text']}")
    if status in ("proposed", "approved"):
        st.text_input("Comment (kept with the action and in the audit)", key=f"comment_{action['id']}")
        cols = st.columns(3)
        moves = ("approve", "reject") if status == "proposed" else ("execute",)
        for col, move in zip(cols, moves, strict=False):
            col.button(
                move.capitalize(),
                key=f"{move}_{action['id']}",
                type="secondary" if move == "reject" else "primary",
                disabled=not may,
                help=why or None,
                on_click=_move,
                args=(action, move),
            )
        if not may:
            st.caption(f"Disabled: {why}")
    if action.get("result") or action.get("error"):
        if action.get("error"):
            st.error(f"Execution failed: {action['error']}")
        else:
            st.success(
                f"Executed by {action.get('executed_by') or '—'} with {action.get('executor') or '—'} "
                f"{ui.when(action.get('finished_at'))}"
            )
        _outcome(action, verdict)
        ui.raw_json("Execution result (JSON)", action.get("result") or {})


def _notifications() -> None:
    """The notification outbox: what reached Slack and PagerDuty, what waits for a retry, what failed."""
    st.subheader("Notifications")
    page = ui.call(lambda: ui.client().notifications(limit=50), "Notifications")
    if page is None:
        return
    items = page.get("items") or []
    if not items:
        st.caption(
            "No notifications. Configure receivers with SELFHEAL_NOTIFY_ROUTES (docs/connectors.md) to send "
            "incident changes to Slack or PagerDuty."
        )
        return
    failed = [n for n in items if n["status"] == "failed"]
    if failed:
        st.warning(
            f"{len(failed)} notification(s) could not be delivered: "
            + "; ".join(f"{n['receiver']}: {n['last_error']}" for n in failed[:3]),
            icon=":material/notifications_off:",
        )
    st.dataframe(
        [
            {
                "queued": ui.when(n["created_at"]),
                "receiver": n["receiver"],
                "kind": n["kind"],
                "event": n["event"],
                "incident": n["incident_id"],
                "status": n["status"],
                "attempts": n["attempts"],
                "last HTTP status": n["last_status"],
                "last error": n["last_error"] or "",
            }
            for n in items
        ],
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"{page.get('total', len(items))} notification(s) in all; newest 50 shown (GET /notifications)."
    )


def render() -> None:
    st.title("Actions")
    statuses = st.multiselect("Status", list(ORDER), default=[], key="actions_status", placeholder="all")

    @st.fragment(run_every=ui.refresh_every())
    def live() -> None:
        _actions(statuses)

    live()


def _actions(statuses: list[str]) -> None:
    ui.updated()
    message = st.session_state.pop("action_message", None)
    if message:
        kind, text, hint = message
        (st.success if kind == "success" else st.error)(text)
        if hint:
            st.caption(f"How to fix it: {hint}")
    actions = ui.call(lambda: ui.client().actions(limit=200), "Actions")
    if actions is None:
        return
    if statuses:
        actions = [a for a in actions if a["status"] in statuses]
    if not actions:
        st.info("No actions. Actions are proposed by agent cycles that find an incident (Run page).")
        _notifications()
        return
    may, why = ui.permission(Role.approver)
    verdicts = _verdicts(actions)
    actions.sort(key=lambda a: (ORDER.get(a["status"], 9), a["created_at"]), reverse=False)
    waiting = [a for a in actions if a["status"] in ("proposed", "approved")]
    done = [a for a in actions if a["status"] not in ("proposed", "approved")]
    st.subheader(f"Waiting for a decision ({len(waiting)})")
    if not waiting:
        st.success("Nothing waits for approval.")
    for action in waiting:
        with st.container(border=True):
            _card(action, may, why)
    if done:
        st.subheader(f"History ({len(done)})")
        for action in done:
            with st.container(border=True):
                _card(action, may, why, verdicts.get(action["id"]))
    _notifications()


render()
