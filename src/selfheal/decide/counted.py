"""Counted losses: when a cause shows as failed requests on the order path, count them.

Expected minus actual orders carries the noise of every attempt in the window (would each shopper have bought?
A p (1 - p)); when the loss comes from requests that failed, only the failed ones are uncertain. Per merchant:

    lost orders = sum over the cause's failing request signals of
                  (failed requests - clean share x requests) x the chance such a request would have become an order

The chance by what the request is for: an order webhook after a captured payment became an order (1); a payment
request became one as often as the merchant's payments that were answered (2xx against declined 4xx); a cart or
checkout request as often as the merchant's checkout attempts convert at baseline (a shopper retrying counts once
per failed request: an assumption written into the assessment).

Minutes since the onset in which a fact's log source has no record at all (`observe.gaps`) are missing data: the
merchant's failed requests in them are estimated at its average per covered minute, and their count's doubt widens
the interval.

The assessment uses the counted loss when the silent part (expected minus actual orders minus the counted loss)
is within its noise, so nothing uncounted is measured; a cause whose loss is silent by nature (slowness makes
shoppers leave, no request fails) is always costed as expected minus actual. Pure.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from selfheal.decide.blast import clean_share, failure_counter, since
from selfheal.decide.facts import Fact
from selfheal.decide.impact import Rates
from selfheal.decide.model import Category
from selfheal.observe.gaps import log_gap_minutes, span_minutes
from selfheal.observe.model import Observation

COUNTED_CATEGORIES = frozenset(
    {Category.webhook_delivery, Category.api_auth, Category.cart_sync, Category.payment_provider}
)
"""Causes whose lost orders show as failed requests on the order path (checkout latency loses shoppers silently)."""
CHANCE_MODEL_CV = 0.1
"""Relative doubt about the chance a failed request would have become an order beyond its sampling error
(retries, shoppers who fail at one step being keener or less keen than the average): it widens the interval."""
SILENT_Z = 2.0
"""The silent part counts when it is more than this many standard deviations from zero."""
MIN_PAYMENT_ANSWERS = 20
MIN_COVERED_MINUTES = 5
"""Failed requests in minutes without logs are estimated only from at least this many covered minutes."""


def _payment_success(
    obs: Observation, f: Fact, onset: datetime | None, merchants: set[str]
) -> dict[str, float]:
    """Per merchant: answered payment requests (2xx) against declined ones (4xx) on the fact's endpoints,
    shrunk toward the pooled share of the merchants at risk."""
    rows = since(obs.rollups, onset)
    answered_rows = rows.take(
        rows.merchant_id.mask(*merchants)
        & rows.endpoint.mask(*f.endpoints)
        & rows.status_class.mask("2xx", "4xx")
    )
    success = np.where(answered_rows.status_class.mask("2xx"), answered_rows.count, 0)
    # Per merchant in order of first appearance, as a dict filled row by row holds them (the pooled sums add in
    # that order).
    ok_of, answered_of = answered_rows.merchant_id.sums(success, answered_rows.count)
    ok = sum(ok_of.values())
    answered = sum(answered_of.values())
    pooled = ok / answered if answered else 1.0
    return {
        m: (ok_of.get(m, 0.0) + MIN_PAYMENT_ANSWERS * pooled)
        / (answered_of.get(m, 0.0) + MIN_PAYMENT_ANSWERS)
        for m in merchants
    }


def counted_lost_orders(
    obs: Observation, located: tuple[Fact, ...], onset: datetime | None, rates: dict[str, Rates]
) -> dict[str, tuple[float, float]]:
    """Per merchant at risk (the keys of `rates`): the orders its failed requests cost, and the variance."""
    merchants = set(rates)
    stages = {obs.merchant_stages.get(m) for m in merchants}
    reference = {m for m, s in obs.merchant_stages.items() if s not in stages}
    # Since the onset: the same basis as expected minus actual orders (the loss so far since the onset).
    rows = since(obs.rollups, onset)
    out = {m: [0.0, 0.0] for m in merchants}
    seen: set[tuple[object, ...]] = set()
    for f in located:
        key = (f.endpoints, f.sources, f.status_classes, f.cause_codes)
        if f.signal != "anomaly" or f.metric != "error_rate" or not f.status_classes or key in seen:
            continue
        seen.add(key)
        counter = failure_counter(rows, f)
        trials = sum(counter(m).trials for m in reference)
        clean = clean_share(trials, sum(counter(m).hits for m in reference))
        paid = _payment_success(obs, f, None, merchants) if "payment" in f.roles else {}
        scale = 1 + missing_share(obs, f, onset)
        for m in merchants:
            c = counter(m)
            observed = max(c.hits - clean * c.trials, 0.0)
            if observed <= 0:
                continue
            # The failures in minutes without logs: the average per covered minute, a count with its own doubt.
            failed, imputed = observed * scale, observed * (scale - 1)
            r = rates[m]
            if "order_webhook" in f.roles:
                q, q_var = 1.0, 0.0
            elif m in paid:
                q, q_var = paid[m], paid[m] * (1 - paid[m]) / MIN_PAYMENT_ANSWERS
            else:
                q, q_var = r.conversion, r.conversion * (1 - r.conversion) / r.conversion_n
            out[m][0] += failed * q
            # Would each failed request have become an order; the chance itself; the clean failures subtracted.
            out[m][1] += (
                failed * q * (1 - q)
                + failed * failed * (q_var + (CHANCE_MODEL_CV * q) ** 2)
                + clean * c.trials * q * q
                + imputed * scale * q * q
            )
    return {m: (v[0], v[1]) for m, v in out.items()}


def fact_sources(obs: Observation, f: Fact) -> tuple[str, ...]:
    """The log sources a request fact reads: those it names, else those logging its endpoints."""
    if f.sources:
        return f.sources
    return obs.rollups.source.take(obs.rollups.endpoint.mask(*f.endpoints)).distinct()


def missing_share(obs: Observation, f: Fact, onset: datetime | None) -> float:
    """Minutes since the onset without records of the fact's log sources, per covered minute (0 when none are
    missing or under `MIN_COVERED_MINUTES` are covered)."""
    missing = len(log_gap_minutes(obs, onset, fact_sources(obs, f)))
    covered = len(span_minutes(obs, onset)) - missing
    return missing / covered if missing and covered >= MIN_COVERED_MINUTES else 0.0


def silent_part_within_noise(
    expected_minus_actual: dict[str, tuple[float, float]], counted: dict[str, tuple[float, float]]
) -> bool:
    """Whether expected-minus-actual orders exceed the counted loss by no more than their noise, summed over
    the merchants: (lost, variance) per merchant in both."""
    silent = sum(expected_minus_actual[m][0] - counted.get(m, (0.0, 0.0))[0] for m in expected_minus_actual)
    noise = math.sqrt(sum(v for _, v in expected_minus_actual.values()))
    return abs(silent) <= SILENT_Z * noise
