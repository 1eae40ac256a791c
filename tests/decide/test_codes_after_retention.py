"""The status codes a cause is chosen on come from the rollups, which outlive raw log retention: a window whose
raw log events were pruned gives the same root cause, alternatives and blast radius as before (on SQLite and
PostgreSQL). A code the rollups fold into its class is counted as another code of that class, never as one a
cause asks for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from selfheal.decide import assess
from selfheal.decide.model import Assessment
from selfheal.observe import observe
from selfheal.observe.model import ErrorCodeCount, RollupColumns, RollupRow, error_codes_of
from selfheal.reason import ReasonContext, reason
from selfheal.records import dt_to_ms
from selfheal.settings import Settings
from selfheal.signals import CODE_UNKNOWN
from selfheal.simulate import CATEGORY_OF, FaultSpec, SimConfig, load_into, simulate
from selfheal.store import Store
from selfheal.store.signals_repo import prune_raw_logs

START = datetime(2024, 3, 4, tzinfo=UTC)
ONSET = START + timedelta(hours=8)
AS_OF = ONSET + timedelta(minutes=60)
CODE_FAULTS = ("api_auth_401", "cart_sync_mismatch")
"""Faults told apart by their status codes (4xx: auth 401/403 against sync 404/409 against ordinary 422s)."""


def _decision(a: Assessment | None) -> tuple[object, ...]:
    assert a is not None
    return (
        a.root_cause.category,
        a.root_cause.confidence,
        tuple((h.category, h.confidence) for h in a.alternatives),
        a.blast_radius.stages,
        tuple(sorted((m.merchant_id, m.basis) for m in a.blast_radius.merchants)),
        a.risk_report.lost_revenue.value if a.risk_report else None,
    )


def _assess(store: Store, settings: Settings) -> tuple[tuple[object, ...], tuple[ErrorCodeCount, ...]]:
    obs = observe(store, AS_OF, 60, settings)
    return _decision(assess(obs, reason(obs, ReasonContext(settings=settings)), settings)), obs.error_codes


@pytest.mark.parametrize("fault", CODE_FAULTS)
def test_a_window_whose_raw_logs_were_pruned_is_judged_the_same(
    fault: str, store: Store, settings: Settings
) -> None:
    config = SimConfig(
        seed=3,
        merchants=30,
        start=START,
        minutes=9 * 60,
        logs_from=ONSET - timedelta(hours=2),
        faults=(FaultSpec(name=fault, start=ONSET, duration_minutes=60, stages=("wave_2",)),),
    )
    load_into(store, simulate(config))
    settings = settings.model_copy(update={"dense_embeddings": False})
    before, codes_before = _assess(store, settings)
    assert before[0].value == CATEGORY_OF[fault]
    with store.transaction() as conn:
        assert prune_raw_logs(conn, dt_to_ms(AS_OF)) > 0  # every raw event of the window is gone
    after, codes_after = _assess(store, settings)
    assert codes_after == codes_before and any(c.status_code.isdigit() for c in codes_after)
    assert after == before


def _row(endpoint: str, status_class: str, code: str, count: int) -> RollupRow:
    return RollupRow(
        minute=START,
        merchant_id="m",
        migration_stage="wave_1",
        source="api",
        endpoint=endpoint,
        status_class=status_class,
        count=count,
        latency_count=0,
        latency_sum=0.0,
        latency_max=0.0,
        latency_hist=(),
        status_code=code,
    )


def test_codes_are_the_rollups_failed_requests_folded_codes_as_their_class_unknown_ones_left_out() -> None:
    rows = [
        _row("POST /api/checkout", "2xx", "2xx", 500),
        _row("POST /api/checkout", "4xx", "401", 30),
        _row("POST /api/checkout", "4xx", "401", 12),  # another minute or merchant: added up
        _row("POST /api/checkout", "4xx", "4xx", 7),  # a 418, folded into its class
        _row("POST /api/checkout", "4xx", CODE_UNKNOWN, 90),  # stored before the rollups kept codes
        _row("GET /api/cart", "5xx", "503", 4),
    ]
    assert error_codes_of(RollupColumns.from_rows(rows)) == (
        ErrorCodeCount(source="api", endpoint="GET /api/cart", status_code="503", count=4),
        ErrorCodeCount(source="api", endpoint="POST /api/checkout", status_code="401", count=42),
        ErrorCodeCount(source="api", endpoint="POST /api/checkout", status_code="4xx", count=7),
    )
    assert error_codes_of(RollupColumns.empty()) == ()
