"""Two `selfheal worker` processes on one PostgreSQL database: one leads and runs every period's cycle once;
killed with SIGKILL, its follower takes over within one period."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from selfheal.store import Store

EVERY = 3
CYCLE_LINE = re.compile(r"cycle cyc-\S+ as_of (\S+) in")


def _worker(url: str, tmp_path: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "SELFHEAL_DATABASE_URL": url,
        "SELFHEAL_DATA_DIR": str(tmp_path / name),
        "SELFHEAL_CYCLE_EVERY": str(EVERY),
        "SELFHEAL_CYCLE_LAG_SECONDS": "0",
        "SELFHEAL_DENSE_EMBEDDINGS": "false",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "selfheal.cli", "worker"], env=env, stderr=out)
    return proc, log


def _cycles(log: Path) -> list[datetime]:
    return [datetime.fromisoformat(m) for m in CYCLE_LINE.findall(log.read_text())]


def _wait_for(condition: object, timeout: float) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.postgres
def test_one_leader_and_failover_within_a_period(pg_url: str, tmp_path: Path) -> None:
    Store.open(pg_url).dispose()  # migrate before the workers race to
    first, first_log = _worker(pg_url, tmp_path, "first")
    second: subprocess.Popen[bytes] | None = None
    try:
        assert _wait_for(lambda: len(_cycles(first_log)) >= 1, 120), first_log.read_text()[-3000:]
        second, second_log = _worker(pg_url, tmp_path, "second")
        time.sleep(3 * EVERY)  # the second worker is up and follows
        assert len(_cycles(first_log)) >= 3, first_log.read_text()[-3000:]
        assert _cycles(second_log) == [], second_log.read_text()[-3000:]

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = time.time()
        last_of_first = _cycles(first_log)[-1]
        assert _wait_for(lambda: _cycles(second_log), 60), second_log.read_text()[-3000:]
        taken_over = _cycles(second_log)[0]
        # the period right after the leader's last (or the one after, when the kill fell on a boundary)
        assert (taken_over - last_of_first).total_seconds() <= 2 * EVERY
        assert time.time() - killed_at < 30
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(15)
    store = Store.open(pg_url, migrate=False)
    with store.read() as conn:
        as_ofs = list(conn.execute(text("SELECT as_of_ms FROM cycle_runs")).scalars())
    store.dispose()
    assert len(as_ofs) == len(set(as_ofs)), "a period ran twice"
