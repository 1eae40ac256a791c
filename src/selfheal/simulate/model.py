"""Simulator configuration and ground truth."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from selfheal.records import Record
from selfheal.signals import LogEvent, MetricPoint, Ticket, UtcDatetime

STAGES: tuple[str, ...] = ("legacy", "pilot", "wave_1", "wave_2", "headless")
"""Migration stages, from not yet migrated to fully on the headless checkout."""


class FaultSpec(Record):
    """A fault to inject: by catalogue name, from `start` for `duration_minutes`, on stages and/or merchants."""

    name: str
    start: UtcDatetime
    duration_minutes: int = Field(60, ge=1)
    stages: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()
    intensity: float = Field(1.0, gt=0, le=1)


class SimConfig(Record):
    seed: int = 7
    merchants: int = Field(50, ge=1, le=5000)
    start: UtcDatetime
    minutes: int = Field(60, ge=1)
    faults: tuple[FaultSpec, ...] = ()
    logs_from: UtcDatetime | None = None
    """Emit per-request logs and tickets only from this moment (earlier minutes get metrics only)."""
    currency: str = "USD"
    keep_late_tickets: bool = False
    """Keep tickets written after the span ends (a live feed posts them when their time comes)."""


class Merchant(Record):
    id: str
    name: str
    stage: str
    attempts_per_minute: float
    success_rate: float
    aov: float
    currency: str


class MerchantLoss(Record):
    lost_orders: int
    lost_revenue: float


class FaultTruth(Record):
    name: str
    category: str
    onset: datetime
    end: datetime
    merchants: tuple[str, ...]
    stages: tuple[str, ...]
    lost_orders: int
    lost_revenue: float
    per_merchant: dict[str, MerchantLoss]


class GroundTruth(Record):
    seed: int
    start: datetime
    end: datetime
    merchants: tuple[Merchant, ...]
    faults: tuple[FaultTruth, ...]


class SimResult(Record):
    tickets: list[Ticket]
    logs: list[LogEvent]
    metrics: list[MetricPoint]
    truth: GroundTruth
