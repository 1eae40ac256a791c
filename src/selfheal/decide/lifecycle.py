"""Incidents over time: which open incident a new assessment belongs to, status moves, and action outcomes.

    open ──(an action executed)──▶ mitigating ──(a normal cycle)──▶ recovering ──(N normal cycles)──▶ resolved
      └──────────────────(a normal cycle: the fault stopped by itself)──▶ recovering
    recovering ──(the loss is back)──▶ mitigating (an action executed) or open

A cycle "sees" an incident when its assessment names one of the incident's causes over a blast radius that
overlaps the incident's (a stage or a merchant in common); it then updates that incident instead of opening
a new one. A cycle is *normal* for the incident when it does not see it, or when the incident's current rate
(the orders lost at its merchants in the last `incident_recovery_minutes`, `CurrentRate`) is within noise of
zero: the rolling window still holds the loss from before a fix, so seeing it is no evidence that the loss
goes on. Severity escalates only on the current rate. Pure: `decide.plan` applies these rules to every open
incident and the act stage writes the plan.
"""

from __future__ import annotations

import math
from datetime import datetime

from selfheal.decide.assessment import SEVERITY_BY_LOST_ORDERS_PER_HOUR
from selfheal.decide.model import Assessment
from selfheal.decide.plan_model import CurrentRate, IncidentMove, IncidentStatus, LossSoFar, Scope, Verdict
from selfheal.reason.model import SEVERITY_RANK, Severity
from selfheal.records import Record

WORKED_SHARE = 0.8
"""Share of the loss rate an action must close to count as `worked`; `PARTIAL_SHARE` for `partial`."""
PARTIAL_SHARE = 0.3
MIN_EXPECTED_ORDERS = 1.0
"""Expected orders the recent span needs before its loss rate can be judged."""
NOISE_Z = 1.6449
"""One-sided 90 %: lost orders up to this many standard deviations (Poisson, sqrt(expected)) are noise."""
RECOVERED_SHARE = 0.5
"""A loss rate must also be under this share of the incident's peak rate to count as recovered (at low volume
a partial loss can hide inside the noise bound)."""


class TrackedIncident(Record):
    incident_id: str
    status: IncidentStatus
    scope: Scope
    quiet_cycles: int = 0


def scope_of(a: Assessment) -> Scope:
    categories = (a.root_cause.category.value, *(c.category.value for c in a.concurrent_causes))
    return Scope(
        categories=tuple(dict.fromkeys(categories)),
        stages=a.blast_radius.stages,
        merchants=tuple(m.merchant_id for m in a.blast_radius.merchants),
    )


def overlaps(a: Scope, b: Scope) -> bool:
    """Same root cause over an overlapping blast radius."""
    if not set(a.categories) & set(b.categories):
        return False
    return bool(set(a.stages) & set(b.stages)) or bool(set(a.merchants) & set(b.merchants))


def match(assessment: Assessment, incidents: list[TrackedIncident]) -> TrackedIncident | None:
    """The unresolved incident this assessment continues, if any (the first in the given order)."""
    scope = scope_of(assessment)
    for inc in incidents:
        if inc.status != IncidentStatus.resolved and overlaps(scope, inc.scope):
            return inc
    return None


def merge_scope(old: Scope, new: Scope) -> Scope:
    return Scope(
        categories=tuple(dict.fromkeys((*old.categories, *new.categories))),
        stages=tuple(sorted({*old.stages, *new.stages})),
        merchants=tuple(sorted({*old.merchants, *new.merchants})),
    )


def within_noise(expected: float, actual: float) -> bool:
    """Lost orders (`expected - actual`) within one-sided 90 % Poisson noise of zero: nothing measurable lost."""
    return expected - actual <= NOISE_Z * math.sqrt(max(expected, 1.0))


def current_rate(
    expected: float,
    actual: int,
    minutes: float,
    lost_revenue: float,
    peak_per_hour: float | None,
) -> CurrentRate:
    """Judge the recent span: measured when it expected at least `MIN_EXPECTED_ORDERS`; normal when the lost
    orders are within one-sided 90 % Poisson noise of zero and their rate is under `RECOVERED_SHARE` of the
    incident's peak rate."""
    lost = expected - actual
    per_hour = lost * 60 / minutes if minutes > 0 else 0.0
    measured = expected >= MIN_EXPECTED_ORDERS and minutes > 0
    quiet = within_noise(expected, actual)
    below_peak = not peak_per_hour or peak_per_hour <= 0 or per_hour <= RECOVERED_SHARE * peak_per_hour
    return CurrentRate(
        minutes=round(minutes, 2),
        expected_orders=round(expected, 2),
        actual_orders=actual,
        lost_orders=round(lost, 2),
        lost_orders_per_hour=round(per_hour, 2),
        lost_revenue_per_hour=round(lost_revenue * 60 / minutes, 2) if minutes > 0 else 0.0,
        measured=measured,
        normal=measured and quiet and below_peak,
        loss_back=measured and not quiet and not below_peak,
    )


