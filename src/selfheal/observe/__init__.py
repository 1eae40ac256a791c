"""Observe: read the window ending at `as_of` (and its baseline history) from storage into an Observation,
with the open incidents the cycle starts from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from selfheal.observe.fingerprints import RecentFingerprints, recent_span
from selfheal.observe.history import SETTLED_MS, cache_for, load_history, load_merchant_baselines
from selfheal.observe.incidents import read_open_incidents, read_recently_resolved
from selfheal.observe.model import (
    ActiveAlert,
    MerchantBaseline,
    Observation,
    PaymentOrderEvent,
    SignalCounts,
    error_codes_of,
)
from selfheal.observe.window import Labels, MetricColumns, RollupColumns
from selfheal.observe.window_cache import window_cache_for
from selfheal.records import dt_to_ms, ms_to_dt
from selfheal.settings import Settings
from selfheal.signals import Ticket
from selfheal.store import Store, alerts_repo, directory_repo, window_repo
from selfheal.store.directory_repo import StageTimeline

Rows = list[dict[str, Any]]


def observe(store: Store, as_of: datetime, window_minutes: int, settings: Settings) -> Observation:
    """Everything the reasoning stages need about `[as_of - window, as_of)`, and every unresolved incident.

    Reads signals only; the one write is the history hours that became settled and were aggregated by this
    cycle (see `observe.history`).
    """
    end = dt_to_ms(as_of)
    start = end - window_minutes * 60_000
    baseline_start = start - settings.baseline_days * 86_400_000
    grace = settings.soft_failure_grace_minutes * 60_000
    with store.read() as conn:
        ticket_count = window_repo.count_tickets(conn, start, end)
        recent = None
        if settings.window_cache:
            recent = RecentFingerprints.read(conn, *recent_span(start, end, SETTLED_MS))
            window = window_cache_for(store)
            rollup_rows = window.rollups.columns(conn, start, end, recent)
            metric_rows = window.metrics.columns(conn, start, end, recent)
        else:
            rollup_rows = window_repo.rollups(conn, start, end)
            metric_rows = window_repo.metrics(conn, start, end)
        tickets = window_repo.tickets(conn, start, end)
        payment_rows = window_repo.payment_events(conn, start - grace, end)
        alert_rows = alerts_repo.window_alerts(conn, start, end)
        cache = cache_for(store)
        baseline_rows, stages = load_merchant_baselines(conn, cache, baseline_start, start, end, recent)
        timeline = directory_repo.stage_timeline(conn, end)
        history = load_history(conn, cache, start, end, settings.detect_history_days, recent)
        open_incidents = read_open_incidents(conn)
        recently_resolved = read_recently_resolved(conn, start)
        conn.commit()  # the settled history hours aggregated by this cycle, stored for the next process

    stage_of = StageResolver(timeline, stages)
    rollups = _rollups(rollup_rows, stage_of)
    metrics = _metrics(metric_rows, stage_of)
    seen = {
        *rollups.merchant_id.distinct(),
        *metrics.merchant_id.distinct(),
        *(t.merchant_id for t in tickets),
    }
    return Observation(
        as_of=ms_to_dt(end),
        window_start=ms_to_dt(start),
        window_minutes=window_minutes,
        baseline_start=ms_to_dt(baseline_start),
        # The window's log events and metric points, counted from the rows just read (one scan, one answer).
        counts=SignalCounts(
            tickets=ticket_count, log_events=int(rollups.count.sum()), metric_points=len(metrics)
        ),
        rollups=rollups,
        metrics=metrics,
        tickets=_tickets(tickets, stage_of),
        payment_events=_payment_events(payment_rows, stage_of),
        baselines=_baselines(baseline_rows, stage_of, end),
        merchant_stages=stage_of.current(seen | {b["merchant_id"] for b in baseline_rows}, end),
        unknown_merchants=tuple(sorted(seen - timeline.merchants)) if timeline.loaded else (),
        history=history,
        open_incidents=open_incidents,
        recently_resolved=recently_resolved,
        error_codes=error_codes_of(rollups),
        alerts=_alerts(alert_rows, stage_of),
    )


class StageResolver:
    """A signal's migration stage: its own when it carries one; else the merchant directory's at the signal's
    time (`stage_at`, so a replay uses the stages of its day); else the merchant's latest reported stage;
    else "". Resolved here, when a cycle reads the signals, not at ingest: a directory loaded or corrected
    later applies to signals already stored."""

    def __init__(self, timeline: StageTimeline, reported: dict[str, str]) -> None:
        self.timeline = timeline
        self.reported = reported

    def stage_at(self, merchant_id: str, at_ms: int) -> str:
        """The stage of a signal that carries none."""
        if self.timeline.loaded:
            stage = self.timeline.stage_at(merchant_id, at_ms)
            if stage is not None:
                return stage
        return self.reported.get(merchant_id, "")

    def __call__(self, own: str | None, merchant_id: str, at_ms: int) -> str:
        return own or self.stage_at(merchant_id, at_ms)

    def current(self, merchants: set[str], as_of_ms: int) -> dict[str, str]:
        """Each merchant's stage as of the window's end: the latest reported one, or the directory's."""
        out = dict(self.reported)
        if self.timeline.loaded:
            for merchant in sorted(merchants - out.keys()):
                stage = self.timeline.stage_at(merchant, as_of_ms)
                if stage is not None:
                    out[merchant] = stage
        return out


