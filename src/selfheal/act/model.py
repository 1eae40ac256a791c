"""Outcome: what the act stage did with an Assessment."""

from __future__ import annotations

from selfheal.records import Record


class ActionOutcome(Record):
    action_id: str
    key: str
    status: str
    auto_executed: bool = False
    reason: str = ""


class Outcome(Record):
    incident_id: str | None
    incident_created: bool
    actions: tuple[ActionOutcome, ...] = ()