def step(
    inc: TrackedIncident,
    seen: bool,
    action_executed: bool,
    resolve_after: int,
    rate: CurrentRate | None = None,
) -> IncidentMove:
    """The incident's next status after a cycle that did (or did not) see it.

    The cycle is normal when the measured current rate is normal (seen or not: the window may still hold
    the loss from before), or, with no rate to judge by, when it does not see the incident. A normal cycle
    moves an open or mitigating incident to recovering and counts towards `resolve_after`. Hysteresis: once
    recovering, every measured cycle counts unless the loss is back (`CurrentRate.loss_back`: beyond noise and
    at least `RECOVERED_SHARE` of the peak), which relapses it. Any other cycle resets the count."""
    events: list[str] = []
    status = inc.status
    if action_executed and status == IncidentStatus.open:
        status = IncidentStatus.mitigating
        events.append("mitigating")
    measured = rate is not None and rate.measured
    normal = (measured and rate is not None and rate.normal) or (not seen and not measured)
    if status == IncidentStatus.recovering and measured and rate is not None and not rate.loss_back:
        # Once recovering, a span short of the loss being back (the noise of a small span) still counts.
        normal = True
    if not normal:
        if status == IncidentStatus.recovering:
            status = IncidentStatus.mitigating if action_executed else IncidentStatus.open
            events.append("relapsed")
        return IncidentMove(status=status, quiet_cycles=0, events=(*events, "seen"))
    quiet = inc.quiet_cycles + 1
    events.append("seen" if seen else "quiet")
    if status in (IncidentStatus.open, IncidentStatus.mitigating):
        status = IncidentStatus.recovering
        events.append("recovering")
    if quiet >= resolve_after:
        status = IncidentStatus.resolved
        events.append("resolved")
    return IncidentMove(status=status, quiet_cycles=quiet, events=tuple(events))


def loss_severity(lost_orders_per_hour: float) -> Severity:
    """The severity a loss rate alone supports."""
    for threshold, level in SEVERITY_BY_LOST_ORDERS_PER_HOUR:
        if lost_orders_per_hour >= threshold:
            return level
    return Severity.low


def held_severity(
    previous: Severity | None, proposed: Severity, status: IncidentStatus, rate: CurrentRate | None
) -> Severity:
    """The incident's severity after a cycle whose assessment proposes `proposed`.

    A recovering (or resolved) incident keeps its severity. Otherwise a lower or equal severity is taken;
    a higher one only as far as the current rate supports it (an unmeasured rate: only while the incident is
    open, before any fix). Loss that ended before the fix never escalates."""
    if previous is None:
        return proposed
    if status in (IncidentStatus.recovering, IncidentStatus.resolved):
        return previous
    if SEVERITY_RANK[proposed] <= SEVERITY_RANK[previous]:
        return proposed
    if rate is None or not rate.measured:
        return proposed if status == IncidentStatus.open else previous
    supported = loss_severity(rate.lost_orders_per_hour)
    capped = proposed if SEVERITY_RANK[supported] >= SEVERITY_RANK[proposed] else supported
    return capped if SEVERITY_RANK[capped] > SEVERITY_RANK[previous] else previous


def verdict(before_per_hour: float, after_per_hour: float) -> Verdict:
    """How much of the loss rate an action closed: worked (>= 80 %), partial (>= 30 %), else no effect."""
    if before_per_hour <= 0:
        return Verdict.worked if after_per_hour <= 0 else Verdict.no_effect
    closed = 1 - max(after_per_hour, 0.0) / before_per_hour
    if closed >= WORKED_SHARE:
        return Verdict.worked
    if closed >= PARTIAL_SHARE:
        return Verdict.partial
    return Verdict.no_effect


def incident_outcome(verdicts: list[Verdict]) -> Verdict | None:
    """The incident's outcome: the best verdict among its executed actions."""
    for v in (Verdict.worked, Verdict.partial, Verdict.no_effect):
        if v in verdicts:
            return v
    return None


def ready_to_judge(executed_at: datetime, as_of: datetime, min_minutes: int) -> bool:
    return (as_of - executed_at).total_seconds() >= min_minutes * 60


def _at(t: datetime | None) -> str:
    return f"{t:%H:%M} UTC" if t is not None else "the first cycle"


def story(
    status: IncidentStatus,
    loss: LossSoFar,
    currency: str,
    *,
    recovering_since: datetime | None = None,
    mitigating_since: datetime | None = None,
    resolved_at: datetime | None = None,
) -> str:
    """Where the incident stands, in words: the current rate while it lasts, past tense once recovering
    (no projection), and the loss so far since the incident's own onset."""
    so_far = f"{max(loss.lost_orders, 0):,.0f} orders / {currency} {max(loss.lost_revenue, 0):,.0f}"
    since = f"since {_at(loss.onset)}"
    peak = f"peak {max(loss.peak_lost_orders_per_hour, 0):,.0f} orders per hour"
    if status == IncidentStatus.resolved:
        return (
            f"Resolved at {_at(resolved_at)} (recovering since {_at(recovering_since)}); lost {since}: "
            f"{so_far} ({peak})."
        )
    if status == IncidentStatus.recovering:
        return f"Recovering since {_at(recovering_since)}; lost so far {since}: {so_far} ({peak})."
    now = loss.current
    rate = (
        f"; at the current rate (the last {now.minutes:.0f} minutes), about "
        f"{max(now.lost_orders_per_hour, 0):,.0f} orders / {currency} {max(now.lost_revenue_per_hour, 0):,.0f} "
        "per hour"
        if now is not None and now.measured
        else ""
    )
    fix = f"Mitigating since {_at(mitigating_since)}. " if status == IncidentStatus.mitigating else ""
    return f"{fix}Lost so far {since}: {so_far}{rate}."
