"""selfheal UI (Streamlit). Run with `selfheal ui`; it talks to the API over HTTP only."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from selfheal.ui.client import ApiClient, ApiError

st.set_page_config(page_title="selfheal", page_icon="🩺", layout="wide")


def client() -> ApiClient:
    if "client" not in st.session_state:
        st.session_state["client"] = ApiClient()
    api: ApiClient = st.session_state["client"]
    return api


def show_error(exc: ApiError) -> None:
    st.error(exc.message)
    if exc.hint:
        st.caption(exc.hint)


def overview() -> None:
    st.title("Overview")
    try:
        health = client().get("/health")
        obs = client().get("/observe", window_minutes=60)
        incidents = client().get("/incidents", limit=20)
    except ApiError as exc:
        show_error(exc)
        return
    k = obs["kpis"]
    cols = st.columns(4)
    cols[0].metric("Checkout attempts (60 min)", f"{k['checkout_attempts']:,}")
    cols[1].metric("Orders (60 min)", f"{k['orders']:,}")
    cols[2].metric("Revenue (60 min)", f"${k['revenue']:,.2f}")
    rate = k["checkout_success_rate"]
    cols[3].metric("Checkout success", f"{rate:.1%}" if rate is not None else "n/a")
    if obs["series"]:
        frame = pd.DataFrame(obs["series"])
        frame["ts"] = pd.to_datetime(frame["ts"])
        fig = go.Figure()
        fig.add_scatter(x=frame["ts"], y=frame["checkout_attempts"], name="checkout attempts")
        fig.add_scatter(x=frame["ts"], y=frame["orders"], name="orders")
        fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Per minute")
        st.plotly_chart(fig, use_container_width=True)
    st.subheader("Incidents")
    if not incidents:
        st.info("No incidents yet. Run an agent cycle on the Run page.")
    for inc in incidents:
        st.markdown(
            f"**{inc['title']}** · `{inc['severity']}` · {inc['status']} · {inc['category']} · `{inc['id']}`"
        )
    st.caption(
        f"API {client().base_url} · database {health['database']['backend']} · version {health['version']}"
    )


def run() -> None:
    st.title("Run")
    window = st.number_input("Window (minutes)", min_value=5, max_value=1440, value=60, step=5)
    as_of_text = st.text_input("As of (ISO 8601, empty = now)", "")
    use_llm = st.toggle("Use LLM narrative", value=False)
    as_of = as_of_text.strip() or None
    c1, c2 = st.columns(2)
    if c1.button("Observe"):
        try:
            obs = client().get("/observe", window_minutes=int(window), as_of=as_of)
            st.json(obs["counts"])
            st.dataframe(pd.DataFrame(obs["error_rates"]))
        except ApiError as exc:
            show_error(exc)
    if c2.button("Run agent cycle", type="primary"):
        with st.spinner("Running observe → reason → decide → act ..."):
            try:
                result = client().post(
                    "/run_cycle", {"as_of": as_of, "window_minutes": int(window), "use_llm": use_llm}
                )
            except ApiError as exc:
                show_error(exc)
                return
        if result["assessment"]:
            st.success(f"Incident {result['outcome']['incident_id']}: {result['assessment']['title']}")
            st.write(result["assessment"]["summary"])
        else:
            st.info("No incident: nothing abnormal in this window.")
        st.caption(f"cycle {result['cycle_id']} at {datetime.now(UTC):%H:%M:%S} UTC")


pages = [st.Page(overview, title="Overview", default=True), st.Page(run, title="Run")]
st.navigation(pages).run()
