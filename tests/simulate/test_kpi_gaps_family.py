"""The seventh pass's tuned family `kpi_gaps`: catalogue runs with stretches of missing KPI points (and logs),
drawn per seed, really missing from the generated signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selfheal.simulate import SimConfig, simulate
from selfheal.simulate.families import FAMILIES, HELD_OUT, TUNED, RunVariant, draw, fault_spec

ONSET = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
START = ONSET - timedelta(minutes=40)


def test_kpi_gaps_is_tuned_and_draws_other_gaps_per_seed() -> None:
    assert "kpi_gaps" in TUNED and "kpi_gaps" not in HELD_OUT and "kpi_gaps" in FAMILIES
    draws = [draw("kpi_gaps", "webhook_403", s) for s in range(1, 9)]
    assert len({d.gaps for d in draws}) == 8
    for d in draws:
        assert 1 <= len(d.gaps) <= 3 and d.gaps[0][0] == "kpi"
        assert all(3 <= n <= 15 and -30 <= first <= 50 for _, first, n in d.gaps)
        assert d.onset_hour is None and d.scope == "stage" and not d.statuses
    assert {src for d in draws for src, _, _ in d.gaps} >= {"kpi", "api"}


def test_kpi_gaps_leave_minutes_without_any_kpi_point() -> None:
    rv = draw("kpi_gaps", "payment_provider_errors", 2)
    plain = simulate(SimConfig(seed=2, merchants=12, start=START, minutes=120))
    spec = fault_spec("payment_provider_errors", rv, "wave_1", ONSET, 60, plain.truth.merchants)
    r = simulate(
        SimConfig(
            seed=2, merchants=12, start=START, minutes=120, faults=(spec,), variant=rv.signal_variant(ONSET)
        )
    )
    minutes = {p.ts.replace(second=0, microsecond=0) for p in r.metrics}
    for src, first, n in rv.gaps:
        gap = [ONSET + timedelta(minutes=first + i) for i in range(n)]
        if src == "kpi":
            assert not minutes & set(gap)
        assert all(START <= g < START + timedelta(minutes=120) for g in gap)
    assert 120 - len(minutes) >= max(n for src, _, n in rv.gaps if src == "kpi")


def test_any_hour_is_tuned_and_starts_the_catalogue_fault_at_any_hour_of_the_day() -> None:
    assert "any_hour" in TUNED and "any_hour" not in HELD_OUT
    draws = [
        draw("any_hour", fault, s) for fault in ("webhook_500", "checkout_latency") for s in range(1, 13)
    ]
    hours = {d.onset_hour for d in draws}
    assert len(hours) >= 8 and all(h is not None and 0 <= h <= 23 for h in hours)
    assert all(d.scope == "stage" and not d.statuses and not d.gaps and d.variant is None for d in draws)


def test_gaps_any_hour_is_tuned_and_puts_a_kpi_gap_in_the_hour_before_a_daytime_onset() -> None:
    assert "gaps_any_hour" in TUNED and "gaps_any_hour" not in HELD_OUT and "gaps_any_hour" in FAMILIES
    draws = [
        draw("gaps_any_hour", fault, s) for fault in ("webhook_500", "checkout_latency") for s in range(1, 13)
    ]
    assert len({d.gaps for d in draws}) == len(draws)
    assert len({d.onset_hour for d in draws}) >= 8
    for d in draws:
        assert d.onset_hour is not None and 0 <= d.onset_hour <= 23
        assert 1 <= len(d.gaps) <= 3 and d.gaps[0][0] == "kpi" and -60 <= d.gaps[0][1] <= -3
        assert all(3 <= n <= 15 and -60 <= first <= 50 for _, first, n in d.gaps)
        assert d.scope == "stage" and not d.statuses and d.variant is None
    assert {src for d in draws for src, _, _ in d.gaps[1:]} == {"kpi", "api", "provider"}


def test_gap_to_onset_is_tuned_and_ends_a_gap_of_any_source_exactly_at_the_onset() -> None:
    assert "gap_to_onset" in TUNED and "gap_to_onset" not in HELD_OUT
    draws = [
        draw("gap_to_onset", fault, s) for fault in ("webhook_500", "api_auth_401") for s in range(1, 13)
    ]
    assert len({d.gaps for d in draws}) == len(draws)
    assert {d.gaps[0][0] for d in draws} == {"kpi", "api", "provider"}
    assert len({d.onset_hour for d in draws}) >= 8
    for d in draws:
        (_, first, n), others = d.gaps[0], d.gaps[1:]
        assert 3 <= n <= 15 and first + n == 0 and len(others) <= 2
        assert all(3 <= m <= 15 and -30 <= start <= 50 for _, start, m in others)
        assert d.onset_hour is not None and d.scope == "stage" and d.variant is None


def test_merchant_gap_drops_one_stage_merchants_records_only() -> None:
    assert "merchant_gap" in TUNED and "merchant_gap" not in HELD_OUT
    draws = [draw("merchant_gap", "webhook_500", s) for s in range(1, 13)]
    assert all(
        1 <= len(d.merchant_gaps) <= 2 and d.merchant_gaps[0][0] == "kpi" and not d.gaps for d in draws
    )
    assert all(
        -10 <= first <= 45 and 3 <= n <= 15 and 0 <= r <= 2
        for d in draws
        for _, first, n, r in d.merchant_gaps
    )
    rv = RunVariant("merchant_gap", merchant_gaps=(("kpi", -20, 10, 1), ("api", -20, 10, 1)))
    assert rv.signal_variant(ONSET) is None
    plain = simulate(SimConfig(seed=3, merchants=12, start=START, minutes=60))
    largest = tuple(m.id for m in sorted(plain.truth.merchants, key=lambda m: -m.attempts_per_minute))
    variant = rv.signal_variant(ONSET, largest)
    assert variant is not None and {g.merchants for g in variant.gaps} == {(largest[1],)}
    r = simulate(SimConfig(seed=3, merchants=12, start=START, minutes=60, variant=variant))
    gap = {ONSET - timedelta(minutes=20 - i) for i in range(10)}
    shop_minutes = {p.ts for p in r.metrics if p.merchant_id == largest[1]}
    assert not shop_minutes & gap and len(shop_minutes) == 50
    assert {p.ts for p in r.metrics if p.merchant_id == largest[0]} >= gap
    in_gap = [e for e in r.logs if e.source == "api" and e.ts.replace(second=0, microsecond=0) in gap]
    assert in_gap and largest[1] not in {e.merchant_id for e in in_gap}
