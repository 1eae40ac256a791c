"""The demo story end to end in a real headless chromium, in simulated time, without a reload.

A closed-mode API on SQLite with the starter runbooks (loaded by `selfheal runbooks starter` against the API),
seven hours of history with a webhook_403 fault on stage wave_1 at its end, then the demo's own live feed
(`selfheal.cli.demo.LiveFeed`) posting minute by minute through the API and running a cycle every 5 simulated
minutes. The simulated clock runs alongside the wall clock, so the action executed from the CLI (at the wall
clock) lands where the simulated fault is: the feed ends the fault once that action's simulated effect heals
it, as the demo does.

The Assessment page of the incident is opened once and refreshes by itself (SELFHEAL_UI_REFRESH_SECONDS=2):
it must cite the 403 runbook (not the 500 one), then show the incident `recovering` within 2 cycles of the fix
with the fixing action's verdict, then `resolved` within the configured resolve cycles.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
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
        expect(page.get_by_role("heading", name="Assessment")).to_be_visible()
        page.evaluate("() => { window.__opened_once = true; }")  # a reload would drop it
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

        # The approver approves and executes the fix from the CLI against the API.
        listed = _cli(
            "actions", "list", "--incident", incident_id, "--status", "proposed", "--json",
            "--api", api.url, "--api-key", APPROVER_KEY,
        )  # fmt: skip
        proposed = [json.loads(line) for line in listed.splitlines() if line.strip()]
        fix = next(a for a in proposed if a["key"] == FIXING_ACTION)
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

        # The demo's feed: the minutes before the execution still carry the fault; from then on it is gone.
        story.feed_to(_minute(fixed_at) + timedelta(minutes=1))
        story.feed.check_healed(_minute(fixed_at) + timedelta(minutes=1))
        assert story.feed.healed_at is not None, "the executed action's effect should end the fault"

        # Cycles every 5 simulated minutes from the fix (the fix on a cycle boundary, as the recovery benchmark
        # counts them: with SELFHEAL_INCIDENT_RECOVERY_MINUTES=10, a fix just before a boundary leaves the
        # first cycle almost no minutes after it, and recovering can take a third); the page follows each one.
        moment = story.feed.healed_at + STEP
        cycles_after_fix = 0
        recovering_after = resolved_after = None
        status = "open"
        seen: list[str] = []
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
                page.screenshot(path=str(tmp_path / f"cycle-{cycles_after_fix}.png"), full_page=True)
        assert recovering_after is not None and recovering_after <= 2, (
            f"recovering after {recovering_after} cycles"
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
        context.close()
        browser.close()
