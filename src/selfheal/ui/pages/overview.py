"""Overview: what is wrong right now, what it costs, and how orders and conversion compare with baseline."""

from __future__ import annotations

from typing import Any

import streamlit as st

from selfheal.client import ApiError
from selfheal.ui import charts
from selfheal.ui import common as ui
from selfheal.ui import format as fmt


def _risk_report(incident: dict[str, Any]) -> None:
    assessment = incident.get("assessment") or {}
    report = assessment.get("risk_report")
    st.markdown(
        f"#### {fmt.severity_chip(incident['severity'])} {incident['title']}  \n"
        f"{fmt.status_chip(incident['status'])} · {incident['category']} · opened "
        f"{ui.when(incident.get('created_at'))} ({fmt.ago(incident.get('created_at'))})"
    )
    if assessment.get("summary"):
        st.write(assessment["summary"])
    if not report:
        st.caption("No risk report in money for this incident (the server's decide stage does not make one).")
        _waiting(incident["id"], None)
        return
    cur = report.get("currency", "USD")
    cols = st.columns(4)
    cols[0].metric(
        f"Revenue lost ({fmt.minutes(report['window_minutes'])})",
        fmt.money(report["lost_revenue"]["value"], cur),
        help=f"Range {fmt.estimate(report['lost_revenue'], 'money', cur)}",
    )
    cols[1].metric(
        "Revenue lost per hour",
        fmt.money(report["lost_revenue_per_hour"]["value"], cur),
        help=f"Range {fmt.estimate(report['lost_revenue_per_hour'], 'money', cur)}",
    )
    cols[2].metric(
        "Projected per day",
        fmt.money(report["lost_revenue_per_day"]["value"], cur),
        help=f"Range {fmt.estimate(report['lost_revenue_per_day'], 'money', cur)}",
    )
    cols[3].metric(
        "Orders lost",
        fmt.count(report["lost_orders"]["value"]),
        help=f"{fmt.count(report['actual_orders'])} orders vs {fmt.count(report['expected_orders'])} expected",
    )
    if report.get("text"):
        st.caption(report["text"])
    _waiting(incident["id"], fmt.money(report["lost_revenue_per_hour"]["value"], cur))


def _waiting(incident_id: str, per_hour: str | None) -> None:
    """Actions of the incident that wait for a person, and what waiting costs."""
    try:
        actions = ui.client().actions(incident=incident_id, status="proposed")
    except ApiError:
        return  # no actions capability on this server: nothing to wait for
    if actions:
        cost = f" Every hour of waiting costs about {per_hour}." if per_hour else ""
        st.warning(f"{len(actions)} action(s) wait for approval.{cost}", icon=":material/pending_actions:")
        st.page_link("pages/actions.py", label="Decide on the Actions page", icon=":material/task_alt:")


def render() -> None:
    st.title("Overview")
    client = ui.client()
    try:
        obs = client.observe(window_minutes=ui.window(), as_of=ui.as_of())
    except ApiError as exc:
        ui.show_error(exc)
        return
    k = obs["kpis"]
    span = fmt.minutes(obs["window_minutes"])
    st.caption(f"Window: {span} to {ui.when(obs['as_of'])} · {obs['merchants']} merchants")
    cols = st.columns(4)
    cols[0].metric(f"Checkout attempts ({span})", fmt.count(k["checkout_attempts"]))
    cols[1].metric(f"Orders ({span})", fmt.count(k["orders"]))
    cols[2].metric(f"Revenue ({span})", fmt.money(k["revenue"], str(st.session_state.get("currency", "USD"))))
    cols[3].metric("Checkout conversion", fmt.pct(k["checkout_success_rate"]))

    st.subheader("Open incidents")
    incidents = ui.call(lambda: client.incidents(limit=50), "Incidents") or []
    open_ones = [i for i in incidents if i.get("status") != "resolved"]
    if not open_ones:
        st.success("No open incidents. Run an agent cycle on the Run page to check the current window.")
    else:
        top = ui.call(lambda: client.incident(open_ones[0]["id"]), "Incident")
        if top:
            with st.container(border=True):
                _risk_report(top)
        if len(open_ones) > 1:
            st.dataframe(
                [
                    {
                        "severity": i["severity"],
                        "title": i["title"],
                        "status": i["status"],
                        "category": i["category"],
                        "opened": ui.when(i.get("created_at")),
                        "id": i["id"],
                    }
                    for i in open_ones
                ],
                hide_index=True,
                width="stretch",
            )

    st.subheader("Orders and conversion against baseline")
    series = ui.call(lambda: client.kpi_series(window_minutes=ui.window(), as_of=ui.as_of()), "KPI series")
    if series:
        st.session_state["currency"] = series["currency"]
        if not series["points"]:
            st.info("No KPI metrics in this window. Is the simulator or your platform sending metrics?")
            return
        left, right = st.columns(2)
        left.plotly_chart(charts.orders_vs_expected(series, ui.tz()), width="stretch")
        right.plotly_chart(charts.conversion_vs_baseline(series, ui.tz()), width="stretch")
        st.plotly_chart(charts.loss_accumulating(series, ui.tz()), width="stretch")
        last = series["points"][-1]
        st.caption(
            f"Expected orders = checkout attempts x baseline conversion {fmt.pct(series['baseline_success_rate'])} "
            f"(over the {fmt.minutes(series['baseline_minutes'])} before the window); average order value "
            f"{fmt.money(series['baseline_average_order_value'], series['currency'])}. Lost so far: "
            f"{fmt.count(last['lost_orders_cumulative'], 'orders')}, "
            f"{fmt.money(last['lost_revenue_cumulative'], series['currency'])}."
        )


render()
