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


Marker = tuple[str, str, str]
"""(moment as ISO 8601, label, colour) of a vertical line on an incident chart."""

MARKER_COLOR = {"onset": "#d62728", "fix": "#2ca02c", "recovering": "#1f77b4", "resolved": "#7f7f7f"}


def _local(frame: pd.DataFrame) -> pd.DataFrame:
    """Wall-clock times in the viewer's zone without an offset, so the markers line up with the points."""
    if not frame.empty:
        frame["ts"] = frame["ts"].dt.tz_localize(None)
    return frame


def _mark(fig: go.Figure, markers: list[Marker], tz: str, frame: pd.DataFrame) -> None:
    """A dotted vertical line and a label at the top for each marker (onset, fix, recovery) inside the
    series' time span; the x axis is pinned to that span (labels would otherwise stretch it)."""
    if frame.empty:
        return
    first, last = frame["ts"].min(), frame["ts"].max()
    middle = first + (last - first) / 2
    fig.update_xaxes(range=[first.isoformat(), last.isoformat()])
    for i, (at, label, color) in enumerate(markers):
        moment = fmt.parse_time(at)
        if moment is None:
            continue
        local = pd.Timestamp(moment.astimezone(fmt.zone(tz)).replace(tzinfo=None))
        if not first <= local <= last:
            continue
        x = local.isoformat()
        fig.add_shape(
            type="line",
            x0=x,
            x1=x,
            y0=0,
            y1=1,
            yref="paper",
            line={"color": color, "dash": "dot", "width": 2},
        )
        fig.add_annotation(
            x=x,
            y=1.0 - 0.1 * (i % 3),
            yref="paper",
            text=label,
            showarrow=False,
            xanchor="left" if local <= middle else "right",
            yanchor="top",
            font={"color": color, "size": 12},
            bgcolor="rgba(255,255,255,0.8)",
        )


def incident_orders(series: dict[str, Any], markers: list[Marker], scope: str, tz: str) -> go.Figure:
    """The affected merchants' orders per minute against their expectation and its 90 % band, with the
    incident's onset, fixes and recovery marked."""
    frame = _local(_frame(series["points"], tz))
    fig = go.Figure()
    if not frame.empty:
        if "expected_low" in frame and frame["expected_low"].notna().any():
            fig.add_scatter(
                x=frame["ts"],
                y=frame["expected_high"],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            )
            fig.add_scatter(
                x=frame["ts"],
                y=frame["expected_low"],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(127,127,127,0.2)",
                name="expected band (90%)",
                hoverinfo="skip",
            )
        if frame["expected_orders"].notna().any():
            fig.add_scatter(
                x=frame["ts"],
                y=frame["expected_orders"],
                name="expected",
                line={"color": "#7f7f7f", "dash": "dash"},
            )
        fig.add_scatter(x=frame["ts"], y=frame["orders"], name="orders", line={"color": "#1f77b4"})
    _mark(fig, markers, tz, frame)
    fig.update_layout(title=f"Orders per minute, {scope}, vs expected", yaxis_title="orders / min", **_LAYOUT)
    return fig


def loss_since_onset(series: dict[str, Any], markers: list[Marker], scope: str, tz: str) -> go.Figure:
    """Revenue lost from the onset on, with its 90 % interval, the same figures as the incident card."""
    frame = _local(_frame(series["points"], tz))
    currency = series.get("currency", "USD")
    fig = go.Figure()
    if not frame.empty and frame["lost_revenue_cumulative"].notna().any():
        counted = frame[frame["lost_revenue_cumulative"].notna()]
        if "lost_revenue_cumulative_high" in counted:
            fig.add_scatter(
                x=counted["ts"],
                y=counted["lost_revenue_cumulative_high"],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            )
            fig.add_scatter(
                x=counted["ts"],
                y=counted["lost_revenue_cumulative_low"],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(214,39,40,0.15)",
                name="90% interval",
                hoverinfo="skip",
            )
        fig.add_scatter(
            x=counted["ts"],
            y=counted["lost_revenue_cumulative"],
            name="revenue lost since the onset",
            line={"color": "#d62728"},
        )
    _mark(fig, markers, tz, frame)
    fig.update_layout(
        title=f"Revenue lost since the onset, {scope} ({currency})", yaxis_title=currency, **_LAYOUT
    )
    return fig
