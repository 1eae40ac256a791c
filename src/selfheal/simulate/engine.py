"""A seeded headless-checkout migration: merchants, seasonality, noise, faults, and what they cost.

Every minute draws from its own random stream (seed, minute), so any span generated in any number of
chunks gives the same data: a demo can generate minute by minute what a benchmark generates at once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from selfheal.signals import LogEvent, MetricPoint, Ticket
from selfheal.simulate.faults import (
    BACKGROUND_BODIES,
    BACKGROUND_SUBJECTS,
    CATEGORY_OF,
    DECOYS,
    FAULTS,
    PRODUCTS,
    FaultEffect,
    vary,
)
from selfheal.simulate.model import (
    STAGES,
    FaultSpec,
    FaultTruth,
    GroundTruth,
    Merchant,
    MerchantLoss,
    SimConfig,
    SimResult,
)
from selfheal.simulate.variants import apply_variant

STAGE_WEIGHTS = (0.3, 0.1, 0.2, 0.2, 0.2)
BASE_CART_FAIL = 0.002
BASE_CHECKOUT_4XX = 0.004
BASE_CHECKOUT_5XX = 0.002
BASE_WEBHOOK_FAIL = 0.001
BASE_ORDER_SHARE = (
    (1 - BASE_CART_FAIL) * (1 - BASE_CHECKOUT_4XX - BASE_CHECKOUT_5XX) * (1 - BASE_WEBHOOK_FAIL)
)
"""Share of attempts that the base (fault-free) failures leave, before the merchant's own success rate."""
ORDER_VALUE_SIGMA = 0.4
"""Order values are lognormal around the merchant's AOV with this log-sd (their mean is AOV x e^(sigma^2/2))."""
DECLINE_SHARE = 0.2  # of the attempts that do not convert, the share that ends in a card decline (402)
BACKGROUND_TICKETS_PER_MERCHANT_MINUTE = 0.0015


def make_merchants(n: int, seed: int, currency: str = "USD", sigma: float = 0.8) -> tuple[Merchant, ...]:
    """`n` merchants with skewed traffic (a few large, many small, some with a few checkouts an hour)."""
    rng = np.random.default_rng([seed, 0x5E1F])
    stages = rng.choice(len(STAGES), size=n, p=STAGE_WEIGHTS)
    merchants = []
    for i in range(n):
        if i % 10 == 9:  # one in ten is a low-traffic shop: ~1-6 checkouts an hour
            rate = float(rng.uniform(0.02, 0.1))
        else:
            rate = float(np.clip(rng.lognormal(math.log(1.2), sigma), 0.15, 12.0 if sigma <= 0.8 else 40.0))
        merchants.append(
            Merchant(
                id=f"m{i + 1:03d}",
                name=f"Shop {i + 1:03d}",
                stage=STAGES[int(stages[i])],
                attempts_per_minute=round(rate, 4),
                success_rate=round(float(rng.uniform(0.55, 0.8)), 4),
                aov=round(float(rng.lognormal(math.log(60), 0.5)), 2),
                currency=currency,
            )
        )
    return tuple(merchants)


def seasonality(ts: datetime) -> float:
    """Daily cycle (trough ~03:00, peak ~15:00 UTC) and busier weekends."""
    hour = ts.hour + ts.minute / 60
    daily = 1.0 + 0.55 * math.sin(2 * math.pi * (hour - 9) / 24)
    weekly = 1.12 if ts.weekday() >= 5 else 1.0
    return daily * weekly


def _affected(spec: FaultSpec, merchants: tuple[Merchant, ...]) -> tuple[Merchant, ...]:
    if not spec.stages and not spec.merchants:
        return merchants
    return tuple(m for m in merchants if m.stage in spec.stages or m.id in spec.merchants)


@dataclass
class _Active:
    spec: FaultSpec
    effect: FaultEffect
    start: datetime
    end: datetime
    merchants: frozenset[str]


