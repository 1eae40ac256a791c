"""The incident plan: what one cycle does to incidents, decided by `decide.plan` and written by the act stage.

    IncidentPlan
      opening     the incident this cycle opens (its assessment matches no open incident), or None
      continues   the open incident the assessment belongs to, or None
      steps       one IncidentStep per unresolved incident: seen (update) or quiet, its status move
                  (open -> mitigating -> recovering -> resolved), the tracking values to write (onset, peak,
                  loss so far, recovering since, the story in words), timeline entries, and verdicts on
                  executed actions ready to judge
      aftermath_of  a recently resolved incident whose leftover window loss this cycle's assessment shows
                  while the current rate is normal: no new incident opens

Records only (no rules), so the act stage may import them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_serializer

from selfheal.decide.model import Assessment, Estimate
from selfheal.records import Record


class IncidentStatus(StrEnum):
    open = "open"
    mitigating = "mitigating"
    recovering = "recovering"
    """The current loss rate is back within noise of the expectation; resolves after the configured normal
    cycles unless the loss returns."""
    resolved = "resolved"


class Verdict(StrEnum):
    """How much of the loss rate an executed action closed."""

    worked = "worked"
    partial = "partial"
    no_effect = "no_effect"


class Scope(Record):
    """What an incident covers: its causes and blast radius."""

    categories: tuple[str, ...]
    stages: tuple[str, ...]
    merchants: tuple[str, ...]


class IncidentMove(Record):
    """What one cycle does to one incident's status."""

    status: IncidentStatus
    quiet_cycles: int
    events: tuple[str, ...]


class TimelineEvent(StrEnum):
    opened = "opened"
    updated = "updated"
    quiet = "quiet"
    mitigating = "mitigating"
    recovering = "recovering"
    relapsed = "relapsed"
    outcome = "outcome"
    resolved = "resolved"


class ObservedCounts(Record):
    """What the cycle observed, as a timeline entry shows it; the money only when there is a risk report."""

    anomalies: int
    soft_failures: int
    """Missing orders summed over the soft-failure gaps."""
    themes: int
    lost_orders: float | None = None
    lost_revenue: float | None = None
    lost_revenue_per_hour: float | None = None
    currency: str | None = None


class DecisionDigest(Record):
    """The decision a timeline entry records: cause, confidence, severity, stages."""

    category: str
    confidence: float
    concurrent: tuple[str, ...]
    severity: str
    stages: tuple[str, ...]


class CostOfWaiting(Record):
    """The loss per hour while actions wait for approval."""

    actions_waiting: tuple[str, ...]
    lost_revenue_per_hour: float
    currency: str


class TimelineEntry(Record):
    """One entry of an incident's timeline. Only the fields of its event are set; the act stage stores it
    with `at` (the wall-clock time of the write) in front."""

    as_of: datetime
    event: TimelineEvent
    quiet_cycles: int | None = None
    observations: ObservedCounts | None = None
    decision: DecisionDigest | None = None
    actions: tuple[str, ...] | None = None
    cost_of_waiting: CostOfWaiting | None = None
    action_id: str | None = None
    key: str | None = None
    verdict: Verdict | None = None
    detail: str | None = None
    current: CurrentRate | None = None

    @field_serializer("as_of")
    def _iso(self, value: datetime) -> str:
        return value.isoformat()

    def stored(self) -> dict[str, Any]:
        """The entry as the timeline stores it (without `at`)."""
        return self.model_dump(mode="json", exclude_none=True)


class CurrentRate(Record):
    """The incident's loss over the last `incident_recovery_minutes` at its merchants: the evidence recovery
    and severity escalation are judged on (the rolling window still holds loss that ended before a fix)."""

    minutes: float
    expected_orders: float
    actual_orders: int
    lost_orders: float
    lost_orders_per_hour: float
    lost_revenue_per_hour: float
    measured: bool
    """Enough expected orders in the span to judge (otherwise recovery follows whether cycles see the
    incident)."""
    normal: bool
    """Lost orders within noise of zero and under `RECOVERED_SHARE` of the incident's peak rate."""
    loss_back: bool = False
    """The loss is back: beyond noise and at least `RECOVERED_SHARE` of the peak rate. A recovering incident
    relapses only on this (hysteresis: a noisy span between the two still counts as normal)."""


class LossSoFar(Record):
    """An incident's own figures, kept across cycles: not the rolling window's."""

    onset: datetime | None
    """The earliest onset any cycle saw."""
    lost_orders: float
    """Cumulative since the onset: the opening window's loss, then each cycle's new minutes."""
    lost_revenue: float
    counted_until: datetime
    """End of the minutes already counted."""
    peak_lost_orders_per_hour: float
    peak_lost_revenue_per_hour: float
    current: CurrentRate | None = None


