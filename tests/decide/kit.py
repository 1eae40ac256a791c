"""Hand-built observations and findings for decide tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selfheal.observe.model import MerchantBaseline, MetricRow, Observation, RollupRow, SignalCounts
from selfheal.reason.model import Anomaly, AnomalyKind, Dimensions, Severity, SoftFailureGap
from selfheal.signals import N_BUCKETS
from selfheal.simulate import FaultSpec, SimConfig

AS_OF = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
WINDOW = 60


def metrics(
    merchant: str,
    stage: str,
    attempts_per_min: list[int],
    orders_per_min: list[int],
    aov: float,
    as_of: datetime = AS_OF,
) -> list[MetricRow]:
    start = as_of - timedelta(minutes=len(attempts_per_min))
    return [
        MetricRow(
            ts=start + timedelta(minutes=i),
            merchant_id=merchant,
            migration_stage=stage,
            interval_seconds=60,
            checkout_attempts=a,
            orders=o,
            revenue=o * aov,
            currency="USD",
        )
        for i, (a, o) in enumerate(zip(attempts_per_min, orders_per_min, strict=True))
    ]


def baseline(
    merchant: str, stage: str, attempts: int, orders: int, revenue: float, minutes: int = 1440
) -> MerchantBaseline:
    return MerchantBaseline(
        merchant_id=merchant,
        migration_stage=stage,
        minutes=minutes,
        checkout_attempts=attempts,
        orders=orders,
        revenue=revenue,
        currency="USD",
    )


def observation(
    rows: list[MetricRow], baselines: list[MerchantBaseline], stages: dict[str, str], as_of: datetime = AS_OF
) -> Observation:
    return Observation(
        as_of=as_of,
        window_start=as_of - timedelta(minutes=WINDOW),
        window_minutes=WINDOW,
        baseline_start=as_of - timedelta(minutes=WINDOW + 1440),
        counts=SignalCounts(tickets=0, log_events=0, metric_points=len(rows)),
        rollups=(),
        metrics=tuple(rows),
        tickets=(),
        payment_events=(),
        baselines=tuple(baselines),
        merchant_stages=stages,
    )


def anomaly(
    id: str,
    metric: str,
    *,
    endpoint: str = "",
    status: str = "",
    stages: tuple[str, ...] = (),
    merchants: tuple[str, ...] = (),
    kind: AnomalyKind = AnomalyKind.hard,
    severity: Severity = Severity.high,
    score: float = 0.95,
    onset_minutes_ago: int = 40,
) -> Anomaly:
    return Anomaly(
        id=id,
        kind=kind,
        severity=severity,
        score=score,
        method="test",
        series=f"{metric} {endpoint} {status}".strip(),
        metric=metric,
        onset=AS_OF - timedelta(minutes=onset_minutes_ago),
        observed=0.5,
        expected=0.01,
        dimensions=Dimensions(
            merchants=merchants,
            stages=stages,
            endpoints=(endpoint,) if endpoint else (),
            status_codes=(status,) if status else (),
        ),
    )


def gap(merchant: str, stage: str, payments: int, missing: int) -> SoftFailureGap:
    return SoftFailureGap(
        merchant_id=merchant,
        migration_stage=stage,
        payments=payments,
        missing_orders=missing,
        rate=missing / payments,
        example_correlation_ids=tuple(f"pay-{merchant}-{i}" for i in range(min(missing, 3))),
        first_missing_at=AS_OF - timedelta(minutes=45),
    )


SIGNATURES: dict[str, tuple[Anomaly, ...]] = {
    "webhook_delivery": (
        anomaly(
            "a-wh", "error_rate", endpoint="POST /webhooks/order-created", status="4xx", stages=("wave_1",)
        ),
    ),
    "api_auth": (
        anomaly("a-auth", "error_rate", endpoint="POST /api/checkout", status="4xx", stages=("wave_1",)),
    ),
    "cart_sync": (
        anomaly("a-cart", "error_rate", endpoint="GET /api/cart", status="4xx", stages=("wave_1",)),
    ),
    "checkout_latency": (
        anomaly(
            "a-lat", "latency_p95", endpoint="POST /api/checkout", stages=("wave_1",), onset_minutes_ago=42
        ),
        anomaly(
            "a-504",
            "error_rate",
            endpoint="POST /api/checkout",
            status="5xx",
            stages=("wave_1",),
            severity=Severity.medium,
        ),
    ),
    "payment_provider": (
        anomaly("a-psp", "error_rate", endpoint="POST /payments/authorize", status="5xx", stages=("wave_1",)),
    ),
}
"""What the detect stage reports for each fault of the simulator's catalogue (hard anomalies)."""


def api_rollup(
    merchant: str,
    stage: str,
    minute: datetime,
    status_class: str,
    count: int,
    endpoint: str = "GET /api/cart",
    status_code: str = "",
) -> RollupRow:
    """One minute's `count` api requests of a merchant on `endpoint` in `status_class` (60 ms each), with
    `status_code` as the rollups keep it ("" when only the class is known)."""
    return RollupRow(
        minute=minute,
        merchant_id=merchant,
        migration_stage=stage,
        source="api",
        endpoint=endpoint,
        status_class=status_class,
        count=count,
        latency_count=count,
        latency_sum=60.0 * count,
        latency_max=80.0,
        latency_hist=(0,) * N_BUCKETS,
        status_code=status_code,
    )


SIM_START = datetime(2024, 3, 4, tzinfo=UTC)
SIM_ONSET = SIM_START + timedelta(hours=8)
"""A simulated day's fault onset: eight hours of history before it, logs from two hours before."""


def one_fault(fault: str, duration_minutes: int = 60) -> SimConfig:
    """30 merchants (seed 3) simulated for nine hours, `fault` at `wave_2` from SIM_ONSET."""
    return SimConfig(
        seed=3,
        merchants=30,
        start=SIM_START,
        minutes=9 * 60,
        logs_from=SIM_ONSET - timedelta(hours=2),
        faults=(
            FaultSpec(name=fault, start=SIM_ONSET, duration_minutes=duration_minutes, stages=("wave_2",)),
        ),
    )