# The window's rows come from typed columns written by validated ingest: they are not validated again. Rollups
# and metric points (hundreds of thousands per cycle at scale) become columns (`observe.window`), not one record
# per row. A row without a stage takes one from `StageResolver`.


def _tickets(tickets: list[Ticket], stage_of: StageResolver) -> tuple[Ticket, ...]:
    return tuple(
        t
        if t.migration_stage
        else t.model_copy(
            update={"migration_stage": stage_of.stage_at(t.merchant_id, dt_to_ms(t.created_at)) or None}
        )
        for t in tickets
    )


def _rollups(window: window_repo.WindowColumns, stage_of: StageResolver) -> RollupColumns:
    n = window.numbers
    minute_ms = _frozen(n["minute_ms"])
    merchants = _labels(window, "merchant_id")
    return RollupColumns(
        minute_ms=minute_ms,
        merchant_id=merchants,
        migration_stage=_stages(_labels(window, "migration_stage"), merchants, minute_ms, stage_of),
        source=_labels(window, "source"),
        endpoint=_labels(window, "endpoint"),
        status_class=_labels(window, "status_class"),
        status_code=_labels(window, "status_code"),
        count=_frozen(n["count"]),
        latency_count=_frozen(n["latency_count"]),
        latency_sum=_frozen(n["latency_sum"]),
        latency_max=_frozen(n["latency_max"]),
        latency_hist=_frozen(n["latency_hist"]),
    )


def _metrics(window: window_repo.WindowColumns, stage_of: StageResolver) -> MetricColumns:
    n = window.numbers
    ts_ms = _frozen(n["ts_ms"])
    merchants = _labels(window, "merchant_id")
    return MetricColumns(
        ts_ms=ts_ms,
        merchant_id=merchants,
        migration_stage=_stages(_labels(window, "migration_stage"), merchants, ts_ms, stage_of),
        interval_seconds=_frozen(n["interval_seconds"]),
        checkout_attempts=_frozen(n["checkout_attempts"]),
        orders=_frozen(n["orders"]),
        revenue=_frozen(n["revenue"]),
        sessions=_frozen(n["sessions"]),
        has_sessions=_frozen(n["has_sessions"].astype(bool)),
        p95_latency_ms=_frozen(n["p95_latency_ms"]),
        has_p95=_frozen(n["has_p95"].astype(bool)),
        currency=_labels(window, "currency"),
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _labels(window: window_repo.WindowColumns, name: str) -> Labels:
    codes, values = window.text[name]
    return Labels.from_codes(codes, values)


def _stages(own: Labels, merchants: Labels, at_ms: np.ndarray, stage_of: StageResolver) -> Labels:
    """Each row's stage: its own, else `stage_of` at the row's time (resolved once per merchant and time)."""
    missing = own.mask("")
    if not missing.any():
        return own
    values = list(own.values)
    index = {v: i for i, v in enumerate(values)}
    codes = own.codes.copy()
    rows = np.flatnonzero(missing)
    resolved: dict[tuple[int, int], int] = {}
    for i, key in zip(
        rows.tolist(), zip(merchants.codes[rows].tolist(), at_ms[rows].tolist(), strict=True), strict=True
    ):
        code = resolved.get(key)
        if code is None:
            stage = stage_of.stage_at(merchants.values[key[0]], key[1])
            code = resolved[key] = index.setdefault(stage, len(index))
            if code == len(values):
                values.append(stage)
        codes[i] = code
    return Labels.from_codes(codes, values)


def _payment_events(rows: Rows, stage_of: StageResolver) -> tuple[PaymentOrderEvent, ...]:
    return tuple(
        PaymentOrderEvent(
            ts=ms_to_dt(p["ts_ms"]),
            merchant_id=p["merchant_id"],
            migration_stage=stage_of(p["migration_stage"], p["merchant_id"], p["ts_ms"]),
            event=p["event"],
            correlation_id=p["correlation_id"],
        )
        for p in rows
    )


def _alerts(rows: Rows, stage_of: StageResolver) -> tuple[ActiveAlert, ...]:
    """An alert without a stage label takes its merchant's stage at the alert's start."""
    return tuple(
        ActiveAlert(
            fingerprint=a["fingerprint"],
            alertname=a["alertname"],
            status=a["status"],
            starts_at=ms_to_dt(a["starts_ms"]),
            ends_at=ms_to_dt(a["ends_ms"]) if a["ends_ms"] is not None else None,
            severity=a["severity"],
            merchant_id=a["merchant_id"],
            migration_stage=stage_of(a["migration_stage"], a["merchant_id"] or "", a["starts_ms"]) or None,
            summary=a["summary"],
        )
        for a in rows
    )


def _baselines(rows: Rows, stage_of: StageResolver, as_of_ms: int) -> tuple[MerchantBaseline, ...]:
    """One per merchant (thousands at scale), from typed sums: not validated again."""
    return tuple(
        MerchantBaseline.model_construct(
            merchant_id=b["merchant_id"],
            migration_stage=stage_of.reported.get(b["merchant_id"])
            or stage_of.stage_at(b["merchant_id"], as_of_ms)
            or b["migration_stage"]
            or "",
            minutes=int(b["seconds"]) // 60,
            checkout_attempts=int(b["checkout_attempts"]),
            orders=int(b["orders"]),
            revenue=float(b["revenue"]),
            currency=b["currency"],
        )
        for b in rows
    )


__all__ = ["Observation", "observe"]
