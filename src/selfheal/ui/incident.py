"""One incident for people, shared by the Overview and the Assessment: status (any the server sends), the
money with its basis, the verdict on each executed action, and the affected merchants charted against their
expectation with the onset, the fixes and the recovery marked.

Every money figure has one source: the loss so far (and its chart) comes from `GET /series/kpis` over the
affected merchants from the onset; the rate per hour and the day's projection from the incident's risk report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from selfheal.client import ApiError
from selfheal.ui import charts
from selfheal.ui import common as ui
from selfheal.ui import format as fmt

RECOVERY_FIELDS = (
    ("recovering_since", "Recovering since"),
    ("onset", "Onset"),
    ("peak", "Peak"),
    ("peak_at", "Peak at"),
    ("lost_since_onset", "Lost since onset"),
    ("loss_since_onset", "Lost since onset"),
    ("cumulative_loss", "Lost since onset"),
)
"""Fields a newer server may add to an incident; shown when present."""
MAX_CHART_MINUTES = 7 * 24 * 60
LEAD_MINUTES = 20
"""Minutes before the onset the incident chart shows, so the normal level is visible."""


def report(incident: dict[str, Any]) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (incident.get("assessment") or {}).get("risk_report")
    return found


def onset(incident: dict[str, Any]) -> str | None:
    """When the incident began: the server's `onset`, else the risk report's, else its earliest anomaly."""
    value = incident.get("onset")
    if isinstance(value, str):
        return value
    rr = report(incident)
    if rr and rr.get("onset"):
        return str(rr["onset"])
    onsets = [a["onset"] for a in (incident.get("findings") or {}).get("anomalies", []) if a.get("onset")]
    return min(onsets) if onsets else None


def scope(incident: dict[str, Any]) -> tuple[str | None, list[str], str]:
    """(stage, merchants, words) of the affected traffic: the merchants at risk (those the agent counts: a
    merchant above its expectation is not at risk), on their one stage when there is one; else the stage
    whole; else all merchants. The same merchants as the loss so far of the summary."""
    br = (incident.get("assessment") or {}).get("blast_radius") or {}
    stages = list(br.get("stages") or [])
    merchants = [m["merchant_id"] for m in br.get("merchants") or []]
    stage = stages[0] if len(stages) == 1 else None
    if merchants:
        where = f" at stage {stage}" if stage else ""
        return stage, merchants, f"{len(merchants)} merchant(s) at risk{where}"
    if stage:
        return stage, [], f"stage {stage}"
    return None, [], "all merchants"


def lifecycle(incident_id: str) -> dict[str, Any] | None:
    """The incident's lifecycle (verdicts, resolution), None when the server has no such endpoint."""
    try:
        return ui.client().incident_lifecycle(incident_id)
    except ApiError:
        return None


def markers(incident: dict[str, Any], life: dict[str, Any] | None) -> list[charts.Marker]:
    """Onset, each fix (an action executed, at the cycle that first saw it), recovery and resolution."""
    out: list[charts.Marker] = []
    start = onset(incident)
    if start:
        out.append((start, "onset", charts.MARKER_COLOR["onset"]))
    fixes: dict[int, list[str]] = {}
    for v in (life or {}).get("outcomes") or []:
        fixes.setdefault(int(v["executed_ms"]), []).append(str(v["key"]))
    for ms, keys in sorted(fixes.items()):
        at = datetime.fromtimestamp(ms / 1000, UTC).isoformat()
        what = keys[0] if len(keys) == 1 else f"{len(keys)} actions"
        out.append((at, f"fix: {what}", charts.MARKER_COLOR["fix"]))
    if not fixes and life and life.get("mitigating_since"):
        out.append((str(life["mitigating_since"]), "fix", charts.MARKER_COLOR["fix"]))
    recovering = incident.get("recovering_since") or (life or {}).get("recovering_since")
    if recovering:
        out.append((str(recovering), "recovering", charts.MARKER_COLOR["recovering"]))
    resolved = (life or {}).get("resolved_at") or incident.get("resolved_at")
    if resolved:
        out.append((str(resolved), "resolved", charts.MARKER_COLOR["resolved"]))
    return out


