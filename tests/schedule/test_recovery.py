"""A process killed (SIGKILL) after its cycle committed and before the automatic actions ran: the actions are
listed as stale, and the next cycle executes each exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from cyclekit import FAULT_AS_OF, all_at_once, load_webhook_fault
from sqlalchemy import text

from selfheal.act.recovery import recover
from selfheal.act.workflow import Workflow
from selfheal.cycle import CycleDeps, run_cycle
from selfheal.settings import Settings
from selfheal.store import Store

DIE_AFTER_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime
    import selfheal.cycle as cycle
    from selfheal.settings import Settings
    from selfheal.store import Store

    def die(*_args, **_kwargs):  # the cycle's transaction has committed; the actions have not run
        os.kill(os.getpid(), signal.SIGKILL)

    cycle.execute_auto = die
    settings = Settings(data_dir=sys.argv[2], dense_embeddings=False)
    deps = cycle.CycleDeps(store=Store.open(sys.argv[1]), settings=settings)
    cycle.run_cycle(deps, as_of=datetime.fromisoformat(sys.argv[3]))
    """
)


def test_kill_between_commit_and_execution_then_next_cycle_runs_each_once(
    store: Store, tmp_path: Path
) -> None:
    load_webhook_fault(store)
    url = store.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", DIE_AFTER_COMMIT, url, str(tmp_path), FAULT_AS_OF.isoformat()],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]

    with store.read() as conn:
        left = set(
            conn.execute(
                text("SELECT id FROM actions WHERE status = 'approved' AND auto_execute = 1")
            ).scalars()
        )
        effects = conn.execute(text("SELECT count(*) FROM simulator_effects")).scalar()
    assert left, "the killed cycle should have stored policy-approved actions"
    assert effects == 0

    settings = Settings(data_dir=tmp_path, dense_embeddings=False, act_recover_after_seconds=0)
    assert {a.id for a in Workflow(store, settings).stale()} >= left

    # two processes recover at once (a cycle and a scheduler): each action runs once
    later = FAULT_AS_OF.replace(minute=FAULT_AS_OF.minute + 5)
    results = all_at_once(
        2,
        lambda i: (
            set(run_cycle(CycleDeps(store=store, settings=settings), as_of=later).recovered)
            if i == 0
            else {a.id for a in recover(store, settings)}
        ),
    )
    recovered = [r for r in results if isinstance(r, set)]
    assert len(recovered) == 2, results
    assert recovered[0] | recovered[1] == left
    assert not recovered[0] & recovered[1]

    with store.read() as conn:
        statuses: dict[str, str] = {
            r[0]: r[1] for r in conn.execute(text("SELECT id, status FROM actions WHERE auto_execute = 1"))
        }
        executions = conn.execute(
            text(
                "SELECT target_id, count(*) FROM audit_log WHERE action = 'action.execute' GROUP BY target_id"
            )
        ).all()
        effects = conn.execute(text("SELECT count(*) FROM simulator_effects")).scalar()
    assert all(statuses[a] == "succeeded" for a in left)
    assert all(n == 1 for _, n in executions)
    assert effects == len(left)
    assert recover(store, settings) == ()
    assert not Workflow(store, settings).stale()
