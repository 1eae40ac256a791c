"""Assessment: the agent's decision on one incident, with everything it rests on."""

from __future__ import annotations

from typing import Any

import streamlit as st

from selfheal.ui import common as ui
from selfheal.ui import format as fmt
from selfheal.ui import incident as card

EVIDENCE_ICON = {
    "anomaly": ":material/show_chart:",
    "soft_failure": ":material/credit_card_off:",
    "theme": ":material/forum:",
    "runbook": ":material/menu_book:",
    "metric": ":material/monitoring:",
    "alert": ":material/notifications_active:",
}


def _sources(findings: dict[str, Any]) -> dict[str, str]:
    """Evidence source id -> where it comes from, in words."""
    out: dict[str, str] = {}
    for a in findings.get("anomalies", []):
        out[a["id"]] = f"anomaly: {a['series']} ({a['severity']}, since {ui.when(a['onset'])})"
    for t in findings.get("themes", []):
        out[t["id"]] = f"ticket cluster: {t['label']} ({t['size']} tickets)"
    for p in findings.get("runbook_context", []):
        page = f", page {p['page']}" if p.get("page") else ""
        out[p["chunk_id"]] = f"runbook: {p['document']} § {p['section']}{page}"
    for g in findings.get("soft_failures", []):
        out[f"{g['merchant_id']}/{g['migration_stage']}"] = (
            f"payments without order: {g['merchant_id']} ({g['migration_stage']}), {g['missing_orders']} of "
            f"{g['payments']} successful payments in the window ({fmt.pct(g.get('rate'))})"
        )
    return out


def _root_cause(a: dict[str, Any]) -> None:
    rc = a["root_cause"]
    st.subheader("Root cause")
    c1, c2 = st.columns([3, 1])
    c1.markdown(f"**{rc['hypothesis']}**  \ncategory `{rc['category']}`")
    if rc.get("explanation"):
        c1.write(rc["explanation"])
    c2.metric("Confidence", fmt.pct(rc["confidence"], 0))
    c2.progress(float(rc["confidence"]))
    alternatives = a.get("alternatives") or []
    if alternatives:
        st.markdown("**Alternatives considered**")
        st.dataframe(
            [
                {
                    "hypothesis": x["hypothesis"],
                    "category": x["category"],
                    "confidence": fmt.pct(x["confidence"], 0),
                }
                for x in alternatives
            ],
            hide_index=True,
            width="stretch",
        )


def _evidence(a: dict[str, Any], findings: dict[str, Any]) -> None:
    evidence = a.get("evidence") or []
    st.subheader(f"Evidence ({len(evidence)})")
    if not evidence:
        st.caption("No evidence items.")
    sources = _sources(findings)
    for item in evidence:
        icon = EVIDENCE_ICON.get(item["kind"], ":material/circle:")
        source = sources.get(item["source_id"], f"{item['kind']} `{item['source_id']}`")
        supports = f" · supports `{item['supports']}`" if item.get("supports") else ""
        st.markdown(f"{icon} {item['text']}  \n:gray[source: {source}{supports}]")


def _blast_radius(a: dict[str, Any], currency: str) -> None:
    br = a.get("blast_radius") or {}
    merchants = br.get("merchants") or []
    st.subheader("Blast radius")
    c1, c2, c3 = st.columns(3)
    c1.metric("Stages", ", ".join(br.get("stages") or []) or "n/a")
    c2.metric(
        "Merchants at risk",
        len(merchants),
        help="Merchants in scope that took fewer orders than expected since the onset (the agent leaves "
        "out those above their expectation; the assumptions name them)",
    )
    c3.metric("Share of traffic", fmt.pct(br.get("traffic_share")))
    if merchants:
        st.dataframe(
            [
                {
                    "merchant": m["merchant_id"],
                    "stage": m["migration_stage"],
                    "expected orders": fmt.count(m["expected_orders"]),
                    "actual orders": fmt.count(m["actual_orders"]),
                    "lost orders": _loss_range(m["lost_orders"]),
                    "lost revenue": _loss_range(m["lost_revenue"], currency),
                    "traffic share": fmt.pct(m["traffic_share"]),
                }
                for m in merchants
            ],
            hide_index=True,
            width="stretch",
        )


def _loss_range(est: dict[str, Any], currency: str | None = None) -> str:
    """`12 (8 to 16)` or `$1,200 ($900 to $1,500)`; a negative estimate is no loss."""
    if est["value"] <= 0:
        return "none"

    def one(v: float) -> str:
        v = max(v, 0.0)
        return fmt.money(v, currency) if currency else fmt.count(v)

    return f"{one(est['value'])} ({one(est['low'])} to {one(est['high'])})"


def _risk(incident: dict[str, Any], life: dict[str, Any] | None) -> str:
    a = incident.get("assessment") or {}
    report = a.get("risk_report")
    series = card.loss_series(incident)
    st.subheader("Business impact")
    card.money(incident, series)
    if report and report.get("text"):
        with st.expander("How the agent computed it (the window of its latest cycle)"):
            st.write(report["text"])
    card.verdicts(incident, life)
    card.charts_for(incident, series, life)
    cur: str = (report or {}).get("currency", "USD")
    return cur


