"""A real selfheal API over HTTP for the UI tests: uvicorn in a thread, a temp SQLite file, simulated data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from selfheal.api.app import create_app
from selfheal.auth import Role, hash_key
from selfheal.client import SelfhealClient, Unreachable
from selfheal.records import dt_to_ms
from selfheal.settings import AuthMode, Settings
from selfheal.simulate import FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store, keys_repo

ADMIN_KEY = "shk_test_admin_key_for_the_ui_tests"
VIEWER_KEY = "shk_test_viewer_key_for_the_ui_tests"
OPERATOR_KEY = "shk_test_operator_key_for_the_ui_tests"
APPROVER_KEY = "shk_test_approver_key_for_the_ui_tests"

END = datetime(2024, 3, 6, 12, 0, tzinfo=UTC)
"""as_of of the tests: the simulated span ends here, with a webhook 403 fault in its last 45 minutes."""
HISTORY = timedelta(days=2)
FAULT_MINUTES = 45


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_database(path: Path, merchants: int = 20, seed: int = 11) -> str:
    """Simulate two days with a webhook_403 fault on wave_1 ending at END; store them and the test keys."""
    url = f"sqlite:///{path}"
    store = Store.open(url)
    start = END - HISTORY
    fault = FaultSpec(
        name="webhook_403",
        start=END - timedelta(minutes=FAULT_MINUTES),
        duration_minutes=FAULT_MINUTES + 60,
        stages=("wave_1",),
    )
    result = simulate(
        SimConfig(
            seed=seed,
            merchants=merchants,
            start=start,
            minutes=int(HISTORY.total_seconds() // 60),
            faults=(fault,),
            logs_from=END - timedelta(hours=3),
        )
    )
    load_into(store, result, actor="test")
    with store.transaction() as conn:
        now = dt_to_ms(datetime.now(UTC))
        keys_repo.insert_key(conn, "vera", Role.viewer.value, hash_key(VIEWER_KEY), now)
        keys_repo.insert_key(conn, "otto", Role.operator.value, hash_key(OPERATOR_KEY), now)
        keys_repo.insert_key(conn, "alice", Role.approver.value, hash_key(APPROVER_KEY), now)
    store.dispose()
    return url


@dataclass
class LiveApi:
    url: str
    database_url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_api(
    database_url: str, data_dir: Path, auth_mode: AuthMode = AuthMode.closed, **overrides: Any
) -> LiveApi:
    """Serve create_app over the database on a free port and wait until /health answers; `overrides` are
    further settings (e.g. incident_resolve_cycles=3)."""
    settings = Settings(
        data_dir=data_dir, database_url=database_url, auth_mode=auth_mode, admin_key=ADMIN_KEY, **overrides
    )
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        with SelfhealClient(url) as client:
            client.wait_until_ready(timeout=30, interval=0.1)
    except Unreachable:
        server.should_exit = True
        raise
    return LiveApi(url=url, database_url=database_url, server=server, thread=thread)


def ensure_action(
    database_url: str, api_url: str, incident_id: str, key: str = "replay_failed_webhooks"
) -> None:
    """Make sure the incident has an action waiting for approval.

    When the server's decide stage proposed one, nothing is done. Otherwise one catalogue-style proposal
    is stored through the act stage's own `store_actions` (policy, audit and all), as a cycle would."""
    answer = httpx.get(
        f"{api_url}/actions", params={"incident": incident_id}, headers={"x-api-key": ADMIN_KEY}, timeout=30
    )
    answer.raise_for_status()
    if any(a["status"] == "proposed" and a["key"] == key for a in answer.json()):
        return
    from selfheal.act import store_actions
    from selfheal.decide.model import ProposedAction, Risk

    proposal = ProposedAction(
        key=key,
        title="Replay failed order webhooks",
        description="Re-send the order.created webhooks that failed with 403 for the affected merchants.",
        risk=Risk.medium,
        confidence=0.82,
        requires_approval=True,
        rationale="Payments succeeded without order.created on stage wave_1 since the webhook 403s began.",
        expected_effect="The missing orders are created; the payment/order gap closes.",
        params={"stage": "wave_1"},
    )
    store = Store.open(database_url)
    try:
        with store.transaction() as conn:
            store_actions(conn, incident_id, (proposal,), "agent", Settings(database_url=database_url))
    finally:
        store.dispose()


CHROMIUM = Path(os.environ.get("SELFHEAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
APP = REPO / "src" / "selfheal" / "ui" / "app.py"


def require_browser() -> None:
    """Skip (or fail, with SELFHEAL_REQUIRE_BROWSER=1) when Debian's chromium is missing."""
    if CHROMIUM.exists():
        return
    reason = f"chromium not found at {CHROMIUM}; install Debian's package: apt-get install -y chromium"
    if os.environ.get("SELFHEAL_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def serve_ui(api_url: str, api_key: str, log: Path, **env_extra: str) -> Iterator[str]:
    """`streamlit run` the UI on a free port against the API (the key in SELFHEAL_API_KEY); its URL once
    /_stcore/health answers. `env_extra` are further environment variables (e.g. SELFHEAL_UI_REFRESH_SECONDS)."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "SELFHEAL_API_URL": api_url,
            "SELFHEAL_API_KEY": api_key,
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]),
            **env_extra,
        }
    )
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(APP),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
                "--client.toolbarMode",
                "viewer",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited: {log.read_text()[-2000:]}")
            time.sleep(0.25)
        else:
            pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
