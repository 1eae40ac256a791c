"""No false alarms on a fresh instance: a comparison with no history is not evidence, and data that stopped
arriving is staleness, not an order collapse. Through observe -> reason on a simulated store (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from selfheal.observe import observe
from selfheal.reason import ReasonContext, reason
from selfheal.reason.model import DataNoteKind, Findings
from selfheal.settings import Settings
from selfheal.simulate import SimConfig, load_into, simulate
from selfheal.store import Store

START = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)


def _findings(tmp_path: Path, hours: float, as_of: datetime) -> Findings:
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}", dense_embeddings=False
    )
    store = Store.open(settings.resolved_database_url())
    result = simulate(SimConfig(seed=5, merchants=30, start=START, minutes=int(hours * 60), logs_from=None))
    load_into(store, result)
    obs = observe(store, as_of, 60, settings)
    findings = reason(obs, ReasonContext(settings=settings))
    store.dispose()
    return findings


def _order_drops(findings: Findings) -> list[str]:
    return [a.series for a in findings.anomalies if a.metric == "orders"]


def test_no_history_gives_no_orders_anomaly_and_says_so(tmp_path: Path) -> None:
    # Ten hours of data from noon: the evening window is compared with nothing of its own time of day.
    end = START + timedelta(hours=10)
    findings = _findings(tmp_path, 10, end)
    assert _order_drops(findings) == []
    missing = [n for n in findings.data_notes if n.kind == DataNoteKind.no_history]
    assert missing and all("No history for stage" in n.detail for n in missing)
    assert {n.stage for n in missing} >= {"legacy", "wave_1"}
    assert not [n for n in findings.data_notes if n.kind == DataNoteKind.stale]


def test_data_that_stopped_arriving_is_staleness_not_an_order_collapse(tmp_path: Path) -> None:
    # A day and a half of data, so the same window yesterday is there; the cycle runs 25 minutes after the
    # data ended: 35 minutes of orders against yesterday's full hour.
    hours = 36
    end = START + timedelta(hours=hours)
    findings = _findings(tmp_path, hours, end + timedelta(minutes=25))
    assert _order_drops(findings) == [], "missing minutes are missing data"
    stale = [n for n in findings.data_notes if n.kind == DataNoteKind.stale]
    assert {n.stage for n in stale} == {"legacy", "pilot", "wave_1", "wave_2", "headless"}
    # The last KPI minute, or the minute a last request's log lands in.
    assert all(n.last_signal_at in (end - timedelta(minutes=1), end) for n in stale)
    assert all("the data stopped arriving" in n.detail for n in stale)
    # While the data still arrives, the same store compares orders with yesterday and finds nothing wrong.
    live = _findings(tmp_path / "live", hours, end)
    assert _order_drops(live) == [] and not live.data_notes