@dataclass
class _Accumulator:
    tickets: list[Ticket] = field(default_factory=list)
    logs: list[LogEvent] = field(default_factory=list)
    metrics: list[MetricPoint] = field(default_factory=list)
    lost: dict[tuple[int, str], list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0]))


def _fill(template: str, rng: np.random.Generator, ts: datetime, aov: float) -> str:
    return template.format(
        amount=f"${aov * float(rng.uniform(0.6, 1.6)):.2f}",
        product=PRODUCTS[int(rng.integers(len(PRODUCTS)))],
        time=ts.strftime("%H:%M"),
        ref=f"#{int(rng.integers(100000, 999999))}",
    )


def _ticket(
    acc: _Accumulator,
    rng: np.random.Generator,
    m: Merchant,
    ts: datetime,
    subjects: tuple[str, ...],
    bodies: tuple[str, ...],
    tag: str,
    key: str,
    end: datetime | None,
) -> None:
    # Draw everything before deciding to keep the ticket, so the minute's random stream never depends on `end`.
    created = ts + timedelta(seconds=float(rng.uniform(30, 600)))
    subject = _fill(subjects[int(rng.integers(len(subjects)))], rng, ts, m.aov)
    body = _fill(bodies[int(rng.integers(len(bodies)))], rng, ts, m.aov)
    channel = ("email", "chat", "phone", "web")[int(rng.integers(4))]
    priority = ("normal", "high")[int(rng.random() < 0.3)]
    if end is not None and created >= end:
        return
    acc.tickets.append(
        Ticket(
            id=f"t-{key}",
            created_at=created,
            merchant_id=m.id,
            subject=subject,
            body=body,
            migration_stage=m.stage,
            channel=channel,
            priority=priority,
            tags=[tag],
        )
    )


def _log(acc: _Accumulator, **kw: object) -> None:
    acc.logs.append(LogEvent.model_construct(**kw))  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Draws:
    """The random values of one checkout attempt.

    A fixed number of draws per attempt, whatever path it takes: a faulted run and its fault-free twin share
    every realisation, so the ground truth's lost orders are exact. Draw order: z (5 normals: value and the
    four latencies), o (4 offsets in time), u (8 base outcomes), f (6 fault draws, one per step, shared
    across faults)."""

    z: npt.NDArray[np.float64]
    o: npt.NDArray[np.float64]
    u: npt.NDArray[np.float64]
    f: npt.NDArray[np.float64]

    @classmethod
    def take(cls, rng: np.random.Generator) -> _Draws:
        z = rng.standard_normal(5)
        o = rng.random(4)
        u = rng.random(8)
        f = rng.random(6)
        return cls(z=z, o=o, u=u, f=f)


@dataclass
class _FaultHits:
    """What the merchant's active faults do to one attempt, and which fault is to blame for a lost order."""

    cart_status: int = 200
    checkout_status: int = 200
    latency_factor: float = 1.0
    abandoned: bool = False
    pay_status: int = 200
    webhook_status: int = 200
    culprit: tuple[FaultEffect, int] | None = None


_MerchantFaults = list[tuple[FaultEffect, float, int]]
"""(effect, intensity, index of the fault in the run) of every fault active on one merchant."""


def _fault_hits(faults: _MerchantFaults, f: npt.NDArray[np.float64]) -> _FaultHits:
    hits = _FaultHits()
    for effect, intensity, idx in faults:
        if effect.cart_fail and f[0] < effect.cart_fail * intensity and hits.cart_status == 200:
            hits.cart_status, hits.culprit = _pick(effect.cart_statuses, effect.cart_status, f), (effect, idx)
        if effect.checkout_fail and f[1] < effect.checkout_fail * intensity and hits.checkout_status == 200:
            hits.checkout_status = _pick(effect.checkout_statuses, effect.checkout_status, f)
            hits.culprit = (effect, idx)
        hits.latency_factor *= 1 + (effect.latency_factor - 1) * intensity
        if effect.abandon_when_slow and f[2] < effect.abandon_when_slow * intensity:
            hits.abandoned, hits.culprit = True, hits.culprit or (effect, idx)
        if effect.payment_fail and f[3] < effect.payment_fail * intensity and hits.pay_status == 200:
            hits.pay_status = effect.payment_statuses[int(f[5] * len(effect.payment_statuses))]
            hits.culprit = (effect, idx)
        if effect.webhook_fail and f[4] < effect.webhook_fail * intensity and hits.webhook_status == 200:
            hits.webhook_status = _pick(effect.webhook_statuses, effect.webhook_status, f)
            hits.culprit = (effect, idx)
    return hits


