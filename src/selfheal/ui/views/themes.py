"""Clusters: what customers are writing about, as readable themes."""

from __future__ import annotations

from typing import Any

import streamlit as st

from selfheal.ui import common as ui
from selfheal.ui import format as fmt

TREND = {
    "new": ("new", "violet"),
    "growing": ("growing ↑", "red"),
    "stable": ("stable", "gray"),
    "shrinking": ("shrinking ↓", "green"),
}


def _card(theme: dict[str, Any]) -> None:
    label, color = TREND.get(theme.get("trend", ""), (theme.get("trend", ""), "gray"))
    st.markdown(
        f"#### {theme['label']}\n{fmt.chip(fmt.count(theme['size'], 'ticket' if theme['size'] == 1 else 'tickets'), 'blue')} {fmt.chip(label, color)}"
    )
    terms = theme.get("top_terms") or []
    if terms:
        st.markdown("**Top terms:** " + " · ".join(f"`{t}`" for t in terms[:8]))
    merchants = theme.get("merchants") or []
    stages = theme.get("stages") or []
    st.markdown(
        f"**Stages:** {', '.join(stages) or 'n/a'}  \n"
        f"**Merchants ({len(merchants)}):** {', '.join(merchants[:8])}{' …' if len(merchants) > 8 else ''}"
    )
    if theme.get("anomaly_ids"):
        st.caption(f"Seen together with {len(theme['anomaly_ids'])} anomalies in this window.")
    for ticket in (theme.get("representatives") or [])[:3]:
        body = ticket["body"]
        st.markdown(f"> **{ticket['subject']}**  \n> {body[:240]}{'…' if len(body) > 240 else ''}")


def _groups(view: dict[str, Any]) -> None:
    """The coarse level: one row per group, its themes named."""
    groups = view.get("groups") or []
    if not groups:
        return
    names = {t["id"]: t["label"] for t in view.get("themes") or []}
    st.subheader(f"Groups ({len(groups)})")
    rows = [
        {
            "group": g["label"],
            "tickets": g["size"],
            "trend": TREND.get(g.get("trend", ""), (g.get("trend", ""), ""))[0],
            "themes": " · ".join(names.get(t, t) for t in g.get("theme_ids") or []),
            "merchants": len(g.get("merchants") or []),
        }
        for g in groups
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def _floods(view: dict[str, Any]) -> None:
    for flood in view.get("floods") or []:
        st.warning(
            f"Flood: {fmt.count(flood['size'], 'tickets')} with the same text from "
            f"{len(flood.get('merchants') or [])} merchants, kept out of the themes: {flood['text'][:200]!r}"
        )


def render() -> None:
    st.title("Themes")
    view = ui.call(lambda: ui.client().themes(window_minutes=ui.window(), as_of=ui.as_of()), "Ticket themes")
    if view is None:
        return
    model = view.get("embedding_model") or "none"
    dense = (
        "dense sentence embeddings"
        if view.get("dense_enabled") and view.get("dense_available")
        else "TF-IDF fallback"
    )
    st.caption(
        f"{fmt.count(view['tickets'], 'tickets')} in {fmt.minutes(view['window_minutes'])} to {ui.when(view['as_of'])}"
        f" · {fmt.count(view['unassigned_tickets'])} unassigned · embedding: {model} ({dense})"
    )
    _floods(view)
    themes = view.get("themes") or []
    if not themes:
        st.success("No ticket themes in this window.")
        return
    _groups(view)
    st.subheader(f"Themes ({len(themes)})")
    order = {"growing": 0, "new": 1, "stable": 2, "shrinking": 3}
    themes = sorted(themes, key=lambda t: (order.get(t.get("trend", ""), 4), -t["size"]))
    cols = st.columns(2)
    for i, theme in enumerate(themes):
        with cols[i % 2].container(border=True):
            _card(theme)
    ui.raw_json("Raw themes (JSON)", view)


render()
