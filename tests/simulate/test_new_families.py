"""The sixth pass's families (`flapping_noise`, `gappy_daytime`): each seed draws other details, and the
details really are in the generated signals."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from selfheal.bench.scenarios import _onset
from selfheal.simulate import FaultSpec, SignalGap, SignalVariant, SimConfig, SimResult, simulate
from selfheal.simulate.engine import BASE_ORDER_SHARE
from selfheal.simulate.families import (
    BACKGROUND_ERROR_SHARE,
    HELD_OUT,
    TUNED,
    RunVariant,
    background_faults,
    draw,
    fault_spec,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FAULT_START = T0 + timedelta(minutes=10)


def _run(
    faults: tuple[FaultSpec, ...] = (), merchants: int = 16, minutes: int = 60, **kw: object
) -> SimResult:
    return simulate(SimConfig(seed=5, merchants=merchants, start=T0, minutes=minutes, faults=faults, **kw))  # type: ignore[arg-type]


def test_the_new_families_are_split_tuned_and_held_out() -> None:
    assert "flapping_noise" in TUNED and "gappy_daytime" in HELD_OUT


def test_each_new_family_draws_other_details_per_seed() -> None:
    flaps = {
        (
            draw("flapping_noise", "webhook_500", s).burst_minutes,
            draw("flapping_noise", "webhook_500", s).pause_minutes,
        )
        for s in range(1, 6)
    }
    blips = {draw("flapping_noise", "webhook_500", s).blips for s in range(1, 6)}
    assert len(flaps) >= 3 and len(blips) >= 2
    gappy = [draw("gappy_daytime", "api_auth_401", s) for s in range(1, 6)]
    assert len({g.onset_hour for g in gappy}) >= 3
    assert len({g.gaps for g in gappy}) == 5 and all(g.gaps for g in gappy)
    assert {g.second_stage is None for g in gappy} == {True, False}


def test_a_flapping_fault_fails_only_in_its_bursts() -> None:
    flap = FaultSpec(
        name="webhook_500",
        start=FAULT_START,
        duration_minutes=48,
        stages=("wave_1", "pilot"),
        burst_minutes=3,
        pause_minutes=5,
    )
    steady = flap.model_copy(update={"burst_minutes": 0, "pause_minutes": 0})
    r = _run((flap,))
    by_phase: Counter[bool] = Counter()
    for e in r.logs:
        # a webhook follows its checkout by up to ~30 s: judge the minute of the checkout's start
        if e.source == "webhook" and e.status_code >= 500:
            elapsed = (e.ts - timedelta(seconds=30) - FAULT_START).total_seconds() / 60
            by_phase[elapsed % 8 < 3.5] += 1
    assert by_phase[True] > 10 * max(by_phase[False], 1)
    assert 0 < r.truth.faults[0].lost_orders < _run((steady,)).truth.faults[0].lost_orders / 2


def test_background_errors_and_blips_are_in_the_logs_and_blamed_on_no_platform_fault() -> None:
    plain = _run(merchants=20, minutes=120)
    rv = RunVariant("flapping_noise", background_errors=True, blips=2)
    noise = background_faults(rv, plain.truth.merchants, T0, FAULT_START, T0 + timedelta(minutes=120), seed=5)
    assert [n.name for n in noise].count("background_errors") == 20
    assert [n.name for n in noise].count("deploy_blip") == 2
    shares = [n.intensity * 0.03 for n in noise if n.name == "background_errors"]
    low, high = BACKGROUND_ERROR_SHARE
    assert all(low - 1e-4 <= s <= high + 1e-4 for s in shares) and max(shares) > 2 * min(shares)
    noisy = _run(noise, merchants=20, minutes=120)

    def server_errors(r: SimResult) -> int:
        return sum(
            1 for e in r.logs if e.endpoint == "POST /api/checkout" and e.status_code in (500, 502, 503)
        )

    assert server_errors(noisy) > 2 * server_errors(plain)
    assert {f.category for f in noisy.truth.faults} == {"decoy"}


def test_gaps_drop_one_sources_records_and_leave_the_truth() -> None:
    fault = (
        FaultSpec(name="payment_provider_errors", start=FAULT_START, duration_minutes=40, stages=("wave_1",)),
    )
    gap_from = T0 + timedelta(minutes=20)
    variant = SignalVariant(
        gaps=(
            SignalGap(source="api", start=gap_from, minutes=5),
            SignalGap(source="kpi", start=gap_from, minutes=5),
        )
    )
    plain, seen = _run(fault), _run(fault, variant=variant)

    def within(ts: datetime) -> bool:
        return gap_from <= ts < gap_from + timedelta(minutes=5)

    assert [e for e in plain.logs if e.source == "api" and within(e.ts)]
    assert not [e for e in seen.logs if e.source == "api" and within(e.ts)]
    assert [e for e in seen.logs if e.source == "payment" and within(e.ts)]
    assert not [p for p in seen.metrics if within(p.ts)]
    assert len(plain.metrics) - len(seen.metrics) == 5 * 16
    assert seen.truth == plain.truth


def test_gappy_daytime_places_its_gaps_its_onset_and_its_second_stage() -> None:
    rv = next(
        d
        for d in (draw("gappy_daytime", "webhook_403", s) for s in range(1, 20))
        if d.second_stage is not None
    )
    onset = _onset(1, rv.onset_hour)
    assert onset.hour == rv.onset_hour and _onset(1).hour == 2
    v = rv.signal_variant(onset)
    assert v is not None and [(g.start - onset) / timedelta(minutes=1) for g in v.gaps] == [
        g[1] for g in rv.gaps
    ]
    merchants = _run().truth.merchants
    spec = fault_spec("webhook_403", rv, "wave_1", onset, 60, merchants)
    assert (
        len(spec.stages) == 2
        and spec.stages[0] == "wave_1"
        and spec.stages[1] in ("pilot", "wave_2", "headless")
    )


def test_expected_minus_actual_truth_leaves_out_what_a_merchants_own_background_errors_cost() -> None:
    """The expected-basis truth counts what the fault costs: a merchant's own background errors (3 % of its
    checkouts here, about 45 orders in 50 minutes) are part of its normal, not of the fault's loss."""
    fault = FaultSpec(name="webhook_500", start=FAULT_START, duration_minutes=50, intensity=0.1)
    plain = simulate(SimConfig(seed=5, merchants=30, start=T0, minutes=60, faults=(fault,)))
    noise = tuple(
        FaultSpec(name="background_errors", start=T0, duration_minutes=60, merchants=(m.id,))
        for m in plain.truth.merchants
    )
    noisy = simulate(SimConfig(seed=5, merchants=30, start=T0, minutes=60, faults=(fault, *noise)))
    clean, seen = plain.truth.faults[0].expected_lost_orders, noisy.truth.faults[0].expected_lost_orders
    assert clean > 100 and abs(seen - clean) < 0.1 * clean


def test_expected_minus_actual_truth_of_a_flapping_fault_counts_its_failing_minutes_only() -> None:
    """A flapping fault loses nothing in its healthy minutes: the expected-basis truth sums expected minus actual
    orders over its failing minutes only (the healthy minutes would add only their orders' sampling noise)."""
    flap = FaultSpec(
        name="webhook_500", start=FAULT_START, duration_minutes=40, burst_minutes=3, pause_minutes=5
    )
    r = _run((flap,), merchants=30)
    truth = r.truth.faults[0]
    by_id = {m.id: m for m in r.truth.merchants if m.id in truth.merchants}
    failing = healthy = 0.0
    for p in r.metrics:
        m = by_id.get(p.merchant_id)
        if m is None or not FAULT_START <= p.ts < truth.end:
            continue
        gap = p.checkout_attempts * m.success_rate * BASE_ORDER_SHARE - p.orders
        if ((p.ts - FAULT_START).total_seconds() / 60) % 8 < 3:
            failing += gap
        else:
            healthy += gap
    assert truth.expected_lost_orders == pytest.approx(failing, abs=0.01)
    assert abs(healthy) > 0.01  # the healthy minutes' noise, which the truth leaves out