def _pick(statuses: tuple[int, ...], default: int, f: npt.NDArray[np.float64]) -> int:
    return statuses[int(f[5] * len(statuses))] if statuses else default


def _base_ok(m: Merchant, u: npt.NDArray[np.float64]) -> bool:
    """Whether the attempt would have become an order without any fault."""
    return bool(
        u[0] >= BASE_CART_FAIL
        and u[1] >= BASE_CHECKOUT_4XX + BASE_CHECKOUT_5XX
        and u[2] < m.success_rate
        and u[3] >= BASE_WEBHOOK_FAIL
    )


def _cart_step(acc: _Accumulator, m: Merchant, key: str, t0: datetime, d: _Draws, hits: _FaultHits) -> bool:
    """1. GET /api/cart; whether the cart came back."""
    status = hits.cart_status
    if status == 200 and d.u[0] < BASE_CART_FAIL:
        status = 500
    _log(
        acc,
        id=f"{key}-cart",
        ts=t0,
        merchant_id=m.id,
        source="api",
        endpoint="GET /api/cart",
        status_code=status,
        latency_ms=round(60 * math.exp(0.3 * float(d.z[1])), 1),
        migration_stage=m.stage,
        event=None,
        correlation_id=None,
        message=None if status == 200 else "cart sync failed",
    )
    return status == 200


def _checkout_step(
    acc: _Accumulator, m: Merchant, key: str, t0: datetime, d: _Draws, hits: _FaultHits
) -> tuple[int, float, datetime]:
    """2. POST /api/checkout: its status, latency (before rounding) and time."""
    status = hits.checkout_status
    if status == 200 and d.u[1] < BASE_CHECKOUT_4XX:
        status = 422
    elif status == 200 and d.u[1] < BASE_CHECKOUT_4XX + BASE_CHECKOUT_5XX:
        status = 500
    latency = 180 * math.exp(0.35 * float(d.z[2])) * hits.latency_factor
    t1 = t0 + timedelta(seconds=2 + float(d.o[1]) * 28)
    _log(
        acc,
        id=f"{key}-co",
        ts=t1,
        merchant_id=m.id,
        source="api",
        endpoint="POST /api/checkout",
        status_code=status,
        latency_ms=round(latency, 1),
        migration_stage=m.stage,
        event=None,
        correlation_id=None,
        message=None if status == 200 else "checkout rejected",
    )
    return status, latency, t1


def _payment_step(
    acc: _Accumulator,
    m: Merchant,
    key: str,
    t1: datetime,
    checkout_latency: float,
    converts: bool,
    d: _Draws,
    hits: _FaultHits,
) -> tuple[int, datetime]:
    """3. POST /payments/authorize: its status and time. A shopper who does not convert is declined (402)."""
    status = hits.pay_status
    if status == 200 and not converts:
        status = 402
    t2 = t1 + timedelta(milliseconds=checkout_latency + 500 + float(d.o[2]) * 3500)
    _log(
        acc,
        id=f"{key}-pay",
        ts=t2,
        merchant_id=m.id,
        source="payment",
        endpoint="POST /payments/authorize",
        status_code=status,
        latency_ms=round(400 * math.exp(0.3 * float(d.z[3])), 1),
        migration_stage=m.stage,
        event="payment.succeeded" if status == 200 else "payment.failed",
        correlation_id=f"pay-{key}",
        message=None if status in (200, 402) else "provider error",
    )
    return status, t2


