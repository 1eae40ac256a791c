"""Recovery through whole cycles (run_cycle on SQLite and PostgreSQL): a simulated webhook_403 fault that a
fixing action ends. The incident shows `recovering` within two cycles of the fix, resolves after the
configured normal cycles, keeps its severity, its own onset and its loss so far; the API shows it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from selfheal.api.app import create_app
from selfheal.bench.recovery import run_recovery
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store

RESOLVE = 3


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        auth_mode=AuthMode.open,
        dense_embeddings=False,
        incident_resolve_cycles=RESOLVE,
        incident_recovery_minutes=10,
    )


def test_the_story_is_right_after_the_fix(store: Store, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    run = run_recovery(store, settings, seed=1, merchants=30, fault_minutes=30, after_minutes=35, step=5)
    assert run.incident_id is not None and run.opened_minute is not None and run.opened_minute < 30
    assert run.cycles_to_recovering is not None and run.cycles_to_recovering <= 2
    assert run.cycles_to_resolved is not None
    assert run.cycles_to_resolved == run.cycles_to_recovering + RESOLVE - 1
    assert not run.severity_rose_after_fix
    assert run.incidents == 1, "the window's leftover loss opens no second incident after resolution"
    assert run.onset_error_minutes is not None and abs(run.onset_error_minutes) <= 10
    assert run.lost_orders_so_far is not None
    assert run.lost_orders_so_far == pytest.approx(run.truth_lost_orders, rel=0.5)
    # The loss so far is cumulative: it does not fall back as the pre-fix minutes leave the window.
    shown = [t.lost_orders_so_far for t in run.trace if t.lost_orders_so_far is not None]
    assert shown[-1] >= 0.8 * max(shown)
    recovering = [t.story for t in run.trace if t.status == "recovering"]
    assert recovering and all(s and s.startswith("Recovering since") for s in recovering)
    assert all("if it persists" not in (s or "") for s in recovering)
    assert run.final_story and run.final_story.startswith("Resolved at")

    with TestClient(create_app(settings, store)) as client:
        life = client.get(f"/incidents/{run.incident_id}/lifecycle").json()
        whole = client.get(f"/incidents/{run.incident_id}").json()
        listed = client.get("/incidents", params={"status": "resolved"}).json()
    assert life["status"] == "resolved" and life["recovering_since"] is not None
    assert _at(life["onset"]) == _at(whole["onset"]) and life["story"] == whole["story"] == run.final_story
    assert life["lost_orders_so_far"] == pytest.approx(run.lost_orders_so_far)
    assert life["peak_lost_orders_per_hour"] > 0
    assert "recovering" in [e["event"] for e in life["timeline"]]
    assert "if it persists" not in whole["assessment"]["risk_report"]["text"]
    assert [i["id"] for i in listed] == [run.incident_id]
    assert _at(listed[0]["recovering_since"]) == _at(life["recovering_since"])
    # The headline says it is over and what it cost, not "recovering".
    assert "resolved, ~" in whole["title"] and "recovering" not in whole["title"], whole["title"]


def test_an_incident_recovers_when_the_fault_stops_by_itself(tmp_path: Path) -> None:
    settings = _settings(tmp_path).model_copy(update={"act_auto_execute_low_risk": False})
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    run = run_recovery(
        store,
        settings,
        seed=2,
        merchants=30,
        fault_minutes=30,
        after_minutes=30,
        step=5,
        execute_action=False,
    )
    store.dispose()
    statuses = [t.status for t in run.trace]
    assert "mitigating" not in statuses, "no action ran"
    assert statuses.index("recovering") > 0 and statuses[statuses.index("recovering") - 1] == "open"
    assert run.cycles_to_recovering is not None and run.cycles_to_recovering <= 2
    assert run.cycles_to_resolved is not None and run.cycles_to_resolved <= 2 + RESOLVE - 1


@pytest.mark.parametrize(("fault_minutes", "fix_seconds"), [(32, 40), (33, 30), (34, 50)])
def test_a_fix_between_cycles_recovers_within_two_cycles(
    tmp_path: Path, fault_minutes: int, fix_seconds: int
) -> None:
    """Cycles every 5 minutes from the onset; the fix lands 2-5 minutes after one of them, mid-minute (that
    minute still carries the fault). The first cycle after it may come too soon to judge, the second must
    show `recovering`, and resolution follows after the configured normal cycles."""
    settings = _settings(tmp_path)
    store = Store.open(settings.resolved_database_url())
    try:
        run = run_recovery(
            store, settings, seed=1, fault_minutes=fault_minutes, fix_seconds=fix_seconds, after_minutes=40
        )
    finally:
        store.dispose()
    trace = [(t.minute, t.status) for t in run.trace]
    assert run.incidents == 1, trace
    assert run.cycles_to_recovering is not None and run.cycles_to_recovering <= 2, trace
    assert run.cycles_to_resolved is not None, trace
    assert run.cycles_to_resolved <= run.cycles_to_recovering + RESOLVE - 1, trace
