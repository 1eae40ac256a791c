"""Signal variants: the same simulated checkouts, seen through other naming, clocks, stages and tickets.

Applied after the simulation (its own random stream), so a variant never changes what happened (orders,
lost orders, the ground truth), only how the signals describe it: what a product built on one shop's
conventions meets at the next shop.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from selfheal.signals import LogEvent, MetricPoint, Ticket
from selfheal.simulate.faults import REWORDED
from selfheal.simulate.model import SignalGap, SignalVariant

ENDPOINTS: dict[str, dict[str, str]] = {
    "versioned": {
        "GET /api/cart": "GET /v2/carts/current",
        "POST /api/checkout": "POST /v2/checkouts",
        "POST /payments/authorize": "POST /v1/payment_intents/confirm",
        "POST /webhooks/order-created": "POST /hooks/v2/orders",
    },
    "graphql": {
        "GET /api/cart": "POST /graphql",
        "POST /api/checkout": "POST /graphql",
        "POST /payments/authorize": "POST /v1/charges",
        "POST /webhooks/order-created": "POST /webhooks/orders",
    },
}
"""Endpoint names per scheme (`rest` keeps the catalogue's own)."""

FEW_TICKETS_KEPT = 0.25


def _log(e: LogEvent, v: SignalVariant, names: dict[str, str]) -> LogEvent:
    update: dict[str, object] = {}
    if e.endpoint in names:
        update["endpoint"] = names[e.endpoint]
    provider = e.source in ("payment", "webhook")
    if provider and v.log_offset_seconds:
        update["ts"] = e.ts + timedelta(seconds=v.log_offset_seconds)
    if (e.source == "payment" and not v.stage_on_payment_logs) or (
        e.source == "webhook" and not v.stage_on_webhook_logs
    ):
        update["migration_stage"] = None
    return e.model_copy(update=update) if update else e


def _ticket(t: Ticket, v: SignalVariant, rng: np.random.Generator) -> Ticket | None:
    keep, delay, pick = rng.random(), float(rng.uniform(10, 40)), rng.random()
    category = t.tags[0] if t.tags else "general"
    if category in ("general", "decoy"):
        return t
    if v.tickets == "none" or (v.tickets == "few" and keep >= FEW_TICKETS_KEPT):
        return None
    update: dict[str, object] = {}
    if v.tickets == "late":
        update["created_at"] = t.created_at + timedelta(minutes=v.ticket_delay_minutes or delay)
    if v.reworded_tickets and category in REWORDED:
        subjects, bodies = REWORDED[category]
        update["subject"] = subjects[int(pick * len(subjects))]
        update["body"] = bodies[0].format(amount="$42.00", product="my order", ref=t.id)
    return t.model_copy(update=update) if update else t


GAP_SOURCES: dict[str, tuple[str, ...]] = {"api": ("api",), "provider": ("payment", "webhook")}
"""Log sources each gap source covers (`kpi` gaps drop KPI points)."""


def _in_gap(ts: datetime, merchant: str, gaps: list[SignalGap]) -> bool:
    return any(
        g.start <= ts < g.start + timedelta(minutes=g.minutes)
        and (not g.merchants or merchant in g.merchants)
        for g in gaps
    )


def apply_variant(
    logs: list[LogEvent],
    tickets: list[Ticket],
    v: SignalVariant,
    seed: int,
    end: datetime | None,
    metrics: list[MetricPoint] | None = None,
) -> None:
    """Rewrite `logs`, `tickets` (and `metrics`, for KPI gaps) in place as variant `v` would show them."""
    names = ENDPOINTS.get(v.endpoint_scheme, {})
    log_gaps = {
        src: [g for g in v.gaps if src in GAP_SOURCES.get(g.source, ())]
        for src in ("api", "payment", "webhook")
    }
    logs[:] = [
        _log(e, v, names) for e in logs if not _in_gap(e.ts, e.merchant_id, log_gaps.get(e.source, []))
    ]
    kpi_gaps = [g for g in v.gaps if g.source == "kpi"]
    if metrics is not None and kpi_gaps:
        metrics[:] = [p for p in metrics if not _in_gap(p.ts, p.merchant_id, kpi_gaps)]
    rng = np.random.default_rng([seed, 0x7A41])
    kept = [_ticket(t, v, rng) for t in tickets]
    tickets[:] = [t for t in kept if t is not None and (end is None or t.created_at < end)]