def _runbook_context(findings: dict[str, Any]) -> None:
    passages = findings.get("runbook_context") or []
    st.subheader(f"Runbook context ({len(passages)})")
    if findings.get("retrieval_query"):
        st.caption(f"Query: {findings['retrieval_query']}")
    if not passages:
        st.caption("No runbook passages were retrieved (the knowledge base may be empty).")
    for p in passages:
        page = f", page {p['page']}" if p.get("page") else ""
        with st.expander(
            f":material/menu_book: {p['document']} § {p['section']}{page} · score {p['score']:.3f}"
        ):
            st.write(p["text"])


PICKER_KEY = "assessment_incident"


def _picked() -> None:
    """Keep the picked incident across refreshes and in the link (`?incident=`), so a refresh that brings
    a new incident into the list does not jump back to the one the page was opened with."""
    choice = st.session_state.get(PICKER_KEY)
    if choice:
        st.session_state["incident_id"] = choice
        st.query_params["incident"] = choice


def _choose_incident() -> str | None:
    """The incident picker: the one the link (`?incident=<id>`, as notifications send) or the session asked
    for (e.g. from the overview), else the newest. Drawn inside the live fragment, so new incidents appear
    in it as they open."""
    incidents = ui.call(lambda: ui.client().incidents(limit=50), "Incidents")
    if incidents is None:
        return None
    if not incidents:
        st.info("No incidents yet. Run an agent cycle on the Run page.")
        return None
    ids = [i["id"] for i in incidents]
    wanted = st.query_params.get("incident") or st.session_state.get("incident_id")
    labels = {
        x["id"]: f"{x['severity'].upper()} · {x['title']} · {x['status']} · {ui.when(x.get('created_at'))}"
        for x in incidents
    }
    choice: str = st.selectbox(
        "Incident",
        ids,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda i: labels.get(i, i),
        key=PICKER_KEY,
        on_change=_picked,
    )
    return choice


def _header(incident: dict[str, Any], a: dict[str, Any], life: dict[str, Any] | None) -> None:
    card.header(incident, level=2, life=life)
    st.caption(f"`{incident['id']}` · window of the latest cycle: {fmt.minutes(incident['window_minutes'])}")
    if a.get("summary"):
        st.info(a["summary"])
    if a.get("narrative_note") or a.get("narrative_source") not in (None, "deterministic"):
        st.caption(f"Narrative: {a.get('narrative_source')} {a.get('narrative_note') or ''}")


def _assumptions_and_uncertainties(a: dict[str, Any]) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Assumptions")
        for x in a.get("assumptions") or ["None recorded."]:
            st.markdown(f"- {x}")
    with right:
        st.subheader("Uncertainties")
        for x in a.get("uncertainties") or ["None recorded."]:
            st.markdown(f"- {x}")


def _actions_and_timeline(a: dict[str, Any], incident: dict[str, Any], life: dict[str, Any] | None) -> None:
    if a.get("actions"):
        st.subheader("Proposed actions")
        stored = {x["key"]: x for x in incident.get("actions") or []}
        verdicts = {v["action_id"]: v for v in (life or {}).get("outcomes") or []}
        for act in a["actions"]:
            now = stored.get(act["key"])
            status = fmt.status_chip(now["status"]) if now else fmt.chip("not stored", "gray")
            verdict = verdicts.get(now["id"]) if now else None
            outcome = f" · {fmt.verdict_text(verdict)}" if verdict else ""
            st.markdown(
                f"- {status} {fmt.risk_chip(act['risk'])} **{act['title']}**: {act['description']}{outcome}"
            )
        pending = [x for x in stored.values() if x["status"] in ("proposed", "approved")]
        if pending:
            label = f"Decide on the {len(pending)} waiting on the Actions page"
        else:
            label = "All of them ran or were decided: see their results on the Actions page"
        st.page_link("views/actions.py", label=label, icon=":material/task_alt:")
    timeline = incident.get("timeline") or []
    if timeline:
        with st.expander(f"Timeline ({len(timeline)} entries)"):
            st.json(timeline, expanded=False)


def render() -> None:
    st.title("Assessment")

    @st.fragment(run_every=ui.refresh_every())
    def live() -> None:
        choice = _choose_incident()
        if choice is not None:
            _incident(choice)

    live()


def _incident(choice: str) -> None:
    ui.updated()
    incident = ui.call(lambda: ui.client().incident(choice), "Incident")
    if incident is None:
        return
    a = incident.get("assessment") or {}
    findings = incident.get("findings") or {}
    life = card.lifecycle(incident["id"])
    _header(incident, a, life)
    if not a:
        ui.raw_json("Raw incident (JSON)", incident)
        return
    currency = _risk(incident, life)
    _root_cause(a)
    _evidence(a, findings)
    _assumptions_and_uncertainties(a)
    _blast_radius(a, currency)
    _runbook_context(findings)
    _actions_and_timeline(a, incident, life)
    ui.raw_json("Raw incident (JSON)", incident)


render()
