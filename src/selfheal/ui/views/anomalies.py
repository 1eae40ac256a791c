"""Anomalies of the window: severity and kind at a glance, filters, and each series charted with its band."""

from __future__ import annotations

from typing import Any

import streamlit as st

from selfheal.ui import charts
from selfheal.ui import common as ui
from selfheal.ui import format as fmt

SEVERITIES = ("critical", "high", "medium", "low")
KINDS = ("hard", "soft", "business")
_KPI_COLUMN = {"orders": "orders", "checkout_attempts": "checkout_attempts", "revenue": "revenue"}


def _value(anomaly: dict[str, Any], value: float | None) -> str:
    if value is None:
        return "n/a"
    return (
        fmt.pct(value, 2) if "rate" in anomaly["metric"] or "share" in anomaly["metric"] else fmt.count(value)
    )


def series_for(anomaly: dict[str, Any]) -> tuple[str, dict[str, Any], str, str] | None:
    """Which per-minute series to chart for an anomaly: (series, its filters, column, unit), or None.

    The series is "errors" (GET /series/errors) or "kpis" (GET /series/kpis)."""
    metric: str = anomaly["metric"]
    dims = anomaly.get("dimensions") or {}
    stages = dims.get("stages") or []
    stage = stages[0] if len(stages) == 1 else None
    if metric == "error_rate":
        codes = dims.get("status_codes") or []
        return (
            "errors",
            {
                "source": (dims.get("sources") or [None])[0],
                "endpoint": (dims.get("endpoints") or [None])[0],
                "status_class": codes[0] if len(codes) == 1 and codes[0] in ("4xx", "5xx") else None,
            },
            "error_rate",
            "%",
        )
    if metric == "error_share_per_minute":
        return "errors", {}, "error_rate", "%"
    if metric == "checkout_failure_rate":
        return "kpis", {"stage": stage}, "failure_rate", "%"
    base = metric.removesuffix("_per_minute")
    if metric.endswith("_per_minute") and base in _KPI_COLUMN:
        return "kpis", {"stage": stage}, _KPI_COLUMN[base], f"{base.replace('_', ' ')} / min"
    return None


def _chart(anomaly: dict[str, Any]) -> None:
    spec = series_for(anomaly)
    if spec is None:
        st.caption(
            f"{anomaly['series']} is measured over the whole window: observed {_value(anomaly, anomaly['observed'])}"
            f" vs expected {_value(anomaly, anomaly['expected'])}; no per-minute chart for it."
        )
        return
    series, query, column, unit = spec
    api = ui.client()
    fetch = api.error_series if series == "errors" else api.kpi_series
    data = ui.call(lambda: fetch(window_minutes=ui.window(), as_of=ui.as_of(), **query), "Series")
    if not data:
        return
    points = data["points"]
    if column == "failure_rate":
        points = [
            {**p, "failure_rate": 1 - p["success_rate"] if p["success_rate"] is not None else None}
            for p in points
        ]
    if not points:
        st.info("No data points for this series in the window.")
        return
    st.plotly_chart(charts.anomaly_chart(anomaly, points, column, unit, ui.tz()), width="stretch")


def _row(anomaly: dict[str, Any]) -> str:
    dims = anomaly.get("dimensions") or {}
    where = []
    for label, key in (("stages", "stages"), ("merchants", "merchants"), ("status", "status_codes")):
        values = dims.get(key) or []
        if values:
            shown = ", ".join(values[:4]) + (f" +{len(values) - 4}" if len(values) > 4 else "")
            where.append(f"{label}: {shown}")
    return (
        f"{fmt.severity_chip(anomaly['severity'])} {fmt.kind_chip(anomaly['kind'])} **{anomaly['series']}**  \n"
        f"observed **{_value(anomaly, anomaly['observed'])}** vs expected {_value(anomaly, anomaly['expected'])}"
        f" · since {ui.when(anomaly['onset'])} · score {anomaly['score']:.2f}"
        + (f"  \n{' · '.join(where)}" if where else "")
    )


def render() -> None:
    st.title("Anomalies")
    st.caption(f"Window: {fmt.minutes(ui.window())} to {ui.when(ui.as_of()) if ui.as_of() else 'now'}")
    anomalies = ui.call(
        lambda: ui.client().anomalies(window_minutes=ui.window(), as_of=ui.as_of()), "Anomalies"
    )
    if anomalies is None:
        return
    if not anomalies:
        st.success("No anomalies in this window.")
        return
    c1, c2, c3 = st.columns([2, 2, 3])
    severities = c1.multiselect("Severity", SEVERITIES, default=list(SEVERITIES), key="anomaly_severity")
    kinds = c2.multiselect("Kind", KINDS, default=list(KINDS), key="anomaly_kind")
    text = c3.text_input("Series contains", key="anomaly_text").strip().lower()
    shown = [
        a
        for a in anomalies
        if a["severity"] in severities and a["kind"] in kinds and (not text or text in a["series"].lower())
    ]
    counts = {s: sum(1 for a in anomalies if a["severity"] == s) for s in SEVERITIES}
    st.markdown(
        " ".join(f"{fmt.severity_chip(s)} {n}" for s, n in counts.items() if n)
        + f" · showing {len(shown)} of {len(anomalies)}"
    )
    if not shown:
        st.info("No anomaly matches these filters.")
        return
    choice = st.radio(
        "Anomaly",
        range(len(shown)),
        format_func=lambda i: f"{shown[i]['severity'].upper()} · {shown[i]['series']}",
        key="anomaly_choice",
        label_visibility="collapsed",
    )
    for i, anomaly in enumerate(shown):
        with st.container(border=True):
            st.markdown(_row(anomaly))
            if i == choice:
                _chart(anomaly)
                st.caption(f"{anomaly['method']}. {anomaly.get('detail', '')}")
                ui.raw_json("Raw anomaly (JSON)", anomaly)


render()
