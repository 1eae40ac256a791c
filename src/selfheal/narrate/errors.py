"""Why the narrative layer kept the deterministic text. Every failure is expected and reported as data."""

from __future__ import annotations

from enum import StrEnum

from selfheal.errors import SelfhealError


class SkipReason(StrEnum):
    """A short machine-readable cause, recorded in `Assessment.narrative_note` and the cycle summary."""

    disabled = "disabled"
    nothing_to_cite = "nothing_to_cite"
    timeout = "timeout"
    connection_refused = "connection_refused"
    unreachable = "unreachable"
    model_missing = "model_missing"
    unauthorized = "unauthorized"
    http_error = "http_error"
    bad_response = "bad_response"
    refused = "refused"
    malformed_output = "malformed_output"
    invalid_citations = "invalid_citations"
    unknown_action = "unknown_action"
    decision_changed = "decision_changed"
    internal_error = "internal_error"


class NarrativeSkipped(SelfhealError):
    """The LLM part of a cycle could not be used; the deterministic narrative stands. Part of the one error
    tree; the cycle catches it and records `note()`, so it never reaches an API client as an error."""

    status_code = 502
    code = "narrative_skipped"

    def __init__(self, reason: SkipReason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}", {"reason": reason.value})
        self.reason = reason
        self.message = message

    def note(self) -> str:
        """The text stored in `Assessment.narrative_note`."""
        return f"LLM narrative skipped ({self.reason.value}): {self.message}. Deterministic text kept."
