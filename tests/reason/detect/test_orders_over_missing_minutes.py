"""Minutes without any KPI point are missing data, not minutes without orders: the orders test compares a stage's
orders with the same window yesterday / last week over the covered minutes only, says "not enough data" when too
few are covered, and still sees a real order drop around a gap (a collector restart or an exporter that drops
minutes must not open an incident on its own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selfheal.observe.history_model import DetectionHistory, MerchantVolume
from selfheal.observe.model import MetricRow, Observation, SignalCounts
from selfheal.reason.detect.anomalies import data_notes, detect_anomalies
from selfheal.reason.model import Anomaly, DataNoteKind

AS_OF = datetime(2025, 3, 4, 3, 0, tzinfo=UTC)
WINDOW = 60
START = AS_OF - timedelta(minutes=WINDOW)
STAGES = {"A": "wave_1", "B": "wave_1", "E": "legacy", "F": "legacy"}
ATTEMPTS, ORDERS = 10, 5
"""Each merchant, every minute: 10 checkout attempts and 5 orders (the same window yesterday and last week)."""


def _world(
    gaps: tuple[range, ...] = (), orders_of: dict[str, list[int]] | None = None, silent_stage: str = ""
) -> Observation:
    """Every merchant reports each minute except in `gaps` (minutes of the window without any KPI point, or
    without any of `silent_stage`'s only); `orders_of` overrides a merchant's orders per minute."""
    missing = {i for g in gaps for i in g}
    rows = [
        MetricRow(
            ts=START + timedelta(minutes=i),
            merchant_id=merchant,
            migration_stage=stage,
            interval_seconds=60,
            checkout_attempts=ATTEMPTS,
            orders=(orders_of or {}).get(merchant, [ORDERS] * WINDOW)[i],
            revenue=50.0,
            currency="USD",
        )
        for merchant, stage in STAGES.items()
        for i in range(WINDOW)
        if i not in missing or (silent_stage and stage != silent_stage)
    ]
    same_window = ORDERS * WINDOW
    history = DetectionHistory(
        start=START - timedelta(days=1),
        end=START,
        merchants=tuple(
            MerchantVolume(
                merchant_id=merchant,
                minutes=1440,
                checkout_attempts=ATTEMPTS * 1440,
                orders=ORDERS * 1440,
                revenue=ORDERS * 1440 * 10.0,
                orders_1d=same_window,
                orders_7d=same_window,
            )
            for merchant in STAGES
        ),
        coverage_1d=1.0,
        coverage_7d=1.0,
    )
    return Observation(
        as_of=AS_OF,
        window_start=START,
        window_minutes=WINDOW,
        baseline_start=START - timedelta(days=1),
        counts=SignalCounts(tickets=0, log_events=0, metric_points=len(rows)),
        metrics=tuple(rows),
        tickets=(),
        payment_events=(),
        baselines=(),
        merchant_stages=STAGES,
        history=history,
    )


def _order_drops(obs: Observation) -> dict[str, Anomaly]:
    return {a.dimensions.stages[0]: a for a in detect_anomalies(obs, ()) if a.metric == "orders"}


def _dropped(orders_from: int) -> list[int]:
    """5 orders a minute, 1 from minute `orders_from` on (an 80 % drop)."""
    return [ORDERS if i < orders_from else 1 for i in range(WINDOW)]


def test_minutes_without_kpi_points_around_normal_orders_raise_no_order_drop() -> None:
    # A collector restart (12 minutes) and an exporter gap (10 minutes): counted as zero orders, 38 of 60
    # minutes' orders would look like a 37 % drop on every stage.
    obs = _world(gaps=(range(12, 24), range(40, 50)))
    assert _order_drops(_world()) == {}
    assert _order_drops(obs) == {}
    assert not [n for n in data_notes(obs, 10) if n.kind == DataNoteKind.missing_minutes]


def test_a_real_order_drop_with_a_gap_in_it_is_still_raised_against_the_covered_minutes() -> None:
    # wave_1's orders fall to 1 a minute from minute 10 on; no KPI point at all in minutes 25-36.
    dropped = {m: _dropped(10) for m, s in STAGES.items() if s == "wave_1"}
    drops = _order_drops(_world(gaps=(range(25, 37),), orders_of=dropped))
    assert set(drops) == {"wave_1"}
    covered = WINDOW - 12
    assert drops["wave_1"].observed == 2 * (ORDERS * 10 + 1 * (covered - 10))
    assert drops["wave_1"].expected == 2 * ORDERS * covered
    assert "80% of the window's minutes with KPI data" in (drops["wave_1"].detail or "")


def test_too_few_covered_minutes_say_not_enough_data_instead_of_alarming() -> None:
    obs = _world(gaps=(range(5, 40),))
    assert _order_drops(obs) == {}
    notes = [n for n in data_notes(obs, 10) if n.kind == DataNoteKind.missing_minutes]
    assert {n.stage for n in notes} == {"wave_1", "legacy"}
    assert all(n.detail.startswith("Not enough data") and "42%" in n.detail for n in notes)


def test_one_stage_going_silent_while_the_others_report_is_not_missing_data() -> None:
    # Only wave_1's points vanish for 25 minutes (the rest of the feed reports every minute): that can be the
    # stage failing, so its orders are still compared with the whole window's.
    drops = _order_drops(_world(gaps=(range(20, 45),), silent_stage="wave_1"))
    assert set(drops) == {"wave_1"} and drops["wave_1"].expected == 2 * ORDERS * WINDOW
