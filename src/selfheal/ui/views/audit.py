"""Audit: who did what and when, filterable, with a check that nothing was edited or deleted."""

from __future__ import annotations

from datetime import UTC, datetime, time

import streamlit as st

from selfheal.ui import common as ui
from selfheal.ui import format as fmt


def _verify() -> None:
    report = ui.call(lambda: ui.client().audit_verify(), "Verify")
    if report is None:
        return
    if report["ok"]:
        st.success(
            f"The audit chain is intact: {fmt.count(report['records'], 'records')} verified.",
            icon=":material/verified_user:",
        )
    else:
        st.error(
            f"The audit chain is broken at record {report['first_bad_seq']}: {report['reason']}. "
            "A record was edited or deleted.",
            icon=":material/gpp_bad:",
        )


def render() -> None:
    st.title("Audit trail")
    if st.button("Verify the chain", help="Recompute every record's hash and check the links"):
        _verify()
    c1, c2, c3, c4 = st.columns(4)
    actor = c1.text_input("Actor", key="audit_actor").strip() or None
    action = c2.text_input("Action starts with", key="audit_action", placeholder="action.").strip() or None
    target = c3.text_input("Target id", key="audit_target").strip() or None
    since_day = c4.date_input("Since", value=None, key="audit_since")
    since = None
    if since_day:
        local = datetime.combine(since_day, time.min, tzinfo=fmt.zone(ui.tz()))
        since = local.astimezone(UTC).isoformat()
    rows = ui.call(
        lambda: ui.client().audit(actor=actor, action=action, target_id=target, since=since, limit=500),
        "Audit",
    )
    if rows is None:
        return
    if not rows:
        st.info("No audit records match these filters.")
        return
    st.caption(f"{len(rows)} records, newest first (times in {ui.tz()})")
    st.dataframe(
        [
            {
                "#": r["seq"],
                "when": ui.when(r["at"], seconds=True),
                "actor": r["actor"],
                "action": r["action"],
                "target": f"{r['target_type']} {r['target_id'] or ''}".strip(),
                "change": _change(r),
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )
    ui.raw_json("Raw audit records (JSON)", rows)


def _change(record: dict[str, object]) -> str:
    before = record.get("before") or {}
    after = record.get("after") or {}
    if isinstance(before, dict) and isinstance(after, dict):
        if "status" in after and before.get("status") != after.get("status"):
            return f"{before.get('status', '—')} → {after['status']}"
        keys = [k for k in after if before.get(k) != after.get(k)]
        return ", ".join(f"{k}={after[k]}" for k in keys[:3] if not isinstance(after[k], (dict, list)))[:120]
    return ""


render()
