"""The message bodies: Slack Block Kit within Slack's documented limits, PagerDuty Events API v2 shape."""

from __future__ import annotations

import pytest
from notifykit import notice

from selfheal.decide.plan_model import NoticeEvent, NoticeMerchant
from selfheal.notify.render import PD_SEVERITY, pagerduty_event, slack_message

UI = "http://selfheal.example:8501/"
INC = "inc-1234abcd"


def _check_slack_limits(message: dict) -> None:
    """Slack's documented limits: https://docs.slack.dev/reference/block-kit/blocks"""
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    assert message["text"] and len(message["text"]) <= 3000
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element["url"]) <= 3000


@pytest.mark.parametrize("event", list(NoticeEvent))
def test_slack_message_carries_title_money_merchants_stage_and_link(event: NoticeEvent) -> None:
    message = slack_message(notice(event), INC, UI)
    _check_slack_limits(message)
    header = message["blocks"][0]
    assert header["type"] == "header"
    assert "Order webhooks failing at wave_1 merchants" in header["text"]["text"]
    assert header["text"]["text"].startswith("[CRITICAL]")
    section = next(b for b in message["blocks"] if b["type"] == "section")["text"]["text"]
    assert "4,200 EUR (90% interval 3,100–5,600)" in section
    assert "2,100 EUR" in section
    assert "`m-007` (wave_1, 1,250 EUR)" in section and "and 7 more" in section
    context = next(b for b in message["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert "Stage: wave_1" in context
    button = next(b for b in message["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["url"] == "http://selfheal.example:8501/assessment?incident=inc-1234abcd"
    assert button["url"] in message["text"]
    if event == NoticeEvent.waiting:
        assert "Cost of waiting:* 2,100 EUR per hour" in section and "rollback_stage" in section


def test_slack_limits_hold_for_huge_inputs() -> None:
    big = notice(
        title="x" * 5000,
        stages=tuple(f"stage_{i}" for i in range(400)),
        merchants=tuple(
            NoticeMerchant(merchant_id="m" * 300, stage="s" * 100, lost_revenue=1e9) for _ in range(5)
        ),
        merchants_total=10_000,
    )
    big = big.model_copy(update={"cost_of_waiting": notice(NoticeEvent.waiting).cost_of_waiting})
    message = slack_message(big, "inc-" + "9" * 60, UI)
    _check_slack_limits(message)
    assert message["blocks"][0]["text"]["text"].endswith("…")


@pytest.mark.parametrize(("ours", "theirs"), sorted(PD_SEVERITY.items()))
def test_pagerduty_trigger_shape_and_severity(ours: str, theirs: str) -> None:
    event = pagerduty_event(notice(severity=ours), INC, UI)
    assert "routing_key" not in event  # added at send time: no secret in the outbox
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == INC
    payload = event["payload"]
    assert payload["severity"] == theirs
    assert theirs in ("critical", "error", "warning", "info")
    assert payload["source"] == "selfheal"
    assert payload["timestamp"] == "2026-03-02T10:30:00+00:00"
    assert 0 < len(payload["summary"]) <= 1024
    assert payload["custom_details"]["lost_revenue"] == {"value": 4200.0, "low": 3100.0, "high": 5600.0}
    assert payload["custom_details"]["top_merchants"][0]["merchant_id"] == "m-007"
    assert event["links"] == [
        {
            "href": "http://selfheal.example:8501/assessment?incident=inc-1234abcd",
            "text": "Incident in selfheal",
        }
    ]


def test_pagerduty_resolve_and_escalation() -> None:
    assert pagerduty_event(notice(NoticeEvent.resolved), INC, UI) == {
        "event_action": "resolve",
        "dedup_key": INC,
    }
    escalated = pagerduty_event(notice(NoticeEvent.escalated, previous_severity="medium"), INC, UI)
    assert escalated["event_action"] == "trigger"
    assert escalated["payload"]["custom_details"]["previous_severity"] == "medium"
    assert len(pagerduty_event(notice(title="y" * 5000), INC, UI)["payload"]["summary"]) == 1024
