"""What a cause is chosen on outlives raw log retention: the status codes come from the rollups and the
payment/order pairing from the raw events and, once they are pruned, the pairing events pruning keeps of them
(`payment_order_events`), so a window whose raw log events were
pruned gives the same root cause, confidence, alternatives, blast radius, money and payments without an order as
before (on SQLite and PostgreSQL). A code the rollups fold into its class is counted as another code of that
class, never as one a cause asks for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kit import AS_OF, SIM_ONSET, api_rollup, one_fault

from selfheal.decide import assess
from selfheal.decide.model import Assessment
from selfheal.observe import observe
from selfheal.observe.model import ErrorCodeCount, RollupColumns, RollupRow, error_codes_of
from selfheal.reason import ReasonContext, reason
from selfheal.reason.model import SoftFailureGap
from selfheal.records import dt_to_ms
from selfheal.settings import Settings
from selfheal.signals import CODE_UNKNOWN
from selfheal.simulate import CATEGORY_OF, load_into, simulate
from selfheal.store import Store
from selfheal.store.signals_repo import prune_raw_logs

CHECKOUT = "POST /api/checkout"
WINDOW_END = SIM_ONSET + timedelta(minutes=60)
CODE_FAULTS = ("api_auth_401", "cart_sync_mismatch")
"""Faults told apart by their status codes (4xx: auth 401/403 against sync 404/409 against ordinary 422s)."""
PAIRING_FAULTS = ("webhook_403", "payment_provider_errors")
"""Faults whose cause weighs payments without an order (for the webhook, against it for the provider)."""


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


def _assess(
    store: Store, settings: Settings
) -> tuple[tuple[object, ...], tuple[ErrorCodeCount, ...], tuple[SoftFailureGap, ...]]:
    obs = observe(store, WINDOW_END, 60, settings)
    findings = reason(obs, ReasonContext(settings=settings))
    return _decision(assess(obs, findings, settings)), obs.error_codes, findings.soft_failures


@pytest.mark.parametrize("fault", CODE_FAULTS + PAIRING_FAULTS)
def test_a_window_whose_raw_logs_were_pruned_is_judged_the_same(
    fault: str, store: Store, settings: Settings
) -> None:
    load_into(store, simulate(one_fault(fault)))
    settings = settings.model_copy(update={"dense_embeddings": False})
    before, codes_before, gaps_before = _assess(store, settings)
    assert before[0].value == CATEGORY_OF[fault]
    if fault == "webhook_403":
        assert before[1] == 1.0 and sum(g.missing_orders for g in gaps_before) > 0
    with store.transaction() as conn:
        assert prune_raw_logs(conn, dt_to_ms(WINDOW_END)) > 0  # every raw event of the window is gone
    after, codes_after, gaps_after = _assess(store, settings)
    assert codes_after == codes_before and any(c.status_code.isdigit() for c in codes_after)
    assert gaps_after == gaps_before
    assert after == before


def test_codes_are_the_rollups_failed_requests_folded_codes_as_their_class_unknown_ones_left_out() -> None:
    def row(
        status_class: str, count: int, code: str, endpoint: str = CHECKOUT, merchant: str = "m"
    ) -> RollupRow:
        return api_rollup(merchant, "wave_1", AS_OF, status_class, count, endpoint, code)

    rows = [
        row("2xx", 500, "2xx"),
        row("4xx", 30, "401"),
        row("4xx", 12, "401", merchant="n"),  # another merchant (or minute): added up
        row("4xx", 7, "4xx"),  # a 418, folded into its class
        row("4xx", 90, CODE_UNKNOWN),  # stored before the rollups kept codes
        row("5xx", 4, "503", endpoint="GET /api/cart"),
    ]
    assert error_codes_of(RollupColumns.from_rows(rows)) == (
        ErrorCodeCount(source="api", endpoint="GET /api/cart", status_code="503", count=4),
        ErrorCodeCount(source="api", endpoint=CHECKOUT, status_code="401", count=42),
        ErrorCodeCount(source="api", endpoint=CHECKOUT, status_code="4xx", count=7),
    )
    assert error_codes_of(RollupColumns.empty()) == ()