def loss_series(incident: dict[str, Any]) -> dict[str, Any] | None:
    """The affected merchants' KPI series from a little before the onset to the window's end, the loss
    accumulating from the onset. None when the server cannot say."""
    start = fmt.parse_time(onset(incident))
    end = fmt.parse_time(ui.as_of()) or datetime.now(UTC)
    minutes = ui.window()
    if start is not None and start <= end:
        minutes = max(minutes, int((end - start) / timedelta(minutes=1)) + LEAD_MINUTES)
    stage, merchants, _ = scope(incident)
    try:
        return ui.client().kpi_series(
            window_minutes=min(minutes, MAX_CHART_MINUTES),
            as_of=end.isoformat(),
            stage=stage,
            merchants=merchants,
            since=start.isoformat() if start is not None and start <= end else None,
        )
    except ApiError:
        return None


def header(incident: dict[str, Any], level: int = 4, life: dict[str, Any] | None = None) -> None:
    """Severity, title, status (whatever the server calls it), category, when it opened, and the recovery
    fields of the incident or its lifecycle when the server has them."""
    st.markdown(
        f"{'#' * level} {fmt.severity_chip(incident['severity'])} {incident['title']}  \n"
        f"{fmt.status_chip(incident['status'])} · {incident['category']} · opened "
        f"{ui.when(incident.get('created_at'))} ({fmt.ago(incident.get('created_at'))}) · "
        f"last seen in the window to {ui.when(incident.get('as_of'))}"
    )
    fields = {**(life or {}), **incident}
    shown = set()
    parts = []
    for key, label in RECOVERY_FIELDS:
        if fields.get(key) is not None and label not in shown:
            shown.add(label)
            parts.append(f"**{label}:** {fmt.humanize(fields[key], ui.tz())}")
    if parts:
        st.markdown(" · ".join(parts))


def money(incident: dict[str, Any], series: dict[str, Any] | None) -> None:
    """Lost so far since the onset, per hour, per day if it persists: each labelled with its basis, the
    interval under the figure (wrapped, never cut)."""
    rr = report(incident)
    so_far = (series or {}).get("loss_so_far")
    if not rr and not so_far:
        st.caption("No figure in money for this incident yet.")
        return
    cur = (rr or {}).get("currency") or (series or {}).get("currency", "USD")
    cols = st.columns(4)
    if so_far and so_far.get("lost_revenue") is not None:
        since = fmt.clock(so_far["since"], ui.tz())
        # The incident's own figure (the summary's, the API's, the CLI's) when the server keeps one; the
        # series gives the interval and draws the chart.
        revenue = _own(incident, "lost_revenue_so_far", so_far["lost_revenue"])
        orders = _own(incident, "lost_orders_so_far", so_far["lost_orders"])
        cols[0].metric(f"Lost so far since {since}", fmt.money(fmt.loss(revenue), cur))
        cols[0].caption(
            fmt.money_interval({"low": so_far["lost_revenue_low"], "high": so_far["lost_revenue_high"]}, cur)
            + f"; expected minus actual orders at the affected merchants from {since} to "
            f"{fmt.clock(so_far['until'], ui.tz())}, at the baseline order value"
        )
        cols[3].metric(f"Orders lost since {since}", fmt.count(fmt.loss(orders)))
        cols[3].caption(
            f"{fmt.count(max(so_far['lost_orders_low'], 0))} to {fmt.count(max(so_far['lost_orders_high'], 0))} "
            "(90% interval)"
        )
    if rr and incident.get("status") in ("recovering", "resolved"):
        # Nothing is being lost any more: no rate to project (as the summary says, in the past tense).
        since = fmt.clock(rr.get("onset"), ui.tz()) if rr.get("onset") else "the window start"
        back = incident.get("recovering_since")
        cols[1].metric("Per hour at the current rate", "within noise")
        cols[1].caption(
            (f"back to the expected orders since {fmt.clock(back, ui.tz())}; " if back else "")
            + f"the average from {since} was {fmt.money(fmt.loss(rr['lost_revenue_per_hour']['value']), cur)}"
        )
        cols[2].metric("Per day if it persists", "n/a")
        cols[2].caption(f"{incident['status']}: the loss does not persist")
    elif rr:
        since = fmt.clock(rr.get("onset"), ui.tz()) if rr.get("onset") else "the window start"
        per_hour = rr["lost_revenue_per_hour"]
        average = f"{fmt.money_interval(per_hour, cur)}; average since {since}"
        current = current_per_hour(incident)
        if current is not None:
            # The story's figure: the latest cycle's recent span, not the average since the onset.
            cols[1].metric("Per hour at the current rate", fmt.money(fmt.loss(current), cur))
            cols[1].caption(
                f"over the latest minutes the cycle measured; the average since {since} was "
                f"{fmt.money(fmt.loss(per_hour['value']), cur)} ({fmt.money_interval(per_hour, cur)})"
            )
        else:
            cols[1].metric(f"Per hour, average since {since}", fmt.money(fmt.loss(per_hour["value"]), cur))
            cols[1].caption(average)
        per_day = rr["lost_revenue_per_day"]
        cols[2].metric("Per day if it persists", fmt.money(fmt.loss(per_day["value"]), cur))
        cols[2].caption(f"{fmt.money_interval(per_day, cur)}. {fmt.per_day_basis(rr)}")


