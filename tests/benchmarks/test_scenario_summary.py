"""The scenario benchmark's summary judges money against both truths: the twin run's and expected minus actual."""

from __future__ import annotations

from typing import Any

from selfheal.bench.scenarios import ScenarioResult, summarize


def _run(estimate: float, twin: float, expected: float, interval: tuple[float, float]) -> ScenarioResult:
    return ScenarioResult(
        fault="checkout_latency",
        seed=1,
        stages=["wave_1"],
        truth_category="checkout_latency",
        predicted="checkout_latency",
        confidence=0.9,
        concurrent=[],
        merchant_precision=1.0,
        merchant_recall=1.0,
        merchant_f1=1.0,
        truth_revenue=twin,
        estimated_revenue=estimate,
        revenue_rel_error=round(abs(estimate - twin) / twin, 4),
        detected=True,
        detection_delay_min=None,
        early_incident=False,
        seconds=1.0,
        family="catalogue",
        truth_lost_orders=50,
        revenue_covered=interval[0] <= twin <= interval[1],
        extra={"revenue_interval": list(interval)},
        truth_expected_revenue=expected,
        revenue_rel_error_expected=round(abs(estimate - expected) / expected, 4),
    )


def test_the_summary_reports_the_error_and_the_interval_against_each_truth() -> None:
    runs = [
        _run(1000.0, twin=1200.0, expected=1010.0, interval=(900.0, 1100.0)),
        _run(2000.0, twin=1700.0, expected=1950.0, interval=(1800.0, 2200.0)),
        _run(3000.0, twin=3000.0, expected=3300.0, interval=(2900.0, 3100.0)),
    ]
    summary: dict[str, Any] = summarize(runs, [], {})
    group = summary["tuned"]["per_fault"]["checkout_latency"]
    assert group["revenue_median_error"] == 0.167  # 0.167, 0.176, 0.0
    assert group["revenue_median_error_vs_expected"] == 0.026  # 0.0099, 0.0256, 0.0909
    assert group["interval_covers"] == "1/3"
    assert group["interval_covers_expected"] == "2/3"
