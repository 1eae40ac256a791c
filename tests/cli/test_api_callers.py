"""The commands that talk to the API through SelfhealClient, against a live server: `simulate --post`, the
demo's live feed and the ingest benchmark."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from selfheal.bench.ingest import run_ingest_benchmark
from selfheal.cli import app
from selfheal.cli.demo import LiveFeed
from selfheal.client import SelfhealClient
from selfheal.settings import Settings
from selfheal.simulate import FaultSpec

START = "2026-03-02T10:00:00Z"
SIMULATE = ["simulate", "--merchants", "6", "--hours", "1", "--start", START, "--seed", "5"]


def test_simulate_post_stores_what_simulate_out_writes(tmp_path: Path, live_api: tuple[str, str]) -> None:
    url, _ = live_api
    runner = CliRunner()
    posted = runner.invoke(app, [*SIMULATE, "--fault", "webhook_403@20+30", "--post", url])
    assert posted.exit_code == 0, posted.output
    assert f"posted to {url}" in posted.output
    out = tmp_path / "sim"
    written = runner.invoke(app, [*SIMULATE, "--fault", "webhook_403@20+30", "--out", str(out)])
    assert written.exit_code == 0, written.output
    for kind in ("metrics", "logs", "tickets"):
        lines = sum(1 for _ in (out / f"{kind}.jsonl").open())
        again = runner.invoke(app, ["ingest", kind, str(out / f"{kind}.jsonl"), "--api-url", url])
        assert f"0 stored, {lines} duplicates" in again.output  # --post stored every one of them


def test_simulate_post_without_an_api_says_how_to_fix_it(dead_url: str) -> None:
    result = CliRunner().invoke(app, [*SIMULATE, "--post", dead_url])
    assert result.exit_code == 1
    assert f"The API at {dead_url} cannot be reached" in result.output
    assert "How to fix it: Start it with `selfheal api`" in result.output


def test_the_demo_feed_posts_each_minute_and_runs_cycles(live_api: tuple[str, str]) -> None:
    url, _ = live_api
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    fault = FaultSpec(name="webhook_403", start=start, duration_minutes=60, stages=("wave_1",))
    out = io.StringIO()
    with SelfhealClient(url) as client:
        feed = LiveFeed(Settings(demo_merchants=8, demo_seed=3), client, fault, Console(file=out, width=200))
        for minute in range(3):
            feed.minute(start + timedelta(minutes=minute))
        feed.cycle(start + timedelta(minutes=3))
        summary = client.observe(window_minutes=3, as_of=(start + timedelta(minutes=3)).isoformat())
    assert summary["counts"]["metric_points"] == 8 * 3
    assert summary["counts"]["log_events"] > 0
    assert "10:03 cycle " in out.getvalue()
    assert "cycle failed" not in out.getvalue()


def test_the_ingest_benchmark_posts_every_event_once(live_api: tuple[str, str]) -> None:
    url, _ = live_api
    quiet = Console(file=io.StringIO())
    first = run_ingest_benchmark(3000, 1000, 2, url, None, quiet)
    assert (first["events"], first["stored"]) == (3000, 3000)
    assert first["events_per_second"] > 0
    again = run_ingest_benchmark(3000, 1000, 2, url, None, quiet)
    assert again["stored"] == 0  # same ids: idempotent
