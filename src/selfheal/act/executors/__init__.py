"""Executors behind one interface (`Executor`): `simulated` (default), `webhook`, `dry_run`."""

from __future__ import annotations

from selfheal.act.executors.base import ExecutionRequest, ExecutionResult, Executor
from selfheal.act.executors.dry_run import DryRunExecutor
from selfheal.act.executors.simulated import SimulatedExecutor, simulated_effect
from selfheal.act.executors.webhook import WebhookExecutor, host_allowed, sign, verify_signature
from selfheal.settings import Settings, secret_value

EXECUTORS = ("simulated", "webhook", "dry_run")


def webhook_from(settings: Settings) -> WebhookExecutor:
    return WebhookExecutor(
        url=settings.act_webhook_url,
        secret=secret_value(settings.act_webhook_secret),
        allowed_hosts=settings.act_webhook_allowed_hosts,
        timeout_seconds=settings.act_webhook_timeout_seconds,
        retries=settings.act_webhook_retries,
        backoff_seconds=settings.act_webhook_backoff_seconds,
    )


def executor_for(settings: Settings) -> Executor:
    """The executor `SELFHEAL_ACT_EXECUTOR` names."""
    if settings.act_executor == "webhook":
        return webhook_from(settings)
    if settings.act_executor == "dry_run":
        return DryRunExecutor()
    return SimulatedExecutor()


def preview_executor(settings: Settings) -> DryRunExecutor:
    """A dry run describing what the configured executor would do."""
    target = settings.act_webhook_url if settings.act_executor == "webhook" else None
    return DryRunExecutor(would_use=settings.act_executor, target=target)


__all__ = [
    "EXECUTORS",
    "DryRunExecutor",
    "ExecutionRequest",
    "ExecutionResult",
    "Executor",
    "SimulatedExecutor",
    "WebhookExecutor",
    "executor_for",
    "host_allowed",
    "preview_executor",
    "sign",
    "simulated_effect",
    "verify_signature",
]
