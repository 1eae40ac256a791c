"""Simulator configuration and ground truth."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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
    """Failure share: the catalogue's per-attempt failure probabilities are multiplied by it."""
    ramp_minutes: int = Field(0, ge=0)
    """0: sharp onset; otherwise the intensity rises linearly to its full value over these minutes."""
    statuses: tuple[int, ...] = ()
    """Status codes of the failing step, one drawn per failed request (default: the catalogue's)."""
    also_cart: bool = False
    """The failure also hits the cart API (e.g. credentials rejected on every storefront API call)."""
    burst_minutes: int = Field(0, ge=0)
    """0: the fault fails throughout; otherwise it flaps: failing for these minutes, then healthy for
    `pause_minutes`, and so on (its minutes still count from `start` to the end)."""
    pause_minutes: int = Field(0, ge=0)


class SignalGap(Record):
    """Minutes in which one source's records never arrived (a log shipper or KPI export outage)."""

    source: Literal["api", "provider", "kpi"]
    """api: the storefront API's request logs; provider: the payment provider's and webhook receiver's logs;
    kpi: the per-minute KPI points."""
    start: UtcDatetime
    minutes: int = Field(ge=1, le=120)
    merchants: tuple[str, ...] = ()
    """Only these merchants' records are missing (one shop's exporter down); empty: every merchant's."""


class SignalVariant(Record):
    """How the signals look, independent of what happened: naming, stages carried, tickets, clocks.

    Applied after the simulation, so the same seed gives the same checkouts, orders and ground truth.
    """

    endpoint_scheme: Literal["rest", "versioned", "graphql"] = "rest"
    """rest: `POST /api/checkout`; versioned: `POST /v2/checkouts`; graphql: cart and checkout both
    `POST /graphql` (only the status code and the step's message tell them apart)."""
    stage_on_payment_logs: bool = True
    """Payment-provider logs carry the migration stage (real providers do not know it)."""
    stage_on_webhook_logs: bool = True
    tickets: Literal["normal", "none", "few", "late"] = "normal"
    """none: no fault tickets; few: one in four kept; late: written 10-40 minutes later."""
    ticket_delay_minutes: int = Field(0, ge=0, le=120)
    reworded_tickets: bool = False
    """Fault tickets use another wording (other vocabulary than the catalogue's)."""
    log_offset_seconds: int = Field(0, ge=-300, le=300)
    """Clock offset of the payment provider's and webhook receiver's logs."""
    gaps: tuple[SignalGap, ...] = ()
    """Stretches of missing records (the ground truth, computed before, is unchanged)."""


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
    traffic_sigma: float = Field(0.8, gt=0, le=3)
    """Spread (log-normal sigma) of merchants' traffic; larger: a few merchants carry most orders."""
    variant: SignalVariant | None = None
    """How the signals look (naming, stages, tickets, clocks); None: the catalogue's own form."""
    stages_from_directory: bool = False
    """Tickets and KPI points carry no migration stage: it comes from the merchant directory (load
    `directory_entries(result.truth.merchants)` first). Logs keep theirs (the detection baselines group
    request history by the stage the logs carry)."""


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
    expected_lost_orders: float = 0.0
    """Expected orders minus actual orders of the fault's merchants over its minutes, expected orders being the
    checkout attempts that came times the merchant's true fault-free conversion. Unlike `lost_orders` (the
    orders the fault-free twin run would have taken: exact, but whether each lost shopper would have bought
    is sampling noise no observer can see), this is the quantity a product can estimate from what it
    observes: what was expected of the traffic that came, less what came."""
    expected_lost_revenue: float = 0.0
    """The same in money: expected orders at the merchants' mean order value, less the actual revenue."""


class GroundTruth(Record):
    seed: int
    start: datetime
    end: datetime
    merchants: tuple[Merchant, ...]
    faults: tuple[FaultTruth, ...]
    warnings: tuple[str, ...] = ()
    """Faults that have no effect: no merchant in their scope, under one expected affected order, or no
    order lost (`simulate` prints them on stderr too)."""


class SimResult(Record):
    tickets: list[Ticket]
    logs: list[LogEvent]
    metrics: list[MetricPoint]
    truth: GroundTruth
