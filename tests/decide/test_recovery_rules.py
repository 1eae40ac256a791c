"""Recovery rules, pure: the current rate, status moves on it, held severity, the incident's own loss so far
and the story in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from selfheal.decide.lifecycle import TrackedIncident, current_rate, held_severity, loss_severity, step, story
from selfheal.decide.plan_model import IncidentStatus, LossSoFar, Scope
from selfheal.reason.model import Severity

T0 = datetime(2025, 3, 4, 0, 18, tzinfo=UTC)


def _inc(status: IncidentStatus, quiet: int = 0) -> TrackedIncident:
    return TrackedIncident(
        incident_id="i",
        status=status,
        scope=Scope(categories=("webhook_delivery",), stages=("wave_1",), merchants=("A",)),
        quiet_cycles=quiet,
    )


def test_current_rate_is_normal_within_noise_and_not_during_a_loss() -> None:
    healthy = current_rate(expected=16.0, actual=14, minutes=10, lost_revenue=100.0, peak_per_hour=None)
    assert healthy.measured and healthy.normal  # 2 lost of 16 expected: noise
    failing = current_rate(expected=16.0, actual=0, minutes=10, lost_revenue=800.0, peak_per_hour=None)
    assert failing.measured and not failing.normal
    assert failing.lost_orders_per_hour == pytest.approx(96.0)
    assert failing.lost_revenue_per_hour == pytest.approx(4800.0)
    half = current_rate(expected=100.0, actual=50, minutes=10, lost_revenue=0.0, peak_per_hour=600.0)
    assert not half.normal  # 300/h: far above noise
    small = current_rate(expected=100.0, actual=85, minutes=10, lost_revenue=0.0, peak_per_hour=600.0)
    assert small.normal  # 15 lost: within noise, 90/h under half the peak
    # A partial loss at low volume hides inside the noise bound; half the peak rate still tells.
    partial = current_rate(expected=16.0, actual=11, minutes=10, lost_revenue=0.0, peak_per_hour=30.0)
    assert not partial.normal
    idle = current_rate(expected=0.2, actual=0, minutes=10, lost_revenue=0.0, peak_per_hour=None)
    assert not idle.measured and not idle.normal


def test_a_seen_incident_recovers_on_the_current_rate_and_resolves_after_the_normal_cycles() -> None:
    normal = current_rate(expected=16.0, actual=16, minutes=10, lost_revenue=0.0, peak_per_hour=90.0)
    losing = current_rate(expected=16.0, actual=1, minutes=10, lost_revenue=0.0, peak_per_hour=90.0)
    # The window still holds the loss from before the fix, so the assessment still sees the incident.
    first = step(
        _inc(IncidentStatus.mitigating), seen=True, action_executed=True, resolve_after=3, rate=normal
    )
    assert first.status == IncidentStatus.recovering and first.quiet_cycles == 1
    assert "recovering" in first.events
    second = step(
        _inc(IncidentStatus.recovering, 1), seen=True, action_executed=True, resolve_after=3, rate=normal
    )
    assert second.status == IncidentStatus.recovering and second.quiet_cycles == 2
    third = step(
        _inc(IncidentStatus.recovering, 2), seen=True, action_executed=True, resolve_after=3, rate=normal
    )
    assert third.status == IncidentStatus.resolved
    # Losing again while recovering: back to mitigating, the count restarts.
    relapse = step(
        _inc(IncidentStatus.recovering, 2), seen=True, action_executed=True, resolve_after=3, rate=losing
    )
    assert relapse.status == IncidentStatus.mitigating and relapse.quiet_cycles == 0
    # Seen and still losing: stays open.
    still = step(_inc(IncidentStatus.open), seen=True, action_executed=False, resolve_after=3, rate=losing)
    assert still.status == IncidentStatus.open and still.quiet_cycles == 0
    # No traffic to judge by: seeing the incident keeps it going (the rate is unmeasured).
    unmeasured = current_rate(expected=0.0, actual=0, minutes=10, lost_revenue=0.0, peak_per_hour=None)
    held = step(_inc(IncidentStatus.open), seen=True, action_executed=False, resolve_after=3, rate=unmeasured)
    assert held.status == IncidentStatus.open


def test_severity_escalates_only_on_the_current_rate() -> None:
    normal = current_rate(expected=16.0, actual=16, minutes=10, lost_revenue=0.0, peak_per_hour=90.0)
    losing_fast = current_rate(expected=40.0, actual=0, minutes=10, lost_revenue=0.0, peak_per_hour=None)
    losing_slow = current_rate(expected=6.0, actual=0, minutes=10, lost_revenue=0.0, peak_per_hour=None)
    assert loss_severity(240.0) == Severity.critical and loss_severity(36.0) == Severity.high
    # After the fix: the rolling window's inflated rate proposes critical; the incident stays high.
    assert held_severity(Severity.high, Severity.critical, IncidentStatus.recovering, normal) == Severity.high
    assert held_severity(Severity.high, Severity.critical, IncidentStatus.mitigating, normal) == Severity.high
    # A current rate of 240 lost orders per hour supports critical; 36 per hour supports high only.
    assert (
        held_severity(Severity.high, Severity.critical, IncidentStatus.open, losing_fast) == Severity.critical
    )
    assert (
        held_severity(Severity.medium, Severity.critical, IncidentStatus.open, losing_slow) == Severity.high
    )
    # Lower is taken while the incident is active; the first cycle takes what it is given.
    assert held_severity(Severity.critical, Severity.high, IncidentStatus.open, losing_slow) == Severity.high
    assert held_severity(None, Severity.critical, IncidentStatus.open, None) == Severity.critical


def test_story_is_past_tense_once_recovering() -> None:
    now = current_rate(expected=16.0, actual=0, minutes=10, lost_revenue=800.0, peak_per_hour=None)
    loss = LossSoFar(
        onset=T0,
        lost_orders=44.4,
        lost_revenue=1201.0,
        counted_until=T0 + timedelta(minutes=30),
        peak_lost_orders_per_hour=96.0,
        peak_lost_revenue_per_hour=4800.0,
        current=now,
    )
    open_text = story(IncidentStatus.open, loss, "USD")
    assert open_text.startswith("Lost so far since 00:18 UTC: 44 orders / USD 1,201")
    assert "at the current rate (the last 10 minutes), about 96 orders / USD 4,800 per hour" in open_text
    recovering = story(IncidentStatus.recovering, loss, "USD", recovering_since=T0 + timedelta(minutes=28))
    assert recovering.startswith(
        "Recovering since 00:46 UTC; lost so far since 00:18 UTC: 44 orders / USD 1,201"
    )
    assert "if it persists" not in recovering and "per day" not in recovering
    resolved = story(
        IncidentStatus.resolved,
        loss,
        "USD",
        recovering_since=T0 + timedelta(minutes=28),
        resolved_at=T0 + timedelta(minutes=38),
    )
    assert resolved.startswith(
        "Resolved at 00:56 UTC (recovering since 00:46 UTC); lost since 00:18 UTC: 44 orders"
    )


def test_a_recovering_incident_relapses_only_when_the_loss_is_back() -> None:
    """Hysteresis: entering recovering needs a normal rate; once recovering, a noisy span (beyond noise but
    under half the peak) still counts towards resolving, and only a loss back at half the peak relapses."""
    noisy = current_rate(expected=20.0, actual=12, minutes=10, lost_revenue=0.0, peak_per_hour=129.0)
    assert noisy.measured and not noisy.normal and not noisy.loss_back  # 48/h: beyond noise, under 64.5/h
    back = current_rate(expected=20.0, actual=5, minutes=10, lost_revenue=0.0, peak_per_hour=129.0)
    assert back.loss_back  # 90/h
    # An open incident is not recovering on a noisy span ...
    assert step(_inc(IncidentStatus.mitigating), True, False, 3, noisy).status == IncidentStatus.mitigating
    # ... a recovering one counts it, and resolves on the configured count ...
    held = step(_inc(IncidentStatus.recovering, quiet=1), True, False, 3, noisy)
    assert held.status == IncidentStatus.recovering and held.quiet_cycles == 2
    assert (
        step(_inc(IncidentStatus.recovering, quiet=2), False, False, 3, noisy).status
        == IncidentStatus.resolved
    )
    # ... and relapses only when the loss is back.
    relapse = step(_inc(IncidentStatus.recovering, quiet=2), True, True, 3, back)
    assert (
        relapse.status == IncidentStatus.mitigating
        and "relapsed" in relapse.events
        and relapse.quiet_cycles == 0
    )
