"""The blast radius and counted-loss tallies over the window's columns equal row-by-row tallies, bit for bit."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from selfheal.decide.blast import _orders_test, _slow_rows, failure_counter, since
from selfheal.decide.counted import _payment_success
from selfheal.decide.facts import Fact
from selfheal.observe.model import MetricRow, Observation, RollupRow, SignalCounts
from selfheal.signals import LATENCY_BUCKETS_MS

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ENDPOINTS = ("POST /api/checkout", "POST /api/payments", "GET /api/cart")
CLASSES = ("2xx", "4xx", "5xx")


def _window(seed: int) -> Observation:
    rng = random.Random(seed)
    merchants = [f"m{i}" for i in range(12)]
    width = len(LATENCY_BUCKETS_MS) + 1
    rollups = [
        RollupRow(
            minute=T0 + timedelta(minutes=rng.randrange(60)),
            merchant_id=rng.choice(merchants),
            migration_stage="pilot",
            source=rng.choice(("api", "web")),
            endpoint=rng.choice(ENDPOINTS),
            status_class=rng.choice(CLASSES),
            count=rng.randrange(1, 50),
            latency_count=1,
            latency_sum=1.0,
            latency_max=1.0,
            latency_hist=tuple(rng.randrange(20) for _ in range(width)),
        )
        for _ in range(3000)
    ]
    rollups.sort(key=lambda r: r.minute)
    metrics = [
        MetricRow(
            ts=T0 + timedelta(minutes=minute, seconds=rng.randrange(60), milliseconds=rng.randrange(1000)),
            merchant_id=m,
            migration_stage="pilot",
            interval_seconds=60,
            checkout_attempts=rng.randrange(30),
            orders=rng.randrange(20),
            revenue=1.0,
        )
        for minute in range(60)
        for m in merchants
    ]
    return Observation(
        as_of=T0 + timedelta(hours=1),
        window_start=T0 + timedelta(seconds=30, microseconds=1500),
        window_minutes=60,
        baseline_start=T0 - timedelta(days=1),
        counts=SignalCounts(tickets=0, log_events=0, metric_points=0),
        rollups=rollups,
        metrics=metrics,
        tickets=(),
        payment_events=(),
        baselines=(),
        merchant_stages=dict.fromkeys(merchants, "pilot"),
    )


def _fact(**kw: Any) -> Fact:
    base: dict[str, Any] = {
        "signal": "anomaly",
        "source_id": "a1",
        "text": "failing",
        "strength": 1.0,
        "metric": "error_rate",
        "endpoints": ENDPOINTS[:2],
        "sources": ("api",),
        "status_classes": ("5xx",),
        "extra": {"expected": 40.0},
    }
    base.update(kw)
    return Fact(**base)


def test_counters_equal_row_by_row_sums() -> None:
    obs = _window(3)
    onset = T0 + timedelta(minutes=20, seconds=40)
    rows = [r for r in obs.rollups if r.minute >= onset.replace(second=0)]
    assert list(since(obs.rollups, onset)) == rows
    slow_from = [i for i, lo in enumerate((0.0, *LATENCY_BUCKETS_MS)) if lo >= 80.0]
    for f in (_fact(), _fact(sources=(), status_classes=("4xx", "5xx")), _fact(metric="latency_p95")):
        on = [r for r in rows if r.endpoint in f.endpoints and (not f.sources or r.source in f.sources)]
        failures = failure_counter(since(obs.rollups, onset), f)
        slow_rows = _slow_rows(since(obs.rollups, onset), f)
        slow = slow_rows.counter() if slow_rows is not None else None
        for m in [*obs.merchant_stages, "absent"]:
            trials = hits = slow_trials = slow_hits = 0.0
            for r in on:
                if r.merchant_id == m:
                    trials += r.count
                    hits += r.count if r.status_class in f.status_classes else 0
                    slow_trials += sum(r.latency_hist)
                    slow_hits += sum(r.latency_hist[i] for i in slow_from)
            assert (failures(m).trials, failures(m).hits) == (trials, hits)
            if slow is not None:
                assert (slow(m).trials, slow(m).hits) == (slow_trials, slow_hits)
        assert (slow is not None) == (f.metric == "latency_p95")


def test_orders_and_payment_tallies_equal_row_by_row_sums() -> None:
    obs = _window(5)
    test = _orders_test(obs, None, {})
    attempts: dict[str, float] = {}
    for row in obs.metrics:
        if row.ts >= obs.window_start:
            attempts[row.merchant_id] = attempts.get(row.merchant_id, 0.0) + row.checkout_attempts
    assert test.attempts == attempts
    assert len(attempts) == len(obs.merchant_stages)
    merchants = {"m1", "m4", "m7"}
    f = _fact(endpoints=("POST /api/payments",))
    acc: dict[str, list[float]] = {}
    for r in obs.rollups:
        if r.merchant_id in merchants and r.endpoint in f.endpoints and r.status_class in ("2xx", "4xx"):
            slot = acc.setdefault(r.merchant_id, [0.0, 0.0])
            slot[0] += r.count if r.status_class == "2xx" else 0
            slot[1] += r.count
    pooled = sum(v[0] for v in acc.values()) / sum(v[1] for v in acc.values())
    expected = {m: (acc[m][0] + 20 * pooled) / (acc[m][1] + 20) for m in merchants}
    assert _payment_success(obs, f, None, merchants) == expected
