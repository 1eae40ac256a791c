"""Shows what would happen, changes nothing outside selfheal."""

from __future__ import annotations

from selfheal.act.executors.base import ExecutionRequest, ExecutionResult, Executor
from selfheal.act.executors.simulated import simulated_effect


class DryRunExecutor(Executor):
    name = "dry_run"

    def __init__(self, would_use: str = "simulated", target: str | None = None) -> None:
        self.would_use = would_use
        self.target = target

    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        would: dict[str, object] = {"executor": self.would_use, "key": request.key, "params": request.params}
        if self.target:
            would["target"] = self.target
        else:
            would["effect"] = simulated_effect(request)
        return ExecutionResult(
            ok=True,
            executor=self.name,
            summary=f"dry run: would run {request.key} with the {self.would_use} executor",
            detail={"would": would},
            dry_run=True,
        )
