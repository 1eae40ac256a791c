"""The executor interface. An executor carries out one approved action and reports what happened; it
never changes an action's state itself (the workflow in `selfheal.act.workflow` does, exactly once)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import Field

from selfheal.decide.model import Risk
from selfheal.records import Record


class ExecutionRequest(Record):
    """Everything an executor may use. Built from stored, structured fields only."""

    action_id: str
    attempt: int = Field(description="1 for the first run, more when an interrupted run is resumed")
    key: str
    title: str
    risk: Risk
    params: dict[str, Any] = Field(default_factory=dict)
    incident_id: str | None = None
    category: str | None = Field(None, description="The incident's root-cause category")
    stages: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()
    requested_by: str
    executed_by: str


class ExecutionResult(Record):
    ok: bool
    executor: str
    summary: str
    detail: dict[str, Any] = Field(default_factory=dict)
    effect: dict[str, Any] | None = Field(
        None, description="A simulated effect for the demo simulator (simulated executor only)"
    )
    error: str | None = None
    dry_run: bool = False


class Executor(ABC):
    """Carries out actions. `preflight` refuses (raises) before anything changes state when the executor
    cannot run at all, e.g. its target host is not allowed."""

    name: ClassVar[str]

    def preflight(self) -> None:  # noqa: B027 - optional hook
        """Raise a `SelfhealError` if this executor cannot run with its configuration."""

    @abstractmethod
    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        """Run the action once. Report failures in the result; exceptions also count as failures."""
