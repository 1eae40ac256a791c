"""The demo story end to end in a real headless chromium, in simulated time, without a reload.

A closed-mode API on SQLite with the starter runbooks (loaded by `selfheal runbooks starter` against the API),
seven hours of history with a webhook_403 fault on stage wave_1 at its end, then the demo's own live feed
(`selfheal.cli.demo.LiveFeed`) posting minute by minute through the API and running a cycle every 5 simulated
minutes. The simulated clock runs alongside the wall clock, so the action executed from the CLI (at the wall
clock) lands where the simulated fault is: the feed ends the fault once that action's simulated effect heals
it, as the demo does.

The Assessment page of the incident is opened once and refreshes by itself (SELFHEAL_UI_REFRESH_SECONDS=2):
it must cite the 403 runbook (not the 500 one), then show the incident `recovering` within 2 cycles of the fix
with the fixing action's verdict, then `resolved` within the configured resolve cycles. The fix lands between
two cycles (2-3 minutes after the last one, mid-minute), not on a cycle's boundary.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tests.ui.live import (
    ADMIN_KEY,
    APPROVER_KEY,
    CHROMIUM,
    CHROMIUM_ARGS,
    OPERATOR_KEY,
    REPO,
    LiveApi,
    require_browser,
    serve_ui,
    start_api,
)

from selfheal.auth import Role, hash_key
from selfheal.cli.demo import LiveFeed
from selfheal.client import SelfhealClient
from selfheal.records import dt_to_ms
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store, keys_repo

pytestmark = pytest.mark.browser

STEP = timedelta(minutes=5)
"""Simulated minutes between cycles (the demo's SELFHEAL_DEMO_CYCLE_MINUTES)."""
RESOLVE_CYCLES = 3
"""SELFHEAL_INCIDENT_RESOLVE_CYCLES of the API under test."""
HISTORY = timedelta(hours=7)
FAULT_LEAD = timedelta(minutes=25)
"""The fault began this long before the wall clock at the start of the test."""
SEED = 7
MERCHANTS = 30
FIX_AFTER_CYCLE = timedelta(minutes=2)
"""The fix lands this long (plus its own seconds, and the CLI's) after the last cycle before it."""
FIXING_ACTION = "rotate_webhook_secret"
FIXING_TITLE = "Rotate and re-share the webhook signing secret"
RUNBOOK_403 = "webhook-order-created-403.md"
RUNBOOK_500 = "webhook-order-created-500.md"


@dataclass
class Story:
    api: LiveApi
    client: SelfhealClient
    feed: LiveFeed
    fed_until: datetime
    """The next simulated minute to post."""

    def feed_to(self, moment: datetime) -> None:
        while self.fed_until < moment:
            self.feed.minute(self.fed_until)
            self.fed_until += timedelta(minutes=1)

    def cycle(self, as_of: datetime) -> dict[str, Any]:
        """Post the minutes up to `as_of`, then run a cycle at it through the API."""
        self.feed_to(as_of)
        return self.client.run_cycle(as_of.isoformat(), window_minutes=60)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _cli(*args: str) -> str:
    """`selfheal ...` as a user runs it: a separate process, talking to the API over HTTP."""
    done = subprocess.run(
        [sys.executable, "-m", "selfheal.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
        check=False,
    )
    assert done.returncode == 0, f"selfheal {' '.join(args)} failed: {done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    require_browser()
    folder = tmp_path_factory.mktemp("story-db")
    url = f"sqlite:///{folder / 'selfheal.db'}"
    settings = Settings(demo_seed=SEED, demo_merchants=MERCHANTS, data_dir=folder, database_url=url)
    now = _minute(datetime.now(UTC))
    fault = FaultSpec(
        name="webhook_403", start=now - FAULT_LEAD, duration_minutes=24 * 60, stages=("wave_1",)
    )
    live_from = now - timedelta(minutes=20)
    store = Store.open(url)
    history = simulate(
        SimConfig(
            seed=SEED,
            merchants=MERCHANTS,
            start=live_from - HISTORY,
            minutes=int(HISTORY.total_seconds() // 60),
            faults=(fault,),
            logs_from=live_from - timedelta(hours=2),
            stages_from_directory=True,
        )
    )
    load_into(store, history, actor="test", with_directory=True)
    with store.transaction() as conn:
        at = dt_to_ms(datetime.now(UTC))
        keys_repo.insert_key(conn, "otto", Role.operator.value, hash_key(OPERATOR_KEY), at)
        keys_repo.insert_key(conn, "alice", Role.approver.value, hash_key(APPROVER_KEY), at)
    store.dispose()
    api = start_api(url, folder, incident_resolve_cycles=RESOLVE_CYCLES, dense_embeddings=False)
    client = SelfhealClient(api.url, api_key=ADMIN_KEY)
    try:
        _cli("runbooks", "starter", "--api", api.url, "--api-key", ADMIN_KEY)
        feed = LiveFeed(settings, client, fault, Console(file=io.StringIO()))
        yield Story(api=api, client=client, feed=feed, fed_until=live_from)
    finally:
        client.close()
        api.stop()


@pytest.fixture(scope="module")
def ui_url(story: Story, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("story-ui-log") / "streamlit.log"
    with serve_ui(story.api.url, OPERATOR_KEY, log, SELFHEAL_UI_REFRESH_SECONDS="2") as url:
        yield url


def test_the_demo_story_in_a_real_browser(story: Story, ui_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=90_000)
    api = story.api
    start = story.fed_until
    # Cycles every 5 simulated minutes up to the wall clock: the incident opens while the fault is on.
    moment = start + STEP
    incident_id = None
    while moment <= _minute(datetime.now(UTC)) and incident_id is None:
        incident_id = story.cycle(moment)["outcome"]["incident_id"]
        moment += STEP
    while incident_id is None and moment <= start + timedelta(minutes=40):
        incident_id = story.cycle(moment)["outcome"]["incident_id"]
        moment += STEP
    assert incident_id is not None, "the webhook 403 fault should open an incident"
    incident = story.client.incident(incident_id)
    assert incident["category"] == "webhook_delivery"
    cited = [p["document"] for p in incident["findings"]["runbook_context"]]
    assert cited and cited[0] == RUNBOOK_403, (
        f"the 403 runbook should be cited first, got {cited}; query: {incident['findings']['retrieval_query']}"
    )

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1300}, timezone_id="UTC")
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{ui_url}/assessment?incident={incident_id}")
        # Opened straight from a link, the sidebar lists the pages by their titles from the first paint, never
        # the page scripts' file names ("app", "actions", ...).
        nav = page.get_by_test_id("stSidebarNav")
        nav.wait_for()
        first_paint = nav.inner_text()
        assert "Assessment" in first_paint and not re.search(r"^(app|assessment)$", first_paint, re.M), (
            first_paint
        )
        expect(page.get_by_role("heading", name="Assessment")).to_be_visible()
        page.evaluate("() => { window.__opened_once = true; }")  # a reload would drop it
        picker = page.get_by_role("combobox", name="Incident")
        # the status line under the incident's title (the title's loss figure changes as it grows)
        heading = page.get_by_test_id("stMarkdownContainer").filter(
            has_text=f" · {incident['category']} · opened "
        )
        expect(page.get_by_text(re.compile(r"refreshes every 2 s"))).to_be_visible()
        # The incident, citing the runbook for its own status code (the 403 one, before the 500 one).
        expect(page.get_by_text(incident["title"]).first).to_be_visible()
        expect(heading.first).to_contain_text(f"{incident['status']} · ")
        expect(page.get_by_text(re.compile(r"^Runbook context \(\d+\)$"))).to_be_visible()
        passages = page.get_by_test_id("stExpander").filter(has_text=re.compile(r"§ .* · score "))
        expect(passages.first).to_contain_text(RUNBOOK_403)
        expect(page.get_by_text(f"runbook: {RUNBOOK_403}").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "opened.png"), full_page=True)

        # The last cycle before the fix: at the wall clock's minute (the cycles above ran up to the wall clock
        # when the test began); the fix comes FIX_AFTER_CYCLE after it, mid-minute.
        before_fix = max(moment - STEP, _minute(datetime.now(UTC)))
        if before_fix > moment - STEP:
            story.cycle(before_fix)

        # The approver approves and executes the fix from the CLI against the API.
        listed = _cli(
            "actions", "list", "--incident", incident_id, "--status", "proposed", "--json",
            "--api", api.url, "--api-key", APPROVER_KEY,
        )  # fmt: skip
        proposed = [json.loads(line) for line in listed.splitlines() if line.strip()]
        fix = next(a for a in proposed if a["key"] == FIXING_ACTION)
        time.sleep(max((before_fix + FIX_AFTER_CYCLE - datetime.now(UTC)).total_seconds(), 0.0))
        approved = json.loads(
            _cli("actions", "approve", fix["id"], "--comment", "rotate it", "--json",
                 "--api", api.url, "--api-key", APPROVER_KEY)
        )  # fmt: skip
        assert approved["status"] == "approved"
        executed = json.loads(
            _cli("actions", "execute", fix["id"], "--json", "--api", api.url, "--api-key", APPROVER_KEY)
        )
        assert executed["status"] == "succeeded" and executed["executed_by"] == "alice"
        assert executed["result"]["effect"]["heals"] is True
        fixed_at = datetime.fromisoformat(executed["finished_at"].replace("Z", "+00:00"))
        gap = fixed_at - before_fix
        assert timedelta(minutes=1) < gap < STEP, f"the fix should land between two cycles, {gap} after one"

        # The demo's feed: the minutes before the execution still carry the fault; from then on it is gone.
        story.feed_to(_minute(fixed_at) + timedelta(minutes=1))
        story.feed.check_healed(_minute(fixed_at) + timedelta(minutes=1))
        assert story.feed.healed_at is not None, "the executed action's effect should end the fault"

        # The fix does not wait for a cycle: the last cycle before it ran FIX_AFTER_CYCLE (plus the fix's
        # seconds) earlier, and cycles go on every 5 simulated minutes from that one, so the fix lands between
        # two cycles, mid-minute. The page follows each one.
        moment = before_fix + STEP
        assert before_fix < fixed_at < moment, (before_fix, fixed_at, moment)
        cycles_after_fix = 0
        recovering_after = resolved_after = None
        status = "open"
        seen: list[str] = []
        shot_pages: list[str] = []
        verdict_while_recovering = None
        while resolved_after is None and cycles_after_fix < 2 + RESOLVE_CYCLES + 2:
            story.cycle(moment)
            cycles_after_fix += 1
            moment += STEP
            now = story.client.incident(incident_id)
            status = now["status"]
            seen.append(f"{moment:%H:%M} {status} {now.get('story')}")
            if recovering_after is None and status in ("recovering", "resolved"):
                recovering_after = cycles_after_fix
            if status == "resolved":
                resolved_after = cycles_after_fix
            # the page shows the status the API now has, by itself
            expect(heading.first).to_contain_text(f"{status.replace('_', ' ')} · ")
            if status == "recovering":
                expect(page.get_by_text("Recovering since").first).to_be_visible()
                # the incident picker refreshes with the page (it is drawn in the live fragment)
                expect(picker.first).to_have_value(re.compile(r" · recovering · "))
                page.screenshot(path=str(tmp_path / f"cycle-{cycles_after_fix}.png"), full_page=True)
                # the fix's own verdict (an action executed earlier, e.g. the page to on-call, may be judged first)
                judged = [
                    v
                    for v in story.client.incident_lifecycle(incident_id)["outcomes"]
                    if v["action_id"] == fix["id"]
                ]
                if judged and verdict_while_recovering is None:
                    # The outcome is on screen while the incident recovers (judged once the rate after the fix
                    # is normal), not only after it resolves.
                    verdict_while_recovering = cycles_after_fix
                    expect(page.locator("li").filter(has_text=FIXING_TITLE).first).to_contain_text("worked")
                    shot_pages = _every_page(
                        browser, ui_url, incident_id, moment - STEP, _shots_dir(tmp_path)
                    )
        assert recovering_after is not None and recovering_after <= 2, (
            f"recovering after {recovering_after} cycles"
        )
        assert verdict_while_recovering is not None and verdict_while_recovering <= 2, (
            f"the fix's verdict should show while recovering, within 2 cycles: {seen}"
        )
        assert resolved_after is not None and resolved_after <= recovering_after + RESOLVE_CYCLES - 1, (
            f"resolved after {resolved_after} cycles (recovering after {recovering_after}): {seen}"
        )
        # The fixing action's verdict, on the page and from the API.
        life = story.client.incident_lifecycle(incident_id)
        verdict = next(v for v in life["outcomes"] if v["action_id"] == fix["id"])
        assert verdict["verdict"] == "worked", verdict
        shown = page.locator("li").filter(has_text=FIXING_TITLE).filter(has_text="lost orders per hour")
        expect(shown.first).to_contain_text("worked")
        expect(heading.first).to_contain_text("resolved")
        page.screenshot(path=str(tmp_path / "resolved.png"), full_page=True)
        assert page.evaluate("() => window.__opened_once === true"), "the page must never reload"
        assert shot_pages == [name for name, _ in PAGES], shot_pages
        context.close()
        browser.close()


PAGES = (
    ("overview", "Overview"),
    ("assessment", "Assessment"),
    ("actions", "Actions"),
    ("anomalies", "Anomalies"),
    ("themes", "Themes"),
    ("runbooks", "Runbooks"),
    ("audit", "Audit"),
    ("run", "Run"),
)
"""The pages photographed while the incident recovers, with the heading each one shows."""


def _shots_dir(tmp_path: Path) -> Path:
    """docs/screenshots with SELFHEAL_STORY_SCREENSHOTS=docs (`scripts/screenshots.sh`), else a folder of
    the test's own."""
    target = os.environ.get("SELFHEAL_STORY_SCREENSHOTS")
    path = (
        (REPO / "docs" / "screenshots")
        if target == "docs"
        else Path(target)
        if target
        else tmp_path / "pages"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def _every_page(browser: Any, ui_url: str, incident_id: str, as_of: datetime, folder: Path) -> list[str]:
    """Every page at 1440 px while the incident recovers, in a browser context of its own (the story's page
    never reloads), the window ending at the latest cycle. The names of the pages saved."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1440, "height": 1300}, timezone_id="UTC")
    tab = context.new_page()
    tab.set_default_timeout(90_000)

    def settle() -> None:
        tab.wait_for_timeout(500)
        tab.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=90_000)
        tab.wait_for_timeout(1500)

    saved = []
    tab.goto(f"{ui_url}/overview")
    expect(tab.get_by_role("heading", name="Overview")).to_be_visible()
    settle()
    tab.keyboard.press("Escape")  # a popover open on the page makes everything outside it inert
    as_of_box = tab.get_by_label("As of", exact=True)
    try:
        as_of_box.fill(as_of.isoformat(), timeout=30_000)
    except Exception as exc:
        opened = tab.evaluate(
            "() => [...document.querySelectorAll('[role=dialog],[role=listbox],[role=tooltip],"
            "[data-baseweb=popover],[data-testid*=Popover],[data-testid*=Dialog]')]"
            ".map(e => (e.getAttribute('data-testid') || e.getAttribute('role')) + ': ' + e.innerText.slice(0, 200))"
        )
        inert = tab.evaluate(
            "() => [...document.querySelectorAll('[inert]')].map(e => e.getAttribute('data-testid') || e.tagName)"
        )
        raise AssertionError(f"As of is not editable; open: {opened}; inert: {inert}") from exc
    as_of_box.press("Enter")
    settle()
    for name, title in PAGES:
        tab.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        expect(tab.get_by_role("heading", name=title).first).to_be_visible()
        settle()
        tab.mouse.move(5, 1200)  # no hover tooltip over the page
        height = tab.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 1300"
        )
        tab.set_viewport_size({"width": 1440, "height": min(max(int(height), 1300), 6000)})
        tab.wait_for_timeout(800)
        tab.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        tab.set_viewport_size({"width": 1440, "height": 1300})
        saved.append(name)
    context.close()
    return saved