def _webhook_step(
    acc: _Accumulator, m: Merchant, key: str, t2: datetime, d: _Draws, hits: _FaultHits
) -> bool:
    """4. The order.created webhook after a captured payment; whether the order was created."""
    status = hits.webhook_status
    if status == 200 and d.u[3] < BASE_WEBHOOK_FAIL:
        status = 500
    _log(
        acc,
        id=f"{key}-wh",
        ts=t2 + timedelta(seconds=1 + float(d.o[3]) * 19),
        merchant_id=m.id,
        source="webhook",
        endpoint="POST /webhooks/order-created",
        status_code=status,
        latency_ms=round(120 * math.exp(0.3 * float(d.z[4])), 1),
        migration_stage=m.stage,
        event="order.created" if status == 200 else None,
        correlation_id=f"pay-{key}",
        message=None if status == 200 else "order webhook delivery failed",
    )
    return status == 200


def _checkout_logs(
    acc: _Accumulator, m: Merchant, key: str, ts: datetime, d: _Draws, hits: _FaultHits
) -> tuple[bool, float | None]:
    """Log one attempt step by step until a step fails; (became an order, checkout latency if it got there)."""
    t0 = ts + timedelta(seconds=float(d.o[0] * 55))
    if not _cart_step(acc, m, key, t0, d, hits):
        return False, None
    checkout_status, latency, t1 = _checkout_step(acc, m, key, t0, d, hits)
    # Most attempts that do not convert are shoppers leaving before paying; a few are declines.
    converts = d.u[2] < m.success_rate
    walks_away = not converts and d.u[5] >= DECLINE_SHARE
    if checkout_status != 200 or hits.abandoned or walks_away:
        return False, latency
    pay_status, t2 = _payment_step(acc, m, key, t1, latency, converts, d, hits)
    if pay_status != 200:
        return False, latency
    return _webhook_step(acc, m, key, t2, d, hits), latency


def _count_lost_order(
    acc: _Accumulator,
    ticket_rng: np.random.Generator,
    m: Merchant,
    ts: datetime,
    key: str,
    value: float,
    culprit: tuple[FaultEffect, int],
    end: datetime | None,
) -> None:
    """An order the culprit fault cost: count it in the ground truth; sometimes the shopper writes a ticket."""
    effect, idx = culprit
    slot = acc.lost[(idx, m.id)]
    slot[0] += 1
    slot[1] += value
    if ticket_rng.random() < effect.ticket_rate * 3:
        _ticket(acc, ticket_rng, m, ts, effect.subjects, effect.bodies, effect.category, key, end)


@dataclass
class _MerchantMinute:
    """One merchant's orders, revenue and checkout latencies in one minute."""

    orders: int = 0
    revenue: float = 0.0
    latencies: list[float] = field(default_factory=list)


def _attempt(
    acc: _Accumulator,
    rng: np.random.Generator,
    ticket_rng: np.random.Generator,
    m: Merchant,
    ts: datetime,
    key: str,
    faults: _MerchantFaults,
    end: datetime | None,
    tally: _MerchantMinute,
) -> None:
    """One checkout attempt: its logs, and an order, or a lost order when a fault broke an attempt that would
    have succeeded."""
    d = _Draws.take(rng)
    value = round(m.aov * math.exp(ORDER_VALUE_SIGMA * float(d.z[0])), 2)
    hits = _fault_hits(faults, d.f)
    got_order, latency = _checkout_logs(acc, m, key, ts, d, hits)
    if latency is not None:
        tally.latencies.append(latency)
    if got_order:
        tally.orders += 1
        tally.revenue += value
    elif hits.culprit is not None and _base_ok(m, d.u):
        _count_lost_order(acc, ticket_rng, m, ts, key, value, hits.culprit, end)


