"""Every page through Streamlit's AppTest, against the live test API over real HTTP."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from tests.ui.live import (
    ADMIN_KEY,
    APPROVER_KEY,
    END,
    OPERATOR_KEY,
    VIEWER_KEY,
    LiveApi,
    ensure_action,
    free_port,
)

from selfheal.ui import format as fmt

APP = str(Path(__file__).resolve().parents[2] / "src" / "selfheal" / "ui" / "app.py")
TIMEOUT = 120

AppFactory = Callable[..., AppTest]


@pytest.fixture(scope="module")
def incident_id(live_api: LiveApi) -> str:
    """Agent cycles over the simulated fault, run by the operator, its incident id: 30 minutes before END
    (the incident opens, low-risk actions run by policy), 15 minutes before (the cycle sees them executed)
    and at END (their outcome is judged after 15 minutes of signals)."""
    for minutes_before in (30, 15, 0):
        answer = httpx.post(
            f"{live_api.url}/run_cycle",
            json={"as_of": (END - timedelta(minutes=minutes_before)).isoformat(), "window_minutes": 60},
            headers={"x-api-key": OPERATOR_KEY},
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
    incident = answer.json()["outcome"]["incident_id"]
    assert incident, "the simulated webhook fault should open an incident"
    waiting = httpx.get(
        f"{live_api.url}/actions",
        params={"incident": incident, "status": "proposed"},
        headers={"x-api-key": OPERATOR_KEY},
        timeout=TIMEOUT,
    ).json()
    assert waiting, "the cycles should propose an action that waits for approval"
    return str(incident)


@pytest.fixture
def open_page(live_api: LiveApi) -> AppFactory:
    """An AppTest on `page` (e.g. "run"), connected to the live API with `key`, window ending at END."""

    def make(page: str, key: str | None = ADMIN_KEY, api_url: str | None = None, **state: Any) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["api_url"] = live_api.url if api_url is None else api_url
        if key is not None:
            at.session_state["api_key"] = key
        at.session_state["as_of"] = END.isoformat()
        at.session_state["tz"] = "Europe/Berlin"
        for name, value in state.items():
            at.session_state[name] = value
        at.run()
        if page != "overview":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        bugs = [str(e.value) for e in at.error if "unexpected error" in str(e.value)]
        assert not bugs, bugs
        return at

    return make


def _values(data: Any) -> list[float]:
    """A Plotly array as numbers: plain JSON or the typed form ({"dtype", "bdata"})."""
    if isinstance(data, dict):
        return [float(x) for x in np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])]
    return [float(x) for x in data]


def has_route(live_api: LiveApi, path: str) -> bool:
    spec = httpx.get(f"{live_api.url}/openapi.json", timeout=30).json()
    return path in spec["paths"]


def texts(at: AppTest) -> str:
    """Everything a person reads on the page, as one string."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "success",
        "error",
        "warning",
    ):
        parts.extend(str(e.value) for e in at.get(kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    return "\n".join(parts)


def test_overview_shows_kpis_open_incident_and_charts(open_page: AppFactory, incident_id: str) -> None:
    at = open_page("overview")
    page = texts(at)
    assert "Orders (1 h)" in page
    assert "$" in next(m.value for m in at.metric if m.label.startswith("Revenue"))
    assert "orders lost" in page  # the open incident
    assert "CET" in page  # times in the viewer's zone, not UTC
    assert "Updated " in page and "refreshes every 30 s" in page
    # the incident's merchants at risk on its stage against their expectation, their loss from the onset,
    # then all merchants
    assert len(at.get("plotly_chart")) == 4
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [f["layout"]["title"]["text"] for f in figures]
    assert re.fullmatch(
        r"Orders per minute, \d+ merchant\(s\) at risk at stage wave_1, vs expected", titles[0]
    )
    assert re.match(r"Revenue lost since the onset, \d+ merchant\(s\) at risk at stage wave_1", titles[1])
    labels = {a["text"] for a in figures[0]["layout"]["annotations"]}
    assert "onset" in labels
    assert any(label.startswith("fix: ") for label in labels)  # the actions the policy ran
    assert {t["name"] for t in figures[0]["data"] if t.get("name")} >= {
        "orders",
        "expected",
        "expected band (90%)",
    }


def test_overview_money_has_one_source_and_says_its_basis(
    open_page: AppFactory, live_api: LiveApi, incident_id: str
) -> None:
    at = open_page("overview")
    metrics = {m.label: m.value for m in at.metric}
    lost = next(label for label in metrics if label.startswith("Lost so far since "))
    assert "Per day if it persists" in metrics
    incident = httpx.get(
        f"{live_api.url}/incidents/{incident_id}", headers={"x-api-key": ADMIN_KEY}, timeout=30
    ).json()
    report = incident["assessment"]["risk_report"]
    current = incident["current_lost_revenue_per_hour"]
    if current is not None:
        # The card's current rate is the story's: the latest cycle's recent span, not the average since the onset.
        assert metrics["Per hour at the current rate"] == fmt.money(max(current, 0))
        if "at the current rate" in (incident["story"] or ""):
            assert f"USD {max(current, 0):,.0f} per hour" in incident["story"]
    else:
        average = next(label for label in metrics if label.startswith("Per hour, average since "))
        assert metrics[average] == fmt.money(max(report["lost_revenue_per_hour"]["value"], 0))
    # The card shows the incident's own loss so far (the summary's and the API's figure) ...
    assert metrics[lost] == f"${incident['lost_revenue_so_far']:,.0f}"
    assert f"USD {incident['lost_revenue_so_far']:,.0f}" in incident["assessment"]["summary"]
    # ... and the chart draws the same loss: the merchants at risk from the onset, one estimator
    merchants = [m["merchant_id"] for m in incident["assessment"]["blast_radius"]["merchants"]]
    series = httpx.get(
        f"{live_api.url}/series/kpis",
        params={
            "as_of": END.isoformat(),
            "window_minutes": 65,
            "stage": "wave_1",
            "merchant": merchants,
            "since": report["onset"],
        },
        headers={"x-api-key": ADMIN_KEY},
        timeout=30,
    ).json()
    drawn = series["loss_so_far"]["lost_revenue"]
    counted = [x for x in incident["assessment"]["assumptions"] if "counted from the failed requests" in x]
    if counted:
        # #14: a loss that shows as failed requests is costed from them; the chart draws expected minus actual
        # orders, which the assessment states beside it and which agrees within its noise.
        stated = re.search(r"expected minus actual orders \(([\d,]+)\)", counted[0])
        assert stated is not None
        assert abs(series["loss_so_far"]["lost_orders"] - float(stated.group(1).replace(",", ""))) <= 0.5
        assert report["lost_revenue"]["low"] <= drawn <= report["lost_revenue"]["high"]
    else:
        assert abs(drawn - incident["lost_revenue_so_far"]) < 2.0
    chart = json.loads(at.get("plotly_chart")[1].proto.spec)
    line = _values(next(t for t in chart["data"] if t.get("name") == "revenue lost since the onset")["y"])
    assert abs(line[-1] - drawn) < 2.0
    assert min(line) > -50  # counted from the onset: no negative loss from the quiet minutes before
    page = texts(at)
    assert "x the hourly figure" in page  # the day's projection explains itself
    assert "90% interval" in page


def test_overview_shows_verdicts_of_the_actions_taken(open_page: AppFactory, incident_id: str) -> None:
    page = texts(open_page("overview"))
    assert "Outcome of the actions taken" in page
    assert "lost orders per hour" in page
    assert any(v in page for v in ("worked]", "partly worked]", "no effect]"))


def test_overview_says_what_waits_for_approval(
    open_page: AppFactory, live_api: LiveApi, incident_id: str
) -> None:
    latest = httpx.get(
        f"{live_api.url}/incidents", params={"limit": 1}, headers={"x-api-key": ADMIN_KEY}, timeout=30
    ).json()[0]["id"]  # the incident the overview shows
    ensure_action(live_api.database_url, live_api.url, latest, key="page_on_call_owner")
    at = open_page("overview")
    waits = [str(w.value) for w in at.warning if "wait for a decision" in str(w.value)]
    assert waits and "Every hour of waiting costs about $" in waits[0]


def test_address_and_key_from_the_environment(
    open_page: AppFactory, live_api: LiveApi, incident_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Empty sidebar fields use SELFHEAL_API_URL / SELFHEAL_API_KEY, and the page's calls share one client."""
    monkeypatch.setenv("SELFHEAL_API_URL", live_api.url)
    monkeypatch.setenv("SELFHEAL_API_KEY", OPERATOR_KEY)
    at = open_page("overview", key=None, api_url="")
    assert len(at.get("plotly_chart")) == 4
    assert "Signed in as **otto**" in texts(at)


def test_run_observe_and_cycle(open_page: AppFactory) -> None:
    at = open_page("run", key=OPERATOR_KEY)
    at.button[0].click().run()  # Observe
    assert not at.exception
    assert any("Error rates by endpoint" in str(m.value) for m in at.markdown)
    table = at.dataframe[0].value
    assert "POST /webhooks/order-created" in set(table["endpoint"])
    run = next(b for b in at.button if b.label == "Run agent cycle")
    assert not run.disabled
    run.click().run()
    page = texts(at)
    assert "orders lost" in page
    assert "Incident" in page
    assert "opened" in page or "updated" in page  # a cycle over the same fault updates the open incident
    assert at.session_state["incident_id"].startswith("inc-")


def test_run_is_disabled_for_a_viewer_with_the_reason(open_page: AppFactory) -> None:
    at = open_page("run", key=VIEWER_KEY)
    run = next(b for b in at.button if b.label == "Run agent cycle")
    assert run.disabled
    assert "Your role is viewer; this needs operator" in texts(at)


def test_anomalies_page(open_page: AppFactory, live_api: LiveApi, incident_id: str) -> None:
    at = open_page("anomalies")
    page = texts(at)
    if not has_route(live_api, "/anomalies"):
        assert "this capability is not available on this server" in page
        return
    assert "Anomalies" in page
    if at.radio:
        assert at.get("plotly_chart") or "no per-minute chart" in page
        at.multiselect(key="anomaly_severity").set_value([]).run()
        assert "No anomaly matches these filters." in texts(at)


def test_themes_page(open_page: AppFactory, live_api: LiveApi) -> None:
    at = open_page("themes")
    page = texts(at)
    if not has_route(live_api, "/themes"):
        assert "this capability is not available on this server" in page
        return
    assert "tickets in 1 h" in page
    assert "embedding:" in page


def test_assessment_page(open_page: AppFactory, incident_id: str) -> None:
    at = open_page("assessment", incident_id=incident_id)
    page = texts(at)
    assert at.selectbox[0].value == incident_id
    for heading in ("Root cause", "Assumptions", "Uncertainties", "Blast radius", "Runbook context"):
        assert heading in page
    assert "Evidence (" in page
    assert "payments without order" in page  # evidence resolved to its source
    assert any(e.label.startswith("Raw incident") for e in at.expander)
    assert "Updated " in page


def test_assessment_money_verdicts_and_action_status(
    open_page: AppFactory, live_api: LiveApi, incident_id: str
) -> None:
    at = open_page("assessment", incident_id=incident_id)
    page = texts(at)
    metrics = {m.label: m.value for m in at.metric}
    # money: each figure whole (the interval wraps below it), labelled with its basis
    per_hour = next(label for label in metrics if label.startswith("Per hour"))
    for label in (per_hour, "Per day if it persists"):
        assert metrics[label].startswith("$") and "(" not in metrics[label]
    assert any(label.startswith("Lost so far since ") for label in metrics)
    assert "90% interval" in page
    # evidence: rates as percentages, never raw fractions
    assert "% vs expected" in page
    assert not re.search(r"\b0\.\d+ vs expected", page)
    # proposed actions show what became of them, with the verdict of those that ran
    proposed = [
        str(m.value) for m in at.markdown if "risk]" in str(m.value) and str(m.value).startswith("- ")
    ]
    assert any(":green-badge[succeeded]" in x for x in proposed)
    assert any(":orange-badge[proposed]" in x for x in proposed)
    assert any("lost orders per hour" in x for x in proposed)
    assert "Outcome of the actions taken" in page
    incident = httpx.get(
        f"{live_api.url}/incidents/{incident_id}", headers={"x-api-key": ADMIN_KEY}, timeout=30
    ).json()
    waiting = [a for a in incident["actions"] if a["status"] in ("proposed", "approved")]
    links = [str(link.proto.label) for link in at.get("page_link")]
    assert f"Decide on the {len(waiting)} waiting on the Actions page" in links
    # merchants at risk: only those that lost orders, decided by the agent (the API and the page agree)
    at_risk = incident["assessment"]["blast_radius"]["merchants"]
    assert at_risk and all(m["lost_orders"]["value"] > 0 for m in at_risk)
    assert metrics["Merchants at risk"] == str(len(at_risk))
    # the affected stage charted with the incident's markers
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any("onset" in {a["text"] for a in f["layout"].get("annotations", [])} for f in figures)


RUNBOOK = b"""# Webhook delivery failures

## Symptoms
Payments succeed but order.created webhooks fail with 403; orders are missing in the admin.

## Fix
Rotate the webhook signing secret and re-share it with the merchant, then replay the failed webhooks.
"""


def test_runbooks_page(open_page: AppFactory, live_api: LiveApi) -> None:
    viewer = open_page("runbooks", key=VIEWER_KEY)
    page = texts(viewer)
    if not has_route(live_api, "/runbooks/stats"):
        assert "this capability is not available on this server" in page
        assert "How to fix it" in page
        return
    assert "Upload is disabled: Your role is viewer" in page
    headers = {"x-api-key": ADMIN_KEY}
    httpx.post(f"{live_api.url}/runbooks/clear", headers=headers, timeout=60).raise_for_status()
    httpx.post(
        f"{live_api.url}/runbooks/upload",
        files=[("files", ("webhooks.md", RUNBOOK, "text/markdown"))],
        headers=headers,
        timeout=120,
    ).raise_for_status()

    at = open_page("runbooks", key=ADMIN_KEY)
    assert next(m.value for m in at.metric if m.label == "Documents") == "1"
    assert any("webhooks.md" in str(m.value) for m in at.markdown)
    at.text_input(key="kb_query").set_value("rotate the signing secret").run()
    assert "Webhook delivery failures" in texts(at)  # the hit names its document and section
    assert "Fix" in texts(at)
    delete = next(b for b in at.button if b.label == "Delete")
    delete.click().run()
    assert "Deleted webhooks.md" in texts(at)
    assert next(m.value for m in at.metric if m.label == "Documents") == "0"

    httpx.post(
        f"{live_api.url}/runbooks/upload",
        files=[("files", ("webhooks.md", RUNBOOK, "text/markdown"))],
        headers=headers,
        timeout=120,
    ).raise_for_status()
    at = open_page("runbooks", key=ADMIN_KEY)
    clear = next(b for b in at.button if b.label == "Clear knowledge base")
    assert clear.disabled  # not before the confirmation
    at.checkbox(key="kb_clear_sure").check().run()
    next(b for b in at.button if b.label == "Clear knowledge base").click().run()
    assert "The knowledge base is empty." in texts(at)
    assert next(m.value for m in at.metric if m.label == "Documents") == "0"


def test_actions_approve_then_execute(open_page: AppFactory, live_api: LiveApi, incident_id: str) -> None:
    ensure_action(_db_url(live_api), live_api.url, incident_id)
    viewer = open_page("actions", key=VIEWER_KEY)
    assert "Waiting for a decision" in texts(viewer)
    approve = next(b for b in viewer.button if b.label == "Approve")
    assert approve.disabled
    assert "Your role is viewer; this needs approver" in texts(viewer)

    at = open_page("actions", key=APPROVER_KEY)
    action_id = next(b.key for b in at.button if b.label == "Approve").removeprefix("approve_")
    at.text_input(key=f"comment_{action_id}").set_value("webhooks look safe to replay")
    next(b for b in at.button if b.key == f"approve_{action_id}").click().run()
    assert "now approved" in texts(at)
    next(b for b in at.button if b.key == f"execute_{action_id}").click().run()
    assert "now succeeded" in texts(at)
    action = httpx.get(
        f"{live_api.url}/actions/{action_id}", headers={"x-api-key": ADMIN_KEY}, timeout=30
    ).json()
    assert action["status"] == "succeeded"
    assert any(c["text"] == "webhooks look safe to replay" for c in action["comments"])
    assert "Executed by alice" in texts(at)
    assert "not judged yet" in texts(at)  # just ran: its outcome needs minutes of signals first


def test_actions_page_shows_verdicts(open_page: AppFactory, incident_id: str) -> None:
    """The actions the policy ran 30 minutes before END were judged at END."""
    at = open_page("actions", key=VIEWER_KEY)
    outcomes = [str(m.value) for m in at.markdown if str(m.value).startswith("**Outcome:**")]
    judged = [x for x in outcomes if "lost orders per hour" in x]
    assert judged, outcomes
    assert any(word in judged[0] for word in ("worked]", "partly worked]", "no effect]"))
    assert "Updated " in texts(at)


def test_actions_conflict_is_a_message_not_a_trace(
    open_page: AppFactory, live_api: LiveApi, incident_id: str
) -> None:
    ensure_action(_db_url(live_api), live_api.url, incident_id, key="notify_affected_merchants")
    at = open_page("actions", key=APPROVER_KEY)
    key = next(b.key for b in at.button if b.label == "Approve")
    action_id = key.removeprefix("approve_")
    # Someone else rejects it meanwhile; our approve then meets a 409.
    httpx.post(
        f"{live_api.url}/reject_action",
        json={"action_id": action_id, "comment": "not now"},
        headers={"x-api-key": ADMIN_KEY},
        timeout=30,
    ).raise_for_status()
    next(b for b in at.button if b.key == key).click().run()
    assert not at.exception
    assert any("already rejected" in str(e.value) for e in at.error)
    assert "reload the page" in texts(at)


def test_audit_page_filters_and_verifies(open_page: AppFactory, incident_id: str) -> None:
    at = open_page("audit")
    assert at.dataframe, "the audit trail has records (ingest, cycle, incident)"
    next(b for b in at.button if b.label == "Verify the chain").click().run()
    assert "The audit chain is intact" in texts(at)
    at.text_input(key="audit_action").set_value("incident.").run()
    actions = set(at.dataframe[0].value["action"])
    assert actions and all(a.startswith("incident.") for a in actions)


def test_unreachable_api_says_how_to_fix_it(open_page: AppFactory) -> None:
    port = free_port()  # nothing listens here
    for page in ("overview", "anomalies", "actions", "audit"):
        at = open_page(page, api_url=f"http://127.0.0.1:{port}")
        page_text = texts(at)
        assert "cannot be reached" in page_text
        assert "selfheal api" in page_text


def test_bad_key_says_how_to_fix_it(open_page: AppFactory) -> None:
    at = open_page("overview", key="shk_wrong")
    page = texts(at)
    assert "unknown or revoked API key" in page.lower() or "Unknown or revoked API key" in page
    assert "selfheal keys create" in page


def _db_url(live_api: LiveApi) -> str:
    return str(live_api.database_url)


def test_actions_page_shows_notifications_and_failures(
    open_page: AppFactory, database_url: str, incident_id: str
) -> None:
    from selfheal.records import dt_to_ms, utcnow
    from selfheal.store import Store, notify_repo

    store = Store.open(database_url, migrate=False)
    now = dt_to_ms(utcnow())
    try:
        with store.transaction() as conn:
            for receiver, status, error in (
                ("ops-slack", "delivered", None),
                ("oncall", "failed", "HTTP 400: invalid routing key"),
            ):
                row_id = notify_repo.new_id()
                notify_repo.enqueue(
                    conn,
                    {
                        "id": row_id,
                        "receiver": receiver,
                        "kind": "slack" if receiver == "ops-slack" else "pagerduty",
                        "event": "opened",
                        "incident_id": incident_id,
                        "notice_key": "opened",
                        "payload": {},
                        "created_ms": now,
                        "updated_ms": now,
                        "next_attempt_ms": now,
                    },
                )
                token = "t-" + row_id
                notify_repo.claim_due(conn, now, token, 60_000, 10)
                notify_repo.finish(
                    conn, row_id, token, {"status": status, "last_error": error, "last_status": 400}
                )
    finally:
        store.dispose()
    at = open_page("actions")
    page = texts(at)
    assert "Notifications" in page
    assert "1 notification(s) could not be delivered: oncall: HTTP 400: invalid routing key" in page
    table = next(d.value for d in at.dataframe if "receiver" in d.value.columns)
    assert set(table["receiver"]) >= {"ops-slack", "oncall"}
    assert set(table["status"]) >= {"delivered", "failed"}


def test_stage_series_values_the_loss_as_the_risk_report_does(live_api: LiveApi, incident_id: str) -> None:
    """From the onset to the cycle's as_of, the merchants at risk's accumulated loss is the risk report's
    measured loss (each merchant's baseline conversion and order value, since the onset): the card's figure, or,
    when the card counts the loss from failed requests, the expected-minus-actual figure it states beside it."""
    headers = {"x-api-key": ADMIN_KEY}
    incident = httpx.get(f"{live_api.url}/incidents/{incident_id}", headers=headers, timeout=30).json()
    report = incident["assessment"]["risk_report"]
    merchants = [m["merchant_id"] for m in incident["assessment"]["blast_radius"]["merchants"]]
    series = httpx.get(
        f"{live_api.url}/series/kpis",
        params={
            "as_of": END.isoformat(),
            "window_minutes": 60,
            "merchant": merchants,
            "since": report["onset"],
        },
        headers=headers,
        timeout=30,
    ).json()
    so_far = series["loss_so_far"]
    counted = [x for x in incident["assessment"]["assumptions"] if "counted from the failed requests" in x]
    if counted:
        # #14: a loss that shows as failed requests is costed from them on the card; the chart keeps expected
        # minus actual orders, and the card states that figure (within its noise of the counted one).
        stated = re.search(r"expected minus actual orders \(([\d,]+)\)", counted[0])
        assert stated is not None
        assert abs(so_far["lost_orders"] - float(stated.group(1).replace(",", ""))) <= 0.5
    else:
        assert abs(so_far["lost_orders"] - report["lost_orders"]["value"]) < 0.05
        assert abs(so_far["lost_revenue"] - report["lost_revenue"]["value"]) < 1.0
    assert so_far["lost_revenue_low"] < so_far["lost_revenue"] < so_far["lost_revenue_high"]


def test_series_rejects_since_after_the_window(live_api: LiveApi) -> None:
    answer = httpx.get(
        f"{live_api.url}/series/kpis",
        params={"as_of": END.isoformat(), "since": (END + timedelta(minutes=5)).isoformat()},
        headers={"x-api-key": ADMIN_KEY},
        timeout=30,
    )
    assert answer.status_code in (400, 422)
    assert "since" in answer.text


def test_overview_keeps_incidents_resolved_in_the_last_24_hours(
    open_page: AppFactory, live_api: LiveApi, incident_id: str
) -> None:
    """Resolved 2 h before the window's end: listed; resolved 3 days before: not."""
    from selfheal.records import dt_to_ms
    from selfheal.store import Store, incidents_repo

    store = Store.open(live_api.database_url)
    try:
        with store.transaction() as conn:
            for title, ago in (("Recently fixed checkout errors", 2), ("Old fixed checkout errors", 72)):
                at = dt_to_ms(END - timedelta(hours=ago))
                incidents_repo.insert_incident(
                    conn,
                    {
                        "created_ms": at - 3_600_000,
                        "updated_ms": at,
                        "as_of_ms": at,
                        "window_minutes": 60,
                        "status": "resolved",
                        "severity": "high",
                        "category": "checkout_errors",
                        "title": title,
                        "assessment": {},
                        "findings": {},
                        "observation": {},
                        "timeline": [],
                    },
                )
    finally:
        store.dispose()
    at = open_page("overview")
    assert "Resolved in the last 24 h (1)" in texts(at)
    resolved = at.dataframe[-1].value
    assert list(resolved["title"]) == ["Recently fixed checkout errors"]
    assert "Old fixed checkout errors" not in texts(at)
