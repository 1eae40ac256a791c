"""The base of the typed, immutable objects that flow between the stages of a cycle."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """Frozen, strict about unknown fields: what a stage hands the next one cannot drift silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def ms_to_dt(ms: int) -> datetime:
    """Epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def dt_to_ms(value: datetime) -> int:
    """An aware (or naive-as-UTC) datetime to epoch milliseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def utcnow() -> datetime:
    return datetime.now(tz=UTC)
