"""The foundation commands end to end: simulate to files, ingest them over real HTTP, run a cycle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from selfheal.cli import app


def test_help_lists_every_command() -> None:
    out = CliRunner().invoke(app, ["--help"]).output
    for command in ("api", "ui", "demo", "ingest", "simulate", "cycle", "bench", "settings"):
        assert command in out


def test_simulate_then_ingest_over_http_then_cycle(
    tmp_path: Path, live_api: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = live_api
    runner = CliRunner()
    out_dir = tmp_path / "sim"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--out",
            str(out_dir),
            "--merchants",
            "8",
            "--hours",
            "2",
            "--start",
            "2026-03-02T10:00:00Z",
            "--fault",
            "webhook_500@60+60:wave_1,wave_2",
            "--seed",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    truth = json.loads((out_dir / "truth.json").read_text())
    assert truth["faults"][0]["name"] == "webhook_500"
    assert truth["faults"][0]["lost_orders"] > 0
    lines = {
        kind: sum(1 for _ in (out_dir / f"{kind}.jsonl").open()) for kind in ("metrics", "logs", "tickets")
    }
    assert lines["metrics"] == 8 * 120

    for kind in ("metrics", "logs", "tickets"):
        r = runner.invoke(
            app, ["ingest", kind, str(out_dir / f"{kind}.jsonl"), "--batch-size", "700", "--api-url", url]
        )
        assert r.exit_code == 0, r.output
        assert f"{lines[kind]} stored" in r.output
    again = runner.invoke(app, ["ingest", "logs", str(out_dir / "logs.jsonl"), "--api-url", url])
    assert f"0 stored, {lines['logs']} duplicates" in again.output

    cycle = runner.invoke(app, ["cycle", "--as-of", "2026-03-02T12:00:00Z", "--json", "--api", url])
    assert cycle.exit_code == 0, cycle.output
    body = json.loads(cycle.output[cycle.output.index("{") :])
    assert body["observation"]["counts"]["metric_points"] == 8 * 60


def test_ingest_reports_a_rejected_batch(tmp_path: Path, live_api: tuple[str, str]) -> None:
    url, _ = live_api
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"ts": "2026-03-02T10:00:00Z", "merchant_id": "m1", "source": "api", "endpoint": "x", "status_code": 999}\n'
    )
    r = CliRunner().invoke(app, ["ingest", "logs", str(bad), "--api-url", url])
    assert r.exit_code == 1
    assert "rejected (422)" in r.output
    assert "status_code" in r.output
