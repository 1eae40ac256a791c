"""The scenario benchmark's "incident before the onset" check looks at the window before the fault's first record:
a provider clock running behind stamps the fault's first webhook failures before the nominal onset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selfheal.simulate import FaultSpec, SignalVariant, SimConfig, simulate
from selfheal.simulate.families import RunVariant

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
ONSET = T0 + timedelta(minutes=20)


def _failing_webhook_stamps(offset_seconds: int) -> list[datetime]:
    fault = FaultSpec(name="webhook_500", start=ONSET, duration_minutes=20, stages=("wave_1", "pilot"))
    variant = SignalVariant(log_offset_seconds=offset_seconds)
    r = simulate(SimConfig(seed=3, merchants=80, start=T0, minutes=40, faults=(fault,), variant=variant))
    return sorted(e.ts for e in r.logs if e.source == "webhook" and e.status_code >= 500)


def test_a_provider_clock_behind_moves_the_fault_free_window_back_to_before_its_first_failure() -> None:
    rv = RunVariant("gappy_daytime", variant=SignalVariant(log_offset_seconds=-84))
    until = rv.fault_free_until(ONSET)
    assert until == ONSET - timedelta(minutes=2)
    stamps = _failing_webhook_stamps(-84)
    # the nominal onset's window already holds the fault's failures (far above the background's rate) ...
    assert _count(stamps, ONSET - timedelta(seconds=84), ONSET) > 10 * (1 + _count(stamps, T0, until) / 18)
    # ... and the fault-free window holds none of them: its last minutes fail at the background's rate
    assert _count(stamps, until - timedelta(minutes=3), until) <= 1 + 3 * _count(stamps, T0, until) / 18


def test_without_a_clock_lead_the_fault_free_window_ends_at_the_onset() -> None:
    assert RunVariant("catalogue").fault_free_until(ONSET) == ONSET
    ahead = RunVariant("graphql_stageless", variant=SignalVariant(log_offset_seconds=97))
    assert ahead.fault_free_until(ONSET + timedelta(seconds=30)) == ONSET
    stamps = _failing_webhook_stamps(97)
    assert _count(stamps, ONSET - timedelta(minutes=3), ONSET) <= 1 + 3 * _count(stamps, T0, ONSET) / 20


def _count(stamps: list[datetime], start: datetime, end: datetime) -> int:
    return sum(start <= t < end for t in stamps)
