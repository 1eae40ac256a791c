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

from selfheal.signals import LogEvent, MetricPoint, Ticket
from selfheal.simulate.faults import (
    BACKGROUND_BODIES,
    BACKGROUND_SUBJECTS,
    CATEGORY_OF,
    FAULTS,
    PRODUCTS,
    FaultEffect,
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

STAGE_WEIGHTS = (0.3, 0.1, 0.2, 0.2, 0.2)
BASE_CART_FAIL = 0.002
BASE_CHECKOUT_4XX = 0.004
BASE_CHECKOUT_5XX = 0.002
BASE_WEBHOOK_FAIL = 0.001
DECLINE_SHARE = 0.2  # of the attempts that do not convert, the share that ends in a card decline (402)
BACKGROUND_TICKETS_PER_MERCHANT_MINUTE = 0.0015


def make_merchants(n: int, seed: int, currency: str = "USD") -> tuple[Merchant, ...]:
    """`n` merchants with skewed traffic (a few large, many small, some with a few checkouts an hour)."""
    rng = np.random.default_rng([seed, 0x5E1F])
    stages = rng.choice(len(STAGES), size=n, p=STAGE_WEIGHTS)
    merchants = []
    for i in range(n):
        if i % 10 == 9:  # one in ten is a low-traffic shop: ~1-6 checkouts an hour
            rate = float(rng.uniform(0.02, 0.1))
        else:
            rate = float(np.clip(rng.lognormal(math.log(1.2), 0.8), 0.15, 12.0))
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
    season = seasonality(ts)
    ticket_rng = np.random.default_rng([seed, minute, 0x71C])  # fault tickets: their own stream
    for m in merchants:
        faults = [(a.effect, a.spec.intensity, idx) for idx, a in enumerate(active) if m.id in a.merchants]
        n = int(rng.poisson(m.attempts_per_minute * season))
        sessions = n + int(rng.poisson(m.attempts_per_minute * season * 5))
        orders = 0
        revenue = 0.0
        latencies: list[float] = []
        for k in range(n):
            key = f"{m.id}-{minute}-{k}"
            # A fixed number of draws per attempt, whatever path it takes: a faulted run and its fault-free
            # twin share every realisation, so the ground truth's lost orders are exact.
            z = rng.standard_normal(5)
            o = rng.random(4)
            t0 = ts + timedelta(seconds=float(o[0] * 55))
            value = round(m.aov * math.exp(0.4 * float(z[0])), 2)
            u = rng.random(8)
            base_ok = (
                u[0] >= BASE_CART_FAIL
                and u[1] >= BASE_CHECKOUT_4XX + BASE_CHECKOUT_5XX
                and u[2] < m.success_rate
                and u[3] >= BASE_WEBHOOK_FAIL
            )
            # fault draws, one per step, shared across faults for determinism
            f = rng.random(6)
            cart_status, checkout_status, lat_factor, abandoned = 200, 200, 1.0, False
            pay_status, webhook_status = 200, 200
            culprit: tuple[FaultEffect, int] | None = None
            for effect, intensity, idx in faults:
                if effect.cart_fail and f[0] < effect.cart_fail * intensity and cart_status == 200:
                    cart_status, culprit = effect.cart_status, (effect, idx)
                if (
                    effect.checkout_fail
                    and f[1] < effect.checkout_fail * intensity
                    and checkout_status == 200
                ):
                    checkout_status, culprit = effect.checkout_status, (effect, idx)
                lat_factor *= 1 + (effect.latency_factor - 1) * intensity
                if effect.abandon_when_slow and f[2] < effect.abandon_when_slow * intensity:
                    abandoned, culprit = True, culprit or (effect, idx)
                if effect.payment_fail and f[3] < effect.payment_fail * intensity and pay_status == 200:
                    pay_status = effect.payment_statuses[int(f[5] * len(effect.payment_statuses))]
                    culprit = (effect, idx)
                if effect.webhook_fail and f[4] < effect.webhook_fail * intensity and webhook_status == 200:
                    webhook_status, culprit = effect.webhook_status, (effect, idx)
            stage = m.stage
            # 1. cart
            if cart_status == 200 and u[0] < BASE_CART_FAIL:
                cart_status = 500
            _log(
                acc,
                id=f"{key}-cart",
                ts=t0,
                merchant_id=m.id,
                source="api",
                endpoint="GET /api/cart",
                status_code=cart_status,
                latency_ms=round(60 * math.exp(0.3 * float(z[1])), 1),
                migration_stage=stage,
                event=None,
                correlation_id=None,
                message=None if cart_status == 200 else "cart sync failed",
            )
            got_order = False
            if cart_status == 200:
                # 2. checkout
                if checkout_status == 200 and u[1] < BASE_CHECKOUT_4XX:
                    checkout_status = 422
                elif checkout_status == 200 and u[1] < BASE_CHECKOUT_4XX + BASE_CHECKOUT_5XX:
                    checkout_status = 500
                lat = 180 * math.exp(0.35 * float(z[2])) * lat_factor
                latencies.append(lat)
                t1 = t0 + timedelta(seconds=2 + float(o[1]) * 28)
                _log(
                    acc,
                    id=f"{key}-co",
                    ts=t1,
                    merchant_id=m.id,
                    source="api",
                    endpoint="POST /api/checkout",
                    status_code=checkout_status,
                    latency_ms=round(lat, 1),
                    migration_stage=stage,
                    event=None,
                    correlation_id=None,
                    message=None if checkout_status == 200 else "checkout rejected",
                )
                # Most attempts that do not convert are shoppers leaving before paying; a few are declines.
                converts = u[2] < m.success_rate
                walks_away = not converts and u[5] >= DECLINE_SHARE
                if checkout_status == 200 and not abandoned and not walks_away:
                    # 3. payment
                    if pay_status == 200 and not converts:
                        pay_status = 402
                    t2 = t1 + timedelta(milliseconds=lat + 500 + float(o[2]) * 3500)
                    corr = f"pay-{key}"
                    _log(
                        acc,
                        id=f"{key}-pay",
                        ts=t2,
                        merchant_id=m.id,
                        source="payment",
                        endpoint="POST /payments/authorize",
                        status_code=pay_status,
                        latency_ms=round(400 * math.exp(0.3 * float(z[3])), 1),
                        migration_stage=stage,
                        event="payment.succeeded" if pay_status == 200 else "payment.failed",
                        correlation_id=corr,
                        message=None if pay_status in (200, 402) else "provider error",
                    )
                    if pay_status == 200:
                        # 4. order webhook
                        if webhook_status == 200 and u[3] < BASE_WEBHOOK_FAIL:
                            webhook_status = 500
                        t3 = t2 + timedelta(seconds=1 + float(o[3]) * 19)
                        _log(
                            acc,
                            id=f"{key}-wh",
                            ts=t3,
                            merchant_id=m.id,
                            source="webhook",
                            endpoint="POST /webhooks/order-created",
                            status_code=webhook_status,
                            latency_ms=round(120 * math.exp(0.3 * float(z[4])), 1),
                            migration_stage=stage,
                            event="order.created" if webhook_status == 200 else None,
                            correlation_id=corr,
                            message=None if webhook_status == 200 else "order webhook delivery failed",
                        )
                        got_order = webhook_status == 200
            if got_order:
                orders += 1
                revenue += value
            elif base_ok and culprit is not None:
                slot = acc.lost[(culprit[1], m.id)]
                slot[0] += 1
                slot[1] += value
                if ticket_rng.random() < culprit[0].ticket_rate * 3:
                    _ticket(
                        acc,
                        ticket_rng,
                        m,
                        ts,
                        culprit[0].subjects,
                        culprit[0].bodies,
                        CATEGORY_OF_EFFECT[id(culprit[0])],
                        key,
                        end,
                    )
        if rng.random() < BACKGROUND_TICKETS_PER_MERCHANT_MINUTE:
            _ticket(
                acc, rng, m, ts, BACKGROUND_SUBJECTS, BACKGROUND_BODIES, "general", f"{m.id}-{minute}-bg", end
            )
        acc.metrics.append(
            MetricPoint.model_construct(
                ts=ts,
                merchant_id=m.id,
                checkout_attempts=n,
                orders=orders,
                revenue=round(revenue, 2),
                interval_seconds=60,
                migration_stage=m.stage,
                sessions=sessions,
                p95_latency_ms=round(float(np.percentile(latencies, 95)), 1) if latencies else None,
                currency=m.currency,
            )
        )


CATEGORY_OF_EFFECT: dict[int, str] = {id(effect): effect.category for effect in FAULTS.values()}


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
    success = (
        np.array([m.success_rate for m in merchants])
        * (1 - BASE_CART_FAIL)
        * (1 - BASE_CHECKOUT_4XX - BASE_CHECKOUT_5XX)
        * (1 - BASE_WEBHOOK_FAIL)
    )
    base_orders = rng.binomial(attempts, success)
    for j, m in enumerate(merchants):
        survive = 1.0
        culprit = None
        for idx, a in enumerate(active):
            if m.id not in a.merchants:
                continue
            e, k = a.effect, a.spec.intensity
            survive *= (1 - e.cart_fail * k) * (1 - e.checkout_fail * k) * (1 - e.abandon_when_slow * k)
            survive *= (1 - e.payment_fail * k) * (1 - e.webhook_fail * k)
            culprit = idx
        n_orders = int(rng.binomial(int(base_orders[j]), survive)) if survive < 1 else int(base_orders[j])
        values = rng.lognormal(math.log(m.aov), 0.4, size=int(base_orders[j]))
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


def _floor_minute(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(second=0, microsecond=0)


def simulate(config: SimConfig) -> SimResult:
    """Generate every signal for `config` and the ground truth of its faults."""
    for spec in config.faults:
        if spec.name not in FAULTS:
            raise ValueError(f"unknown fault {spec.name!r}; known: {', '.join(sorted(FAULTS))}")
    merchants = make_merchants(config.merchants, config.seed, config.currency)
    start = _floor_minute(config.start)
    end = start + timedelta(minutes=config.minutes)
    actives = [
        _Active(
            spec=spec,
            effect=FAULTS[spec.name],
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
    truth = GroundTruth(
        seed=config.seed,
        start=start,
        end=end,
        merchants=merchants,
        faults=tuple(_truth(idx, a, acc, end) for idx, a in enumerate(actives)),
    )
    acc.logs.sort(key=lambda e: e.ts)
    acc.tickets.sort(key=lambda t: t.created_at)
    return SimResult(tickets=acc.tickets, logs=acc.logs, metrics=acc.metrics, truth=truth)


def _inactive(a: _Active) -> _Active:
    return _Active(spec=a.spec, effect=a.effect, start=a.start, end=a.end, merchants=frozenset())


def _truth(idx: int, a: _Active, acc: _Accumulator, end: datetime) -> FaultTruth:
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
    )
