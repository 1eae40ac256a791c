"""A process that dies mid-execution leaves the action `executing` under a lease; once the lease runs out
it shows up as stale and can be resumed (runs again, once) or marked failed. Nothing is silently lost."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from actkit import Seeder, proposal

from selfheal import audit
from selfheal.act.executors import ExecutionRequest, ExecutionResult, SimulatedExecutor
from selfheal.act.workflow import Workflow
from selfheal.errors import Conflict
from selfheal.settings import Settings
from selfheal.store import Store, actions_repo, audit_repo

SRC = str(Path(__file__).resolve().parents[2] / "src")

DYING_WORKER = """
import os, sys
from selfheal.act.executors import Executor
from selfheal.act.workflow import Workflow
from selfheal.settings import Settings
from selfheal.store import Store

class DiesMidway(Executor):
    name = "simulated"
    def execute(self, request):
        os._exit(17)  # the process is killed after the claim, before any result

store = Store.open(sys.argv[1])
Workflow(store, Settings(act_execution_lease_seconds=1), executor=DiesMidway()).execute(sys.argv[2], "alice")
"""


def crash_while_executing(store: Store, action_id: str) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", DYING_WORKER, url, action_id], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == 17, proc.stderr.decode()


def approved_action(store: Store, settings: Settings, seed: Seeder) -> str:
    (aid,) = seed(store, settings, proposal(), actor="cycle")
    Workflow(store, settings).approve(aid, "alice")
    return aid


def wait_for_lease_end(wf: Workflow, action_id: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(a.id == action_id for a in wf.stale()):
            return
        time.sleep(0.1)
    raise AssertionError("the lease never ran out")


def test_crash_leaves_executing_then_resume_runs_once(any_store: Store, seed: Seeder) -> None:
    settings = Settings(act_execution_lease_seconds=1)
    aid = approved_action(any_store, settings, seed)
    crash_while_executing(any_store, aid)
    wf = Workflow(any_store, settings)
    stuck = wf.get(aid)
    assert stuck.status == "executing"
    assert stuck.attempts == 1
    assert stuck.lease_until is not None
    with pytest.raises(Conflict, match="already executing"):
        wf.execute(aid, "bob")
    wait_for_lease_end(wf, aid)
    resumed = wf.resume(aid, "bob", comment="worker died")
    assert resumed.status == "succeeded"
    assert resumed.attempts == 2
    assert resumed.executed_by == "bob"
    with pytest.raises(Conflict, match="already succeeded"):
        wf.resume(aid, "bob")
    with any_store.read() as conn:
        assert len(actions_repo.list_effects(conn, aid)) == 1
        trail = [r.action for r in audit_repo.for_targets(conn, [aid])]
        assert trail == [
            "action.propose",
            "action.approve",
            "action.execute",
            "action.resume",
            "action.succeeded",
        ]
        assert audit.verify(conn).ok


def test_crash_then_mark_failed(any_store: Store, seed: Seeder) -> None:
    settings = Settings(act_execution_lease_seconds=1)
    aid = approved_action(any_store, settings, seed)
    crash_while_executing(any_store, aid)
    wf = Workflow(any_store, settings)
    with pytest.raises(Conflict, match="under a lease"):
        wf.mark_failed(aid, "bob", "worker died")
    wait_for_lease_end(wf, aid)
    failed = wf.mark_failed(aid, "bob", "worker died")
    assert failed.status == "failed"
    assert failed.error == "marked failed by bob: worker died"
    assert wf.stale() == []
    with any_store.read() as conn:
        assert actions_repo.list_effects(conn, aid) == []


def test_force_resume_inside_the_lease(sqlite_store: Store, seed: Seeder) -> None:
    settings = Settings(act_execution_lease_seconds=3600)
    aid = approved_action(sqlite_store, settings, seed)
    crash_while_executing(sqlite_store, aid)
    wf = Workflow(sqlite_store, settings)
    with pytest.raises(Conflict, match="pass force"):
        wf.resume(aid, "bob")
    assert wf.resume(aid, "bob", force=True).status == "succeeded"


class Gate(SimulatedExecutor):
    """Blocks inside `execute` until released, like a slow external call."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        self.entered.set()
        assert self.release.wait(30)
        return super().execute(request)


def test_late_result_does_not_overwrite_a_newer_decision(any_store: Store, seed: Seeder) -> None:
    """Someone forces the slow execution to failed; when it finally returns, the action stays failed and
    the late result is kept in the audit trail, with no simulated effect."""
    settings = Settings()
    aid = approved_action(any_store, settings, seed)
    gate = Gate()
    slow = threading.Thread(target=lambda: Workflow(any_store, settings, executor=gate).execute(aid, "alice"))
    slow.start()
    assert gate.entered.wait(30)
    Workflow(any_store, settings).mark_failed(aid, "bob", "hung", force=True)
    gate.release.set()
    slow.join(30)
    wf = Workflow(any_store, settings)
    assert wf.get(aid).status == "failed"
    with any_store.read() as conn:
        trail = [r.action for r in audit_repo.for_targets(conn, [aid])]
        assert trail[-2:] == ["action.fail", "action.late_result"]
        assert actions_repo.list_effects(conn, aid) == []


def test_executor_exception_fails_the_action(sqlite_store: Store, seed: Seeder) -> None:
    class Broken(SimulatedExecutor):
        def execute(self, request: ExecutionRequest) -> ExecutionResult:
            raise RuntimeError("target exploded")

    settings = Settings()
    aid = approved_action(sqlite_store, settings, seed)
    done = Workflow(sqlite_store, settings, executor=Broken()).execute(aid, "alice")
    assert done.status == "failed"
    assert done.error == "RuntimeError: target exploded"