class JudgedOutcome(Record):
    """The verdict on one executed action, judged this cycle."""

    action_id: str
    key: str
    executed_at: datetime
    """As of the first cycle that saw the action executed: the start of its after-period."""
    judged_at: datetime
    verdict: Verdict
    before_per_hour: float
    """Lost orders per hour the incident had when it went mitigating."""
    after_per_hour: float
    detail: str
    revised: bool = False
    """A verdict given again after the loss came back (the incident relapsed): it replaces the earlier one."""


class IncidentOpening(Record):
    """A new incident: the tracking row it starts with and its first timeline entry."""

    scope: Scope
    currency: str
    lost_revenue_per_hour: float
    lost_orders_per_hour: float
    timeline: tuple[TimelineEntry, ...]
    loss: LossSoFar | None = None
    story: str | None = None


class TrackingChange(Record):
    """The tracking values one cycle writes for an open incident; a field left None is not written."""

    status: IncidentStatus
    quiet_cycles: int
    executed: dict[str, datetime]
    """Executed action id -> as_of of the first cycle that saw it executed."""
    mitigating_since: datetime | None = None
    scope: Scope | None = None
    """The merged scope, when the cycle saw the incident."""
    last_seen: datetime | None = None
    cycles: int | None = None
    lost_revenue_per_hour: float | None = None
    lost_orders_per_hour: float | None = None
    """Only while the incident is open: once mitigating it stays the outcomes' "before"."""
    outcome: Verdict | None = None
    """The best verdict among the incident's executed actions."""
    resolved_at: datetime | None = None
    recovering_since: datetime | None = None
    """Always written: None clears it (the loss returned)."""
    loss: LossSoFar | None = None
    severity: str | None = None
    """The incident's severity after this cycle (escalates only on current-rate evidence)."""
    story: str | None = None
    """Where the incident stands, in words (recovering since, loss so far)."""


class IncidentStep(Record):
    """What one cycle does to one unresolved incident."""

    incident_id: str
    seen: bool
    """The cycle's assessment continues this incident (an update); otherwise the cycle is quiet for it."""
    previous_status: IncidentStatus
    move: IncidentMove
    tracking: TrackingChange
    timeline: tuple[TimelineEntry, ...]
    outcomes: tuple[JudgedOutcome, ...]
    title: str | None = None
    """The incident's new headline when the step changes it without an assessment (a resolve)."""

    @property
    def resolves(self) -> bool:
        return self.move.status == IncidentStatus.resolved


class IncidentPlan(Record):
    """Every incident change one cycle makes."""

    as_of: datetime
    opening: IncidentOpening | None = None
    continues: str | None = None
    """The open incident the assessment belongs to (None when it opens one, or there is no assessment)."""
    steps: tuple[IncidentStep, ...] = ()
    aftermath_of: str | None = None
    """A recently resolved incident the assessment's leftover window loss belongs to (its current rate is
    normal), so no incident opens."""


TimelineEntry.model_rebuild()


class NoticeEvent(StrEnum):
    """What a notification announces."""

    opened = "opened"
    escalated = "escalated"
    """The incident's severity rose."""
    waiting = "waiting"
    """Actions wait for a person's approval while the loss goes on (with the cost of waiting)."""
    resolved = "resolved"


class NoticeMerchant(Record):
    """One of the merchants a notification names, with its lost revenue in the window."""

    merchant_id: str
    stage: str
    lost_revenue: float


class Notice(Record):
    """One thing to tell people about an incident, and the receivers (routes) that get it. Decided here,
    stored by the act stage in the notification outbox (one row per receiver), sent after the cycle."""

    event: NoticeEvent
    incident_id: str | None
    """None: the incident this cycle opens (its id is assigned when the act stage stores it)."""
    key: str
    """Identifies the notice within its incident (`opened`, `escalated:high`, `waiting:<ids>`,
    `resolved`): a receiver gets each key of an incident at most once."""
    as_of: datetime
    title: str
    severity: str
    previous_severity: str | None = None
    category: str | None = None
    stages: tuple[str, ...] = ()
    merchants: tuple[NoticeMerchant, ...] = ()
    """The merchants losing most, at most five."""
    merchants_total: int = 0
    currency: str = "USD"
    lost_revenue: Estimate | None = None
    """Revenue lost in the window (the assessment's risk report)."""
    lost_revenue_per_hour: Estimate | None = None
    window_minutes: int | None = None
    cost_of_waiting: CostOfWaiting | None = None
    receivers: tuple[str, ...] = ()
    """Names of the configured routes that take this notice (empty: none does)."""

    @field_serializer("as_of")
    def _iso(self, value: datetime) -> str:
        return value.isoformat()


class Decision(Record):
    """What the decide stage hands the act stage: the assessment (None: nothing calls for an incident), the
    incident plan and the notices it calls for."""

    assessment: Assessment | None
    plan: IncidentPlan
    notices: tuple[Notice, ...] = ()
