"""The admin CLI on a real database: keys, audit verify/list, stale executions."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from actkit import make_incident, proposal
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from selfheal.act import store_actions
from selfheal.act.workflow import Workflow
from selfheal.api.app import create_app
from selfheal.cli.admin import register
from selfheal.settings import Settings
from selfheal.store import Store


@pytest.fixture
def cli(tmp_path: Path) -> tuple[typer.Typer, dict[str, str]]:
    app = typer.Typer()
    register(app)

    @app.command("noop", hidden=True)
    def _noop() -> None:  # a second command keeps Typer from collapsing the groups into the root
        pass

    return app, {"SELFHEAL_DATA_DIR": str(tmp_path), "SELFHEAL_AUTH_MODE": "closed"}


def test_keys_create_list_revoke(cli: tuple[typer.Typer, dict[str, str]], tmp_path: Path) -> None:
    app, env = cli
    runner = CliRunner()
    made = runner.invoke(app, ["keys", "create", "--role", "approver", "--name", "alice"], env=env)
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("shk_")
    key_id = made.output.split()[1]
    listed = runner.invoke(app, ["keys", "list"], env=env)
    assert "alice" in listed.output
    assert "approver" in listed.output
    assert key not in listed.output
    assert runner.invoke(app, ["keys", "create", "--role", "king", "--name", "x"], env=env).exit_code != 0

    settings = Settings(data_dir=tmp_path)
    store = Store.open(settings.resolved_database_url())
    try:
        with TestClient(create_app(settings, store)) as client:
            assert client.get("/actions", headers={"X-API-Key": key}).status_code == 200
            revoked = runner.invoke(app, ["keys", "revoke", key_id], env=env)
            assert revoked.exit_code == 0, revoked.output
            assert client.get("/actions", headers={"X-API-Key": key}).status_code == 401
    finally:
        store.dispose()
    again = runner.invoke(app, ["keys", "revoke", key_id], env=env)
    assert again.exit_code == 1
    assert "no active key" in again.output


def test_audit_verify_and_list(cli: tuple[typer.Typer, dict[str, str]], tmp_path: Path) -> None:
    app, env = cli
    runner = CliRunner()
    for name in ("a", "b", "c"):
        assert (
            runner.invoke(app, ["keys", "create", "--role", "viewer", "--name", name], env=env).exit_code == 0
        )
    ok = runner.invoke(app, ["audit", "verify"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "3 records" in ok.output
    listed = runner.invoke(app, ["audit", "list", "--action", "key.create"], env=env)
    assert listed.output.count("key.create") == 3
    as_json = runner.invoke(app, ["audit", "list", "--json", "--limit", "1"], env=env)
    assert as_json.output.count("\n") == 1

    store = Store.open(Settings(data_dir=tmp_path).resolved_database_url())
    try:
        with store.transaction() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    finally:
        store.dispose()
    broken = runner.invoke(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1
    assert "BROKEN at record 3" in broken.output


def test_actions_stale_resume_fail(cli: tuple[typer.Typer, dict[str, str]], tmp_path: Path) -> None:
    app, env = cli
    runner = CliRunner()
    settings = Settings(data_dir=tmp_path)
    store = Store.open(settings.resolved_database_url())
    try:
        incident = make_incident(store)
        with store.transaction() as conn:
            ids = [
                o.action_id
                for o in store_actions(conn, incident, (proposal("k1"), proposal("k2")), "cycle", settings)
            ]
            wf = Workflow(store, settings)
        for aid in ids:
            wf.approve(aid, "alice")
        # Two executions left behind by a dead process: claimed, lease already over.
        with store.transaction() as conn:
            conn.execute(
                text(
                    "UPDATE actions SET status='executing', claim_token='dead', attempts=1, "
                    "started_ms=1, lease_until_ms=2"
                )
            )
    finally:
        store.dispose()
    stale = runner.invoke(app, ["actions", "stale"], env=env)
    assert all(aid in stale.output for aid in ids)
    resumed = runner.invoke(app, ["actions", "resume", ids[0]], env=env)
    assert resumed.exit_code == 0, resumed.output
    assert "succeeded" in resumed.output
    failed = runner.invoke(app, ["actions", "fail", ids[1], "--reason", "worker died"], env=env)
    assert failed.exit_code == 0, failed.output
    assert "failed" in failed.output
    again = runner.invoke(app, ["actions", "fail", ids[1], "--reason", "x"], env=env)
    assert again.exit_code == 1
    assert "already failed" in again.output
    listed = runner.invoke(app, ["actions", "list", "--status", "succeeded"], env=env)
    assert ids[0] in listed.output
    assert ids[1] not in listed.output
