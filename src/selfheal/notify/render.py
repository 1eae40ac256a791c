"""The bodies a notice is sent as: a Slack incoming-webhook message (Block Kit, with a `text` fallback) and
a PagerDuty Events API v2 event (without its `routing_key`, added at send time so no secret is stored).

Slack's documented limits are kept: header text <= 150 characters, section text <= 3000, field text
<= 2000, button text <= 75, at most 50 blocks and 10 fields per section."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from selfheal.decide.model import Estimate
from selfheal.decide.plan_model import Notice, NoticeEvent

HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
BUTTON_MAX = 75
BLOCKS_MAX = 50
PD_SUMMARY_MAX = 1024

PD_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
"""Our severity -> PagerDuty's (critical, error, warning, info)."""

_VERB = {
    NoticeEvent.opened: "Incident opened",
    NoticeEvent.escalated: "Incident escalated",
    NoticeEvent.waiting: "Actions waiting for approval",
    NoticeEvent.resolved: "Incident resolved",
}


def incident_url(ui_url: str, incident_id: str) -> str:
    """The UI page of the incident."""
    return f"{ui_url.rstrip('/')}/assessment?incident={quote(incident_id, safe='')}"


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def interval(estimate: Estimate, currency: str) -> str:
    return f"{money(estimate.value, currency)} (90% interval {estimate.low:,.0f}–{estimate.high:,.0f})"


def headline(notice: Notice) -> str:
    """`[SEVERITY] <what happened>: <title>`."""
    return f"[{notice.severity.upper()}] {_VERB[notice.event]}: {notice.title}"


def _money_lines(notice: Notice) -> list[str]:
    lines: list[str] = []
    if notice.lost_revenue is not None:
        window = f" in the last {notice.window_minutes} min" if notice.window_minutes else ""
        lines.append(f"*Lost{window}:* {interval(notice.lost_revenue, notice.currency)}")
    if notice.lost_revenue_per_hour is not None:
        lines.append(f"*At risk per hour:* {interval(notice.lost_revenue_per_hour, notice.currency)}")
    if notice.cost_of_waiting is not None:
        wait = notice.cost_of_waiting
        lines.append(
            f"*Cost of waiting:* {money(wait.lost_revenue_per_hour, wait.currency)} per hour while "
            f"{len(wait.actions_waiting)} action(s) wait for approval: " + ", ".join(wait.actions_waiting)
        )
    if notice.previous_severity is not None:
        lines.append(f"*Severity:* {notice.previous_severity} → {notice.severity}")
    return lines


def _merchant_lines(notice: Notice) -> list[str]:
    if not notice.merchants:
        return [f"*Merchants at risk:* {notice.merchants_total}"] if notice.merchants_total else []
    top = ", ".join(
        f"`{m.merchant_id}` ({m.stage}, {money(m.lost_revenue, notice.currency)})" for m in notice.merchants
    )
    more = notice.merchants_total - len(notice.merchants)
    return [f"*Top merchants:* {top}" + (f" and {more} more" if more > 0 else "")]


def slack_message(notice: Notice, incident_id: str, ui_url: str) -> dict[str, Any]:
    """A Slack incoming-webhook body for `notice` about `incident_id`."""
    url = incident_url(ui_url, incident_id)
    title = headline(notice)
    body = _money_lines(notice) + _merchant_lines(notice)
    stage = ", ".join(notice.stages) or "unknown"
    context = (
        f"Stage: {stage} · cause: {notice.category or 'unknown'} · incident `{incident_id}` · as of "
        + (notice.as_of.isoformat())
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, HEADER_MAX), "emoji": False}},
    ]
    if body:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": clip("\n".join(body), SECTION_MAX)}}
        )
    blocks += [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(context, SECTION_MAX)}]},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open incident"},
                    "url": url,
                    "action_id": "open_incident",
                }
            ],
        },
    ]
    fallback = f"{title} — {stage} — {url}"
    return {"text": clip(fallback, SECTION_MAX), "blocks": blocks[:BLOCKS_MAX]}


def pagerduty_event(notice: Notice, incident_id: str, ui_url: str) -> dict[str, Any]:
    """A PagerDuty Events API v2 event (without `routing_key`): `trigger` (or `resolve` when the incident
    resolved), deduplicated on the incident id."""
    url = incident_url(ui_url, incident_id)
    if notice.event == NoticeEvent.resolved:
        return {"event_action": "resolve", "dedup_key": incident_id}
    details: dict[str, Any] = {
        "event": notice.event.value,
        "incident_id": incident_id,
        "category": notice.category,
        "stages": list(notice.stages),
        "merchants_at_risk": notice.merchants_total,
        "top_merchants": [m.model_dump(mode="json") for m in notice.merchants],
        "currency": notice.currency,
    }
    if notice.lost_revenue is not None:
        details["lost_revenue"] = notice.lost_revenue.model_dump(mode="json")
        details["window_minutes"] = notice.window_minutes
    if notice.lost_revenue_per_hour is not None:
        details["lost_revenue_per_hour"] = notice.lost_revenue_per_hour.model_dump(mode="json")
    if notice.cost_of_waiting is not None:
        details["cost_of_waiting"] = notice.cost_of_waiting.model_dump(mode="json")
    if notice.previous_severity is not None:
        details["previous_severity"] = notice.previous_severity
    payload: dict[str, Any] = {
        "summary": clip(headline(notice), PD_SUMMARY_MAX),
        "source": "selfheal",
        "severity": PD_SEVERITY[notice.severity],
        "timestamp": notice.as_of.isoformat(),
        "custom_details": details,
    }
    if notice.stages:
        payload["component"] = ", ".join(notice.stages)
    if notice.category:
        payload["class"] = notice.category
    return {
        "event_action": "trigger",
        "dedup_key": incident_id,
        "payload": payload,
        "links": [{"href": url, "text": "Incident in selfheal"}],
        "client": "selfheal",
        "client_url": url,
    }


def render(kind: str, notice: Notice, incident_id: str, ui_url: str) -> dict[str, Any]:
    """The body for a receiver of `kind` (`slack` or `pagerduty`)."""
    if kind == "pagerduty":
        return pagerduty_event(notice, incident_id, ui_url)
    return slack_message(notice, incident_id, ui_url)