def _metric_point(
    m: Merchant, ts: datetime, attempts: int, sessions: int, tally: _MerchantMinute
) -> MetricPoint:
    return MetricPoint.model_construct(
        ts=ts,
        merchant_id=m.id,
        checkout_attempts=attempts,
        orders=tally.orders,
        revenue=round(tally.revenue, 2),
        interval_seconds=60,
        migration_stage=m.stage,
        sessions=sessions,
        p95_latency_ms=round(float(np.percentile(tally.latencies, 95)), 1) if tally.latencies else None,
        currency=m.currency,
    )


def _minute_with_logs(
    acc: _Accumulator,
    rng: np.random.Generator,
    ts: datetime,
    minute: int,
    merchants: tuple[Merchant, ...],
    active: list[_Active],
    end: datetime | None,
    seed: int,
) -> None:
    """Every merchant's attempts of one minute, request by request, then a background ticket draw and the
    minute's metric point. Fault tickets draw from their own stream, so they never shift the main one."""
    season = seasonality(ts)
    ticket_rng = np.random.default_rng([seed, minute, 0x71C])
    for m in merchants:
        faults = [(a.effect, _intensity(a, ts), idx) for idx, a in enumerate(active) if m.id in a.merchants]
        traffic, browsing = _traffic(faults)
        n = int(rng.poisson(m.attempts_per_minute * season * traffic))
        sessions = n + int(rng.poisson(m.attempts_per_minute * season * 5 * browsing))
        tally = _MerchantMinute()
        for k in range(n):
            _attempt(acc, rng, ticket_rng, m, ts, f"{m.id}-{minute}-{k}", faults, end, tally)
        if rng.random() < BACKGROUND_TICKETS_PER_MERCHANT_MINUTE:
            _ticket(
                acc, rng, m, ts, BACKGROUND_SUBJECTS, BACKGROUND_BODIES, "general", f"{m.id}-{minute}-bg", end
            )
        acc.metrics.append(_metric_point(m, ts, n, sessions, tally))


def _intensity(a: _Active, ts: datetime) -> float:
    """The fault's failure share at minute `ts`: full at once, or rising over its ramp; 0 in a flapping
    fault's healthy minutes."""
    elapsed = (ts - a.start).total_seconds() / 60
    burst, pause = a.spec.burst_minutes, a.spec.pause_minutes
    if burst and pause and elapsed % (burst + pause) >= burst:
        return 0.0
    ramp = a.spec.ramp_minutes
    if not ramp:
        return a.spec.intensity
    return a.spec.intensity * min(1.0, (elapsed + 1) / ramp)


def _traffic(faults: _MerchantFaults) -> tuple[float, float]:
    """Multipliers of checkout attempts and of sessions from the active effects (1.0 when none changes it)."""
    traffic = browsing = 1.0
    for effect, _, _ in faults:
        traffic *= effect.traffic_factor
        browsing *= effect.traffic_factor * effect.sessions_factor
    return traffic, browsing


def _minute_counts_only(
    acc: _Accumulator,
    rng: np.random.Generator,
    ts: datetime,
    merchants: tuple[Merchant, ...],
    active: list[_Active],
) -> None:
    season = seasonality(ts)
    rates = np.array([m.attempts_per_minute for m in merchants]) * season
    attempts = rng.poisson(rates)
    success = np.array([m.success_rate for m in merchants]) * BASE_ORDER_SHARE
    base_orders = rng.binomial(attempts, success)
    for j, m in enumerate(merchants):
        survive = 1.0
        culprit = None
        for idx, a in enumerate(active):
            if m.id not in a.merchants:
                continue
            survive *= _survival(a.effect, _intensity(a, ts))
            culprit = idx
        n_orders = int(rng.binomial(int(base_orders[j]), survive)) if survive < 1 else int(base_orders[j])
        values = rng.lognormal(math.log(m.aov), ORDER_VALUE_SIGMA, size=int(base_orders[j]))
        revenue = float(values[:n_orders].sum())
        if culprit is not None and n_orders < base_orders[j]:
            slot = acc.lost[(culprit, m.id)]
            slot[0] += int(base_orders[j]) - n_orders
            slot[1] += float(values[n_orders:].sum())
        acc.metrics.append(
            MetricPoint.model_construct(
                ts=ts,
                merchant_id=m.id,
                checkout_attempts=int(attempts[j]),
                orders=n_orders,
                revenue=round(revenue, 2),
                interval_seconds=60,
                migration_stage=m.stage,
                sessions=int(attempts[j]) + int(rng.poisson(rates[j] * 5)),
                p95_latency_ms=None,
                currency=m.currency,
            )
        )


