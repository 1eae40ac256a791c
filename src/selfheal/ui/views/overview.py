"""Overview: what is wrong right now, what it costs, whether the actions taken worked, and how orders and
conversion compare with their expectation. Refreshes by itself (sidebar: *Refresh by itself*)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from selfheal.client import ApiError
from selfheal.ui import charts
from selfheal.ui import common as ui
from selfheal.ui import format as fmt
from selfheal.ui import incident as card

RECENT = timedelta(hours=24)  # resolved incidents stay on the overview this long after their last update


def _kpis() -> dict[str, Any] | None:
    try:
        obs: dict[str, Any] = ui.client().observe(window_minutes=ui.window(), as_of=ui.as_of())
    except ApiError as exc:
        ui.show_error(exc)
        return None
    k = obs["kpis"]
    span = fmt.minutes(obs["window_minutes"])
    st.caption(f"Window: {span} to {ui.when(obs['as_of'])} · {obs['merchants']} merchants")
    cols = st.columns(4)
    cols[0].metric(f"Checkout attempts ({span})", fmt.count(k["checkout_attempts"]))
    cols[1].metric(f"Orders ({span})", fmt.count(k["orders"]))
    cols[2].metric(f"Revenue ({span})", fmt.money(k["revenue"], str(st.session_state.get("currency", "USD"))))
    cols[3].metric("Checkout conversion", fmt.pct(k["checkout_success_rate"]))
    return obs


def _table(rows: list[dict[str, Any]], when_key: str) -> None:
    st.dataframe(
        [
            {
                "severity": i["severity"],
                "title": i["title"],
                "status": str(i["status"]).replace("_", " "),
                "category": i["category"],
                when_key: ui.when(i.get("updated_at" if when_key == "resolved" else "created_at")),
                "id": i["id"],
            }
            for i in rows
        ],
        hide_index=True,
        width="stretch",
    )


def _incidents() -> None:
    incidents = ui.call(lambda: ui.client().incidents(limit=100), "Incidents") or []
    reference = fmt.parse_time(ui.as_of()) or datetime.now(UTC)
    open_ones = [i for i in incidents if i.get("status") != "resolved"]
    recent = [
        i
        for i in incidents
        if i.get("status") == "resolved"
        and (moment := fmt.parse_time(i.get("updated_at"))) is not None
        and reference - RECENT <= moment
    ]
    st.subheader(f"Open incidents ({len(open_ones)})")
    if not open_ones:
        st.success("No open incidents. Run an agent cycle on the Run page to check the current window.")
    else:
        top = ui.call(lambda: ui.client().incident(open_ones[0]["id"]), "Incident")
        if top:
            st.session_state.setdefault("incident_id", top["id"])
            with st.container(border=True):
                card.card(top)
        if len(open_ones) > 1:
            st.markdown("**Also open**")
            _table(open_ones[1:], "opened")
    if recent:
        st.subheader(f"Resolved in the last 24 h ({len(recent)})")
        _table(recent, "resolved")


def _all_merchants() -> None:
    st.subheader("All merchants: orders and conversion against baseline")
    series = ui.call(
        lambda: ui.client().kpi_series(window_minutes=ui.window(), as_of=ui.as_of()), "KPI series"
    )
    if not series:
        return
    st.session_state["currency"] = series["currency"]
    if not series["points"]:
        st.info("No KPI metrics in this window. Is the simulator or your platform sending metrics?")
        return
    left, right = st.columns(2)
    left.plotly_chart(charts.orders_vs_expected(series, ui.tz()), width="stretch")
    right.plotly_chart(charts.conversion_vs_baseline(series, ui.tz()), width="stretch")
    st.caption(
        f"Expected orders = checkout attempts x baseline conversion {fmt.pct(series['baseline_success_rate'])} "
        f"(over the {fmt.minutes(series['baseline_minutes'])} before the window); average order value "
        f"{fmt.money(series['baseline_average_order_value'], series['currency'])}. An incident that hits a "
        "few merchants hardly moves these totals: its own chart above shows the affected merchants."
    )


def render() -> None:
    st.title("Overview")

    @st.fragment(run_every=ui.refresh_every())
    def live() -> None:
        ui.updated()
        if _kpis() is None:
            return
        _incidents()
        _all_merchants()

    live()


render()
