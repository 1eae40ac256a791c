"""Run: look at the window (Observe) or run one agent cycle over it, with progress while it runs."""

from __future__ import annotations

import threading
import time
from typing import Any

import streamlit as st

from selfheal.auth import Role
from selfheal.client import ApiError, SelfhealClient
from selfheal.ui import common as ui
from selfheal.ui import format as fmt

STAGES = ("observe", "reason", "decide", "narrate", "act")


def _run_in_background(
    client: SelfhealClient, as_of: str | None, window_minutes: int, use_llm: bool
) -> dict[str, Any]:
    """POST /run_cycle in a worker thread while the page shows the time passing."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = client.run_cycle(as_of, window_minutes, use_llm)
        except ApiError as exc:
            box["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    started = time.monotonic()
    worker.start()
    with st.status("Running observe → reason → decide → act …", expanded=True) as status:
        bar = st.progress(0.0, text="starting")
        while worker.is_alive():
            elapsed = time.monotonic() - started
            bar.progress(min(0.95, elapsed / (elapsed + 5)), text=f"{elapsed:.1f} s elapsed")
            worker.join(timeout=0.25)
        if "error" in box:
            status.update(label="The cycle failed", state="error")
            return box
        result = box["result"]
        stage_ms = result.get("stage_ms", {})
        bar.progress(1.0, text=f"done in {fmt.duration_ms(stage_ms.get('total'))}")
        for stage in STAGES:
            if stage in stage_ms:
                st.write(f":material/check: {stage} · {fmt.duration_ms(stage_ms[stage])}")
        status.update(label=f"Cycle done in {fmt.duration_ms(stage_ms.get('total'))}", state="complete")
    return box


def _show_cycle(result: dict[str, Any]) -> None:
    findings = result.get("findings", {})
    outcome = result.get("outcome", {})
    cols = st.columns(4)
    cols[0].metric("Anomalies", len(findings.get("anomalies", [])))
    cols[1].metric("Ticket themes", len(findings.get("themes", [])))
    cols[2].metric(
        "Payments without order", sum(g["missing_orders"] for g in findings.get("soft_failures", []))
    )
    cols[3].metric("Actions", len(outcome.get("actions", [])))
    assessment = result.get("assessment")
    if assessment:
        verb = "opened" if outcome.get("incident_created") else "updated"
        st.markdown(
            f"### {fmt.severity_chip(assessment['severity'])} {assessment['title']}\n"
            f"Incident `{outcome.get('incident_id')}` {verb}."
        )
        st.write(assessment["summary"])
        rc = assessment["root_cause"]
        st.markdown(
            f"**Most likely cause:** {rc['hypothesis']} ({rc['category']}, confidence {fmt.pct(rc['confidence'], 0)})"
        )
        for action in outcome.get("actions", []):
            auto = " · executed automatically" if action.get("auto_executed") else ""
            st.markdown(
                f"- {fmt.status_chip(action['status'])} `{action['key']}`{auto} {action.get('reason', '')}"
            )
        st.session_state["incident_id"] = outcome.get("incident_id")
        st.page_link("views/assessment.py", label="Open the full assessment", icon=":material/troubleshoot:")
        if outcome.get("actions"):
            st.page_link("views/actions.py", label="Review the actions", icon=":material/task_alt:")
    else:
        st.success("No incident: nothing abnormal in this window.")
    st.caption(
        f"Cycle {result['cycle_id']} · window {fmt.minutes(result['window_minutes'])} to {ui.when(result['as_of'])}"
        f" · narrative: {'LLM requested' if result.get('use_llm') else 'deterministic'}"
    )
    ui.raw_json("Raw cycle result (JSON)", result)


def _observe(window: int, as_of: str | None) -> None:
    obs = ui.call(lambda: ui.client().observe(window_minutes=window, as_of=as_of), "Observe")
    if not obs:
        return
    c = obs["counts"]
    k = obs["kpis"]
    cols = st.columns(5)
    cols[0].metric("Tickets", fmt.count(c["tickets"]))
    cols[1].metric("Log events", fmt.count(c["log_events"]))
    cols[2].metric("Metric points", fmt.count(c["metric_points"]))
    cols[3].metric("Orders", fmt.count(k["orders"]))
    cols[4].metric("Checkout conversion", fmt.pct(k["checkout_success_rate"]))
    st.markdown(
        f"**Error rates by endpoint** ({fmt.minutes(obs['window_minutes'])} to {ui.when(obs['as_of'])})"
    )
    st.dataframe(
        [
            {
                "source": r["source"],
                "endpoint": r["endpoint"],
                "requests": r["requests"],
                "4xx": r["errors_4xx"],
                "5xx": r["errors_5xx"],
                "error rate": fmt.pct(r["error_rate"]),
                "p95 latency": fmt.duration_ms(r["latency_p95_ms"]),
            }
            for r in obs["error_rates"]
        ],
        hide_index=True,
        width="stretch",
    )
    ui.raw_json("Raw observation (JSON)", obs)


def render() -> None:
    st.title("Run")
    st.caption(
        "Observe reads the window; an agent cycle reasons over it, decides, stores the incident and acts."
    )
    c1, c2, c3 = st.columns([1, 2, 1])
    window = c1.selectbox(
        "Window",
        ui.WINDOW_CHOICES,
        index=ui.WINDOW_CHOICES.index(ui.window()) if ui.window() in ui.WINDOW_CHOICES else 2,
        format_func=fmt.minutes,
        key="run_window",
    )
    as_of_text = c2.text_input(
        "As of (empty = now)",
        value=str(st.session_state.get("as_of") or ""),
        key="run_as_of",
        help="ISO 8601, e.g. 2024-03-04T14:00Z; replays the cycle over stored history.",
    )
    use_llm = c3.toggle("LLM narrative", value=False, help="Let the configured LLM rewrite the text fields")
    as_of: str | None = None
    if as_of_text.strip():
        try:
            as_of = fmt.parse_time(as_of_text.strip()).isoformat()  # type: ignore[union-attr]
        except ValueError:
            st.error("As of is not a date and time; use e.g. 2024-03-04T14:00Z, or leave it empty for now.")
            return
    may_run, why = ui.permission(Role.operator)
    b1, b2 = st.columns([1, 1])
    observe = b1.button("Observe", width="stretch")
    run = b2.button(
        "Run agent cycle", type="primary", disabled=not may_run, help=why or None, width="stretch"
    )
    if not may_run:
        st.caption(f"Run agent cycle is disabled: {why}")
    if observe:
        _observe(int(window), as_of)
    if run:
        box = _run_in_background(ui.client(), as_of, int(window), use_llm)
        if "error" in box:
            ui.show_error(box["error"], "Agent cycle")
        else:
            st.session_state["last_cycle"] = box["result"]
    if not observe and st.session_state.get("last_cycle"):
        st.divider()
        st.subheader("Last cycle")
        _show_cycle(st.session_state["last_cycle"])


render()
