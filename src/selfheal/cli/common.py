"""What every command module shares: the error console and time parsing."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

console = Console(stderr=True)


def parse_time(value: str | None) -> datetime | None:
    """An ISO time from the command line; a time without zone is UTC."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