def current_per_hour(incident: dict[str, Any]) -> float | None:
    """Lost revenue per hour at the current rate (the latest cycle's recent span), when it was measured."""
    value = incident.get("current_lost_revenue_per_hour")
    return float(value) if isinstance(value, int | float) else None


def _own(incident: dict[str, Any], field: str, fallback: float) -> float:
    value = incident.get(field)
    return float(value) if isinstance(value, int | float) else float(fallback)


def verdicts(incident: dict[str, Any], life: dict[str, Any] | None) -> None:
    """What each executed action did to the loss rate (worked, partly worked, no effect)."""
    outcomes = (life or {}).get("outcomes") or []
    titles = {a["id"]: a["title"] for a in incident.get("actions") or []}
    executed = [
        a
        for a in incident.get("actions") or []
        if a["status"] == "succeeded" and a["id"] not in {v["action_id"] for v in outcomes}
    ]
    if not outcomes and not executed:
        return
    st.markdown("**Outcome of the actions taken**")
    for v in outcomes:
        st.markdown(
            f"- {titles.get(v['action_id'], v['key'])}: {fmt.verdict_text(v)}  \n  :gray[{v['detail']}]"
        )
    for a in executed:
        st.markdown(
            f"- {a['title']}: {fmt.chip('not judged yet', 'gray')} :gray[(judged after enough minutes of "
            "signals since it ran)]"
        )


def waiting(incident: dict[str, Any]) -> None:
    """Actions of the incident that wait for a person, and what waiting costs (the per-hour figure)."""
    pending = [a for a in incident.get("actions") or [] if a["status"] in ("proposed", "approved")]
    if not pending:
        return
    rr = report(incident)
    current = current_per_hour(incident)
    per_hour = current if current is not None else (rr["lost_revenue_per_hour"]["value"] if rr else None)
    basis = "at the current rate" if current is not None else "at the average rate since the onset"
    cost = (
        f" Every hour of waiting costs about {fmt.money(fmt.loss(per_hour), rr['currency'])} {basis}."
        if rr and per_hour is not None
        else ""
    )
    st.warning(f"{len(pending)} action(s) wait for a decision.{cost}", icon=":material/pending_actions:")
    st.page_link("views/actions.py", label="Decide on the Actions page", icon=":material/task_alt:")


def charts_for(incident: dict[str, Any], series: dict[str, Any] | None, life: dict[str, Any] | None) -> None:
    """The affected merchants against their expectation, and the loss from the onset, markers on both."""
    if not series or not series.get("points"):
        st.caption("No KPI metrics for the affected merchants in this window.")
        return
    marks = markers(incident, life)
    _, _, words = scope(incident)
    left, right = st.columns(2)
    left.plotly_chart(charts.incident_orders(series, marks, words, ui.tz()), width="stretch")
    right.plotly_chart(charts.loss_since_onset(series, marks, words, ui.tz()), width="stretch")


def card(incident: dict[str, Any]) -> None:
    """The whole incident card of the Overview."""
    life = lifecycle(incident["id"])
    series = loss_series(incident)
    header(incident, life=life)
    summary = (incident.get("assessment") or {}).get("summary")
    if summary:
        st.write(summary)
    money(incident, series)
    verdicts(incident, life)
    waiting(incident)
    charts_for(incident, series, life)
