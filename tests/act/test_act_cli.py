"""The admin CLI as a client of a real API (uvicorn, closed mode, SQLite file): keys (with the bootstrap
`--database`), audit, and actions list/show/approve/reject/execute/cancel/stale/resume/fail."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from actkit import make_incident, proposal
from sqlalchemy import text
from typer.testing import CliRunner

from selfheal.act import store_actions
from selfheal.api.app import create_app
from selfheal.cli import app
from selfheal.client import SelfhealClient
from selfheal.decide.model import Risk
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store

ADMIN = "adm-bootstrap-secret"


@dataclass
class Server:
    url: str
    db_url: str
    store: Store
    settings: Settings

    def cli(self, *args: str, key: str | None = ADMIN) -> tuple[int, str, str]:
        """Run `selfheal ARGS --api URL [--api-key KEY]`; (exit code, stdout, stderr)."""
        extra = ["--api", self.url] + (["--api-key", key] if key else [])
        result = CliRunner().invoke(app, [*args, *extra], env={"SELFHEAL_API_KEY": ""})
        return result.exit_code, result.stdout, result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    db_url = f"sqlite:///{tmp_path / 'api.db'}"
    settings = Settings(database_url=db_url, auth_mode=AuthMode.closed, admin_key=ADMIN)
    store = Store.open(db_url)
    port = _free_port()
    uv = uvicorn.Server(
        uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    with SelfhealClient(url) as client:
        client.wait_until_ready(timeout=10, interval=0.05)
    yield Server(url, db_url, store, settings)
    uv.should_exit = True
    thread.join(timeout=10)
    store.dispose()


def _seed(server: Server, *keys: str, risk: Risk = Risk.medium) -> list[str]:
    incident = make_incident(server.store)
    with server.store.transaction() as conn:
        outcomes = store_actions(
            conn, incident, tuple(proposal(k, risk) for k in keys), "cycle", server.settings
        )
    return [o.action_id for o in outcomes]


def test_bootstrap_key_names_its_database_then_keys_go_through_the_api(
    server: Server, tmp_path: Path
) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["keys", "create", "--role", "admin", "--name", "ops-lead", "--database", server.db_url]
    )
    assert made.exit_code == 0, made.output
    assert f"in database {server.db_url}" in made.stderr  # says where the key went
    admin_key = made.stdout.strip()
    assert admin_key.startswith("shk_")

    code, out, err = server.cli("keys", "create", "--role", "approver", "--name", "alice", key=admin_key)
    assert code == 0, err
    assert f"in the API at {server.url}" in err
    alice_key = out.strip()
    code, out, _ = server.cli("keys", "list", "--json", key=admin_key)
    listed = [json.loads(line) for line in out.splitlines()]
    assert {(k["name"], k["role"]) for k in listed} == {("ops-lead", "admin"), ("alice", "approver")}
    assert alice_key not in out and admin_key not in out

    # Roles hold: an approver may not manage keys (403, exit 1, how to fix it).
    code, _, err = server.cli("keys", "list", key=alice_key)
    assert code == 1
    assert "may not do this" in err and "How to fix it" in err
    alice_id = next(k["id"] for k in listed if k["name"] == "alice")
    code, out, err = server.cli("keys", "revoke", alice_id, key=admin_key)
    assert code == 0, err
    assert "revoked" in out
    code, _, err = server.cli("actions", "list", key=alice_key)
    assert code == 1
    assert "SELFHEAL_API_KEY" in err and "--api-key" in err  # the 401 says how to fix it

    # The audit trail through the API, and the direct check of the same chain.
    code, out, _ = server.cli("audit", "list", "--action", "key.", "--json", key=admin_key)
    assert [json.loads(line)["action"] for line in out.splitlines()] == [
        "key.revoke",
        "key.create",
        "key.create",
    ]
    code, out, _ = server.cli("audit", "verify", key=admin_key)
    assert code == 0 and "3 records" in out
    with server.store.transaction() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    code, out, _ = server.cli("audit", "verify", key=admin_key)
    assert code == 1 and "BROKEN at record 2" in out
    direct = runner.invoke(app, ["audit", "verify", "--database", server.db_url])
    assert direct.exit_code == 1 and "BROKEN at record 2" in direct.stdout


def test_actions_list_show_approve_execute_reject_cancel(server: Server) -> None:
    run, skip, drop = _seed(server, "replay_failed_webhooks", "k_skip", "k_drop")
    code, out, _ = server.cli("actions", "list", "--status", "proposed", "--json")
    assert code == 0
    assert {json.loads(line)["id"] for line in out.splitlines()} == {run, skip, drop}

    code, out, err = server.cli("actions", "approve", run, "--comment", "go ahead")
    assert code == 0, err
    assert "approved" in out
    code, out, err = server.cli("actions", "execute", run, "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "succeeded"
    code, _, err = server.cli("actions", "execute", run)  # exactly once: the second is refused
    assert code == 1
    assert "409" in err or "succeeded" in err
    code, out, _ = server.cli("actions", "show", run, "--json")
    shown = json.loads(out)
    assert shown["executed_by"] == "admin"
    assert [c["text"] for c in shown["comments"]] == ["go ahead"]

    assert server.cli("actions", "reject", skip)[0] == 0
    assert server.cli("actions", "cancel", drop, "--comment", "not needed")[0] == 0
    code, out, _ = server.cli("actions", "list")
    lines = {line.split()[0]: line.split()[1] for line in out.splitlines()}
    assert lines == {run: "succeeded", skip: "rejected", drop: "cancelled"}

    code, _, err = server.cli("actions", "show", "act-nope")
    assert code == 1 and "does not exist" in err


def test_execute_no_wait_answers_at_once_and_the_result_follows(server: Server) -> None:
    (aid,) = _seed(server, "replay_failed_webhooks")
    assert server.cli("actions", "approve", aid)[0] == 0
    code, out, err = server.cli("actions", "execute", aid, "--no-wait", "--json")
    assert code == 0, err
    assert json.loads(out)["status"] in ("executing", "succeeded")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = json.loads(server.cli("actions", "show", aid, "--json")[1])["status"]
        if status != "executing":
            break
        time.sleep(0.1)
    assert status == "succeeded"


def test_usage_errors_exit_2_and_api_errors_exit_1(server: Server) -> None:
    assert server.cli("actions", "list", "--status", "sleeping")[0] == 2
    assert server.cli("keys", "create", "--role", "king", "--name", "x")[0] == 2
    assert CliRunner().invoke(app, ["actions", "frobnicate"]).exit_code == 2
    code, _, err = server.cli("actions", "list", key="shk_wrong")
    assert code == 1 and "SELFHEAL_API_KEY" in err
    dead = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(app, ["actions", "list", "--api", dead])
    assert result.exit_code == 1
    assert f"The API at {dead} cannot be reached" in result.stderr


def test_actions_stale_resume_fail(server: Server) -> None:
    ids = _seed(server, "k1", "k2")
    for aid in ids:
        assert server.cli("actions", "approve", aid)[0] == 0
    # Two executions left behind by a dead process: claimed, lease already over.
    with server.store.transaction() as conn:
        conn.execute(
            text(
                "UPDATE actions SET status='executing', claim_token='dead', attempts=1, "
                "started_ms=1, lease_until_ms=2"
            )
        )
    code, out, _ = server.cli("actions", "stale")
    assert all(aid in out for aid in ids)
    code, out, err = server.cli("actions", "resume", ids[0])
    assert code == 0, err
    assert "succeeded" in out
    code, out, err = server.cli("actions", "fail", ids[1], "--reason", "worker died")
    assert code == 0, err
    assert "failed" in out
    code, _, err = server.cli("actions", "fail", ids[1], "--reason", "x")
    assert code == 1
    assert "already failed" in err
