"""What every command module shares: the error console, error reports and time parsing."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from selfheal.errors import SelfhealError

console = Console(stderr=True)


def report_error(exc: SelfhealError) -> None:
    """The error's message in red, how to fix it when known (API errors), then its details as JSON."""
    console.print(f"[red]{exc.message}[/red]")
    hint = getattr(exc, "hint", "")
    if hint:
        console.print(f"How to fix it: {hint}")
    if exc.details:
        console.print_json(data=exc.details)


def parse_time(value: str | None) -> datetime | None:
    """An ISO time from the command line; a time without zone is UTC."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
