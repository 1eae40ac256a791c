"""End to end in a real headless chromium: API and UI on temp ports over simulated data; run a cycle,
look at every page, approve an action, and save screenshots (docs/screenshots/ with SELFHEAL_SCREENSHOTS=docs).

Debian's chromium at /usr/bin/chromium, driven by Playwright (never a browser download). Without it the test
skips and says so; CI sets SELFHEAL_REQUIRE_BROWSER=1 to fail instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from tests.ui.live import (
    ADMIN_KEY,
    APPROVER_KEY,
    CHROMIUM,
    CHROMIUM_ARGS,
    END,
    OPERATOR_KEY,
    REPO,
    LiveApi,
    require_browser,
    seed_database,
    serve_ui,
    start_api,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """An API of its own (not shared with the AppTest tests), so the browser sees only its own actions."""
    require_browser()
    folder = tmp_path_factory.mktemp("browser-db")
    api = start_api(seed_database(folder / "selfheal.db"), folder)
    yield api
    api.stop()


@pytest.fixture(scope="module")
def ui_url(browser_api: LiveApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("ui-log") / "streamlit.log"
    with serve_ui(browser_api.url, OPERATOR_KEY, log) as url:
        yield url


def _shots_dir(tmp_path: Path) -> Path:
    target = os.environ.get("SELFHEAL_SCREENSHOTS")
    path = (REPO / "docs" / "screenshots") if target == "docs" else Path(target) if target else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_cycle_then_approve_in_a_real_browser(ui_url: str, browser_api: LiveApi, tmp_path: Path) -> None:
    """An operator runs a cycle and reads every page; an approver approves and executes the action."""
    live_api = browser_api
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    shots = _shots_dir(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1300}, timezone_id="Europe/Berlin")
        page = context.new_page()
        page.set_default_timeout(60_000)

        def settle() -> None:
            page.wait_for_timeout(300)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=90_000)
            page.wait_for_timeout(700)

        def goto(title: str) -> None:
            page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
            settle()

        def shot(name: str) -> None:
            """The whole page: the window grows to the height of the scrolling main area for the shot."""
            page.mouse.move(5, 1200)  # no hover tooltip over the page
            height = page.evaluate(
                "() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 1300"
            )
            page.set_viewport_size({"width": 1440, "height": min(max(int(height), 1300), 6000)})
            page.wait_for_timeout(800)
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            page.set_viewport_size({"width": 1440, "height": 1300})

        page.goto(ui_url)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        settle()
        as_of = page.get_by_label("As of", exact=True)
        as_of.fill(END.isoformat())
        as_of.press("Enter")
        settle()
        expect(page.get_by_text("Signed in as otto")).to_be_visible()

        has_runbooks = _has_route(live_api, "/runbooks/upload")
        if has_runbooks:  # the runbook the cycle will cite
            httpx.post(f"{live_api.url}/runbooks/clear", headers={"x-api-key": ADMIN_KEY}, timeout=60)
            runbook = tmp_path / "webhook-delivery.md"
            runbook.write_text(RUNBOOK)
            goto("Runbooks")
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(runbook))
            page.wait_for_timeout(1000)
            page.get_by_role("button", name="Add to knowledge base").click()
            settle()
            expect(page.get_by_text("Uploaded 1 file(s).")).to_be_visible()

        # Two earlier cycles: the incident opens 30 minutes before END and the policy runs its low-risk
        # actions; 15 minutes before END a cycle sees them executed. The cycle run below judges them.
        for minutes_before in (30, 15):
            httpx.post(
                f"{live_api.url}/run_cycle",
                json={"as_of": (END - timedelta(minutes=minutes_before)).isoformat(), "window_minutes": 60},
                headers={"x-api-key": OPERATOR_KEY},
                timeout=300,
            ).raise_for_status()

        goto("Run")
        page.get_by_role("button", name="Run agent cycle").click()
        expect(page.get_by_text("Cycle done in")).to_be_visible(timeout=120_000)
        settle()
        expect(page.get_by_text("orders lost").first).to_be_visible()
        shot("run")
        incident_id = _latest_incident(live_api)
        waiting = httpx.get(
            f"{live_api.url}/actions",
            params={"incident": incident_id, "status": "proposed"},
            headers={"x-api-key": ADMIN_KEY},
            timeout=30,
        ).json()
        assert waiting, "the cycle should have proposed an action that needs approval"

        goto("Overview")
        # the incident's stage and its loss from the onset, then all merchants (orders, conversion)
        expect(page.locator(".js-plotly-plot")).to_have_count(4)
        incident_chart = page.locator(".js-plotly-plot").first
        expect(incident_chart.locator(".annotation-text", has_text="onset")).to_have_count(1)
        expect(incident_chart.locator(".annotation-text", has_text="fix: ").first).to_be_visible()
        expect(page.get_by_text("Outcome of the actions taken")).to_be_visible()
        expect(page.get_by_text(re.compile(r"(worked|no effect)")).first).to_be_visible()
        expect(page.get_by_text(re.compile(r"^Lost so far since \d\d:\d\d$"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"Updated .* refreshes every 30 s"))).to_be_visible()
        page.wait_for_timeout(1000)
        shot("overview")

        goto("Assessment")
        expect(page.get_by_role("heading", name="Root cause")).to_be_visible()
        expect(page.get_by_text("Per day if it persists")).to_be_visible()
        page.wait_for_timeout(1000)
        shot("assessment")

        if has_runbooks:
            expect(page.get_by_text("webhook-delivery.md").first).to_be_visible()
        for title in ("Anomalies", "Themes", "Runbooks"):
            goto(title)
            expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
            page.wait_for_timeout(500)
            shot(title.lower())

        goto("Audit")
        page.get_by_role("button", name="Verify the chain").click()
        settle()
        expect(page.get_by_text("The audit chain is intact")).to_be_visible()
        shot("audit")

        goto("Actions")
        expect(page.get_by_text("Your role is operator; this needs approver").first).to_be_visible()
        expect(page.get_by_role("button", name="Approve").first).to_be_disabled()
        shot("actions_operator")

        page.get_by_test_id("stSidebar").get_by_text("Connection").click()
        key = page.get_by_role("textbox", name="API key")
        key.fill(APPROVER_KEY)
        key.press("Enter")
        settle()
        expect(page.get_by_text("Signed in as alice")).to_be_visible()
        page.get_by_label("Comment (kept with the action and in the audit)").first.fill(
            "approved in the e2e test"
        )
        page.get_by_label("Comment (kept with the action and in the audit)").first.press("Enter")
        settle()
        page.get_by_role("button", name="Approve").first.click()
        settle()
        expect(page.get_by_text("now approved")).to_be_visible()
        page.get_by_role("button", name="Execute").first.click()
        settle()
        expect(page.get_by_text("now succeeded")).to_be_visible()
        expect(page.get_by_text("Outcome:").first).to_be_visible()
        expect(page.get_by_text(re.compile(r"lost orders per hour .* before")).first).to_be_visible()
        shot("actions")
        context.close()
        browser.close()

    actions = httpx.get(
        f"{live_api.url}/actions",
        params={"incident": incident_id},
        headers={"x-api-key": ADMIN_KEY},
        timeout=30,
    ).json()
    done = [a for a in actions if a["status"] == "succeeded" and a["executed_by"] == "alice"]
    assert done
    assert any(c["text"] == "approved in the e2e test" for c in done[0]["comments"])


RUNBOOK = """# Webhook delivery failures

## Symptoms
Payments succeed but `POST /webhooks/order-created` answers 403; order.created is missing and orders drop
while checkout attempts hold.

## Fix
1. Rotate the webhook signing secret and re-share it with the affected merchants.
2. Replay the failed webhooks for the affected orders.
3. Notify the merchants whose orders were delayed.
"""


def _has_route(live_api: LiveApi, path: str) -> bool:
    spec = httpx.get(f"{live_api.url}/openapi.json", timeout=30).json()
    return path in spec["paths"]


def _latest_incident(live_api: LiveApi) -> str:
    rows = httpx.get(
        f"{live_api.url}/incidents", params={"limit": 1}, headers={"x-api-key": ADMIN_KEY}, timeout=30
    )
    rows.raise_for_status()
    return str(rows.json()[0]["id"])
