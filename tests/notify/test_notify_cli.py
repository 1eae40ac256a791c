"""`selfheal notify` sends what is queued, with routes from a YAML file, to a real receiver."""

from __future__ import annotations

from pathlib import Path

import pytest
from notifykit import Receiver, notice
from typer.testing import CliRunner

from selfheal.cli import app
from selfheal.notify.outbox import queue_notices
from selfheal.settings import Settings
from selfheal.store import Store, notify_repo


def test_notify_command_delivers_queued_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'selfheal.db'}"
    with Receiver([(400, {})]) as rx:
        routes = tmp_path / "routes.yaml"
        routes.write_text(
            "- name: ops-slack\n  kind: slack\n"
            f"  url: {rx.base}/services/T000/B000/XXXX\n"
            "- name: oncall\n  kind: pagerduty\n  routing_key: R0UT1NGKEY\n"
        )
        for name, value in {
            "SELFHEAL_DATABASE_URL": url,
            "SELFHEAL_NOTIFY_ROUTES": str(routes),
            "SELFHEAL_NOTIFY_PAGERDUTY_URL": f"{rx.base}/v2/enqueue",
        }.items():
            monkeypatch.setenv(name, value)
        store = Store.open(url)
        with store.transaction() as conn:
            queue_notices(conn, (notice(),), "inc-cli", Settings())
        result = CliRunner().invoke(app, ["notify"])
        with store.read() as conn:
            rows, _ = notify_repo.list_notifications(conn)
        store.dispose()
    assert result.exit_code == 0, result.output
    assert "delivered 1, retrying later 0, failed 1" in result.output
    assert "failed" in result.output and "HTTP 400" in result.output
    assert len(rx.requests) == 2
    assert {r.status for r in rows} == {"delivered", "failed"}
