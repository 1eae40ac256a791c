"""Incidents over time: which open incident a new assessment belongs to, status moves, and action outcomes.

    open ──(an action executed)──▶ mitigating ──(N quiet cycles)──▶ resolved
      └────────────────(N quiet cycles)───────────────────────────▶ resolved

A cycle "sees" an incident when its assessment names one of the incident's causes over a blast radius that
overlaps the incident's (a stage or a merchant in common); it then updates that incident instead of opening
a new one. Every other cycle is quiet for the incident. Pure: `decide.plan` applies these rules to every open incident
and the act stage writes the plan.
"""

from __future__ import annotations

from datetime import datetime

from selfheal.decide.model import Assessment
from selfheal.decide.plan_model import IncidentMove, IncidentStatus, Scope, Verdict
from selfheal.records import Record

WORKED_SHARE = 0.8
"""Share of the loss rate an action must close to count as `worked`; `PARTIAL_SHARE` for `partial`."""
PARTIAL_SHARE = 0.3


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


def step(inc: TrackedIncident, seen: bool, action_executed: bool, resolve_after: int) -> IncidentMove:
    """The incident's next status after a cycle that did (or did not) see it."""
    events: list[str] = []
    status = inc.status
    if action_executed and status == IncidentStatus.open:
        status = IncidentStatus.mitigating
        events.append("mitigating")
    if seen:
        return IncidentMove(status=status, quiet_cycles=0, events=(*events, "seen"))
    quiet = inc.quiet_cycles + 1
    events.append("quiet")
    if quiet >= resolve_after:
        status = IncidentStatus.resolved
        events.append("resolved")
    return IncidentMove(status=status, quiet_cycles=quiet, events=tuple(events))


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
