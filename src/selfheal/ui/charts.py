"""Plotly figures: KPIs against baseline, the loss accumulating, a series with its anomaly marked."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from selfheal.ui import format as fmt

_LAYOUT: dict[str, Any] = {
    "height": 280,
    "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
    "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
    "hovermode": "x unified",
}


def _frame(points: list[dict[str, Any]], tz: str) -> pd.DataFrame:
    frame = pd.DataFrame(points)
    if not frame.empty:
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_convert(str(fmt.zone(tz)))
    return frame


def orders_vs_expected(series: dict[str, Any], tz: str) -> go.Figure:
    frame = _frame(series["points"], tz)
    fig = go.Figure()
    if not frame.empty:
        fig.add_scatter(x=frame["ts"], y=frame["orders"], name="orders", line={"color": "#1f77b4"})
        if frame["expected_orders"].notna().any():
            fig.add_scatter(
                x=frame["ts"],
                y=frame["expected_orders"],
                name="expected (baseline)",
                line={"color": "#7f7f7f", "dash": "dash"},
            )
    fig.update_layout(title="Orders per minute vs baseline", yaxis_title="orders / min", **_LAYOUT)
    return fig


def conversion_vs_baseline(series: dict[str, Any], tz: str) -> go.Figure:
    frame = _frame(series["points"], tz)
    fig = go.Figure()
    if not frame.empty:
        fig.add_scatter(
            x=frame["ts"],
            y=frame["success_rate"] * 100,
            name="checkout conversion",
            line={"color": "#2ca02c"},
        )
    base = series.get("baseline_success_rate")
    if base is not None:
        fig.add_hline(
            y=base * 100,
            line={"color": "#7f7f7f", "dash": "dash"},
            annotation_text=f"baseline {fmt.pct(base)}",
            annotation_position="bottom right",
        )
    fig.update_layout(title="Checkout conversion (orders / attempts)", yaxis_title="%", **_LAYOUT)
    return fig


def loss_accumulating(series: dict[str, Any], tz: str) -> go.Figure:
    frame = _frame(series["points"], tz)
    currency = series.get("currency", "USD")
    fig = go.Figure()
    if not frame.empty and frame["lost_revenue_cumulative"].notna().any():
        fig.add_scatter(
            x=frame["ts"],
            y=frame["lost_revenue_cumulative"],
            name="revenue lost so far",
            fill="tozeroy",
            line={"color": "#d62728"},
        )
    fig.update_layout(title=f"Revenue lost so far ({currency})", yaxis_title=currency, **_LAYOUT)
    return fig


def anomaly_chart(
    anomaly: dict[str, Any], points: list[dict[str, Any]], y: str, y_label: str, tz: str
) -> go.Figure:
    """The series with the expected band and level, the onset and the observed value marked.

    Rates are drawn in percent."""
    scale = 100.0 if y_label == "%" else 1.0
    frame = _frame(points, tz)
    fig = go.Figure()
    low, high = anomaly.get("expected_low"), anomaly.get("expected_high")
    if not frame.empty:
        x0, x1 = frame["ts"].min(), frame["ts"].max()
        if high is not None and low is None:
            low = 0.0  # one-sided band: anything up to `expected_high` is normal
        if low is not None and high is not None:
            fig.add_scatter(
                x=[x0, x1, x1, x0],
                y=[low * scale, low * scale, high * scale, high * scale],
                fill="toself",
                mode="lines",
                fillcolor="rgba(127,127,127,0.18)",
                line={"width": 0},
                name="expected band",
                hoverinfo="skip",
            )
        fig.add_scatter(
            x=[x0, x1],
            y=[anomaly["expected"] * scale] * 2,
            mode="lines",
            name="expected",
            line={"color": "#7f7f7f", "dash": "dash"},
        )
        fig.add_scatter(x=frame["ts"], y=frame[y] * scale, name="observed", line={"color": "#1f77b4"})
    onset = fmt.parse_time(anomaly["onset"])
    if onset is not None:
        local = onset.astimezone(fmt.zone(tz))
        fig.add_vline(x=local.timestamp() * 1000, line={"color": "#d62728", "dash": "dot"})
        fig.add_scatter(
            x=[local],
            y=[anomaly["observed"] * scale],
            mode="markers",
            marker={"color": "#d62728", "size": 12, "symbol": "x"},
            name=f"anomaly ({anomaly['severity']})",
        )
    fig.update_layout(title=anomaly["series"], yaxis_title=y_label, **_LAYOUT)
    return fig