def _survival(e: FaultEffect, k: float) -> float:
    """Share of would-be orders an effect at failure share `k` lets through."""
    survive = (1 - e.cart_fail * k) * (1 - e.checkout_fail * k) * (1 - e.abandon_when_slow * k)
    return survive * (1 - e.payment_fail * k) * (1 - e.webhook_fail * k)


def _floor_minute(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(second=0, microsecond=0)


def simulate(config: SimConfig) -> SimResult:
    """Generate every signal for `config` and the ground truth of its faults."""
    catalogue = {**FAULTS, **DECOYS}
    for spec in config.faults:
        if spec.name not in catalogue:
            raise ValueError(f"unknown fault {spec.name!r}; known: {', '.join(sorted(catalogue))}")
    merchants = make_merchants(config.merchants, config.seed, config.currency, config.traffic_sigma)
    start = _floor_minute(config.start)
    end = start + timedelta(minutes=config.minutes)
    actives = [
        _Active(
            spec=spec,
            effect=vary(catalogue[spec.name], spec),
            start=spec.start,
            end=spec.start + timedelta(minutes=spec.duration_minutes),
            merchants=frozenset(m.id for m in _affected(spec, merchants)),
        )
        for spec in config.faults
    ]
    acc = _Accumulator()
    logs_from = config.logs_from or start
    for i in range(config.minutes):
        ts = start + timedelta(minutes=i)
        minute = int(ts.timestamp() // 60)
        rng = np.random.default_rng([config.seed, minute])
        active = [a if a.start <= ts < a.end else _inactive(a) for a in actives]
        if ts >= logs_from:
            _minute_with_logs(
                acc,
                rng,
                ts,
                minute,
                merchants,
                active,
                None if config.keep_late_tickets else end,
                config.seed,
            )
        else:
            _minute_counts_only(acc, rng, ts, merchants, active)
    faults = tuple(_truth(idx, actives, acc, end, merchants) for idx in range(len(actives)))
    truth = GroundTruth(
        seed=config.seed,
        start=start,
        end=end,
        merchants=merchants,
        faults=faults,
        warnings=fault_warnings(faults, merchants),
    )
    if config.variant is not None:
        apply_variant(
            acc.logs,
            acc.tickets,
            config.variant,
            config.seed,
            None if config.keep_late_tickets else end,
            acc.metrics,
        )
    acc.logs.sort(key=lambda e: e.ts)
    acc.tickets.sort(key=lambda t: t.created_at)
    if config.stages_from_directory:
        acc.tickets[:] = [t.model_copy(update={"migration_stage": None}) for t in acc.tickets]
        acc.metrics[:] = [m.model_copy(update={"migration_stage": None}) for m in acc.metrics]
    return SimResult(tickets=acc.tickets, logs=acc.logs, metrics=acc.metrics, truth=truth)


def fault_warnings(faults: tuple[FaultTruth, ...], merchants: tuple[Merchant, ...]) -> tuple[str, ...]:
    """A sentence for each fault that has no effect: no merchant in its scope, under one expected order at
    its merchants over its minutes (attempts x success rate, before seasonality), or no order lost."""
    by_id = {m.id: m for m in merchants}
    out = []
    for f in faults:
        scope = f"stage(s) {', '.join(f.stages)}" if f.stages else "its merchants"
        minutes = max((f.end - f.onset).total_seconds() / 60, 0.0)
        expected = sum(
            by_id[m].attempts_per_minute * by_id[m].success_rate * minutes for m in f.merchants if m in by_id
        )
        if not f.merchants:
            out.append(
                f"fault {f.name} has no effect: no merchant of the {len(merchants)} simulated is on {scope}"
            )
        elif expected < 1:
            out.append(
                f"fault {f.name} has no effect: its {len(f.merchants)} merchant(s) on {scope} expect "
                f"{expected:.2f} orders in its {minutes:.0f} minutes (under 1)"
            )
        elif f.lost_orders == 0:
            out.append(
                f"fault {f.name} lost no orders: its {len(f.merchants)} merchant(s) on {scope} expect about "
                f"{expected:.1f} orders in its {minutes:.0f} minutes"
            )
    return tuple(out)


def _inactive(a: _Active) -> _Active:
    return _Active(spec=a.spec, effect=a.effect, start=a.start, end=a.end, merchants=frozenset())


def _expected_loss(
    a: _Active,
    others: list[_Active],
    metrics: list[MetricPoint],
    merchants: tuple[Merchant, ...],
    end: datetime,
) -> tuple[float, float]:
    """Expected minus actual orders and revenue of the fault's merchants over its minutes (`FaultTruth`'s
    `expected_lost_orders` and `expected_lost_revenue`). Expected orders are the checkout attempts that came
    times the merchant's true conversion without this fault (what the `others` active on it at that minute,
    e.g. its own background errors, still cost stays out): the traffic is observed (none of the faults
    changes it), whether each shopper would have bought is not. A flapping fault's healthy minutes are left
    out: it loses nothing in them, and counting them would only add their orders' sampling noise to the truth."""
    by_id = {m.id: m for m in merchants if m.id in a.merchants}
    others_of = {mid: [o for o in others if mid in o.merchants] for mid in by_id}
    stop = min(a.end, end)
    expected_orders = expected_revenue = actual_orders = actual_revenue = 0.0
    for p in metrics:
        m = by_id.get(p.merchant_id)
        if m is None or not a.start <= p.ts < stop or _intensity(a, p.ts) == 0:
            continue
        orders = p.checkout_attempts * m.success_rate * BASE_ORDER_SHARE
        for o in others_of[m.id]:
            if o.start <= p.ts < o.end:
                orders *= _survival(o.effect, _intensity(o, p.ts))
        expected_orders += orders
        expected_revenue += orders * m.aov * math.exp(ORDER_VALUE_SIGMA**2 / 2)
        actual_orders += p.orders
        actual_revenue += p.revenue
    return round(expected_orders - actual_orders, 2), round(expected_revenue - actual_revenue, 2)


def _truth(
    idx: int, actives: list[_Active], acc: _Accumulator, end: datetime, merchants: tuple[Merchant, ...]
) -> FaultTruth:
    a = actives[idx]
    others = [o for i, o in enumerate(actives) if i != idx]
    expected_lost_orders, expected_lost_revenue = _expected_loss(a, others, acc.metrics, merchants, end)
    per = {
        merchant: MerchantLoss(lost_orders=int(v[0]), lost_revenue=round(v[1], 2))
        for (i, merchant), v in sorted(acc.lost.items())
        if i == idx
    }
    stages = sorted({*a.spec.stages}) if a.spec.stages else []
    return FaultTruth(
        name=a.spec.name,
        category=CATEGORY_OF[a.spec.name],
        onset=a.start,
        end=min(a.end, end),
        merchants=tuple(sorted(a.merchants)),
        stages=tuple(stages),
        lost_orders=sum(p.lost_orders for p in per.values()),
        lost_revenue=round(sum(p.lost_revenue for p in per.values()), 2),
        per_merchant=per,
        expected_lost_orders=expected_lost_orders,
        expected_lost_revenue=expected_lost_revenue,
    )
