"""Observe: read the window ending at `as_of` (and its baseline history) from storage into an Observation,
with the open incidents the cycle starts from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from selfheal.observe.history import cache_for, load_history, load_merchant_baselines
from selfheal.observe.incidents import read_open_incidents, read_recently_resolved
from selfheal.observe.model import (
    ActiveAlert,
    ErrorCodeCount,
    MerchantBaseline,
    MetricRow,
    Observation,
    PaymentOrderEvent,
    RollupRow,
    SignalCounts,
)
from selfheal.records import dt_to_ms, ms_to_dt
from selfheal.settings import Settings
from selfheal.signals import HIST_COLUMNS, Ticket
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
        counts = _signal_counts(conn, start, end)
        rollup_rows = window_repo.rollups(conn, start, end)
        metric_rows = window_repo.metrics(conn, start, end)
        tickets = window_repo.tickets(conn, start, end)
        payment_rows = window_repo.payment_events(conn, start - grace, end)
        code_rows = window_repo.error_codes(conn, start, end)
        alert_rows = alerts_repo.window_alerts(conn, start, end)
        cache = cache_for(store)
        baseline_rows, stages = load_merchant_baselines(conn, cache, baseline_start, start, end)
        timeline = directory_repo.stage_timeline(conn, end)
        history = load_history(conn, cache, start, end, settings.detect_history_days)
        open_incidents = read_open_incidents(conn)
        recently_resolved = read_recently_resolved(conn, start)
        conn.commit()  # the settled history hours aggregated by this cycle, stored for the next process

    stage_of = StageResolver(timeline, stages)
    seen = {
        *(r["merchant_id"] for r in rollup_rows),
        *(m["merchant_id"] for m in metric_rows),
        *(t.merchant_id for t in tickets),
    }
    return Observation(
        as_of=ms_to_dt(end),
        window_start=ms_to_dt(start),
        window_minutes=window_minutes,
        baseline_start=ms_to_dt(baseline_start),
        counts=counts,
        rollups=_rollups(rollup_rows, stage_of),
        metrics=_metrics(metric_rows, stage_of),
        tickets=_tickets(tickets, stage_of),
        payment_events=_payment_events(payment_rows, stage_of),
        baselines=_baselines(baseline_rows, stage_of, end),
        merchant_stages=stage_of.current(seen | {b["merchant_id"] for b in baseline_rows}, end),
        unknown_merchants=tuple(sorted(seen - timeline.merchants)) if timeline.loaded else (),
        history=history,
        open_incidents=open_incidents,
        recently_resolved=recently_resolved,
        error_codes=tuple(ErrorCodeCount.model_construct(**r) for r in code_rows),
        alerts=_alerts(alert_rows, stage_of),
    )


def _signal_counts(conn: Connection, start: int, end: int) -> SignalCounts:
    return SignalCounts(
        tickets=window_repo.count_tickets(conn, start, end),
        log_events=window_repo.count_log_events(conn, start, end),
        metric_points=window_repo.count_metric_points(conn, start, end),
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


# The window's rows come from typed columns written by validated ingest: rollups and metrics are built without
# re-validating (tens of thousands of rows per cycle at scale). A row without a stage takes one from
# `StageResolver`.


def _tickets(tickets: list[Ticket], stage_of: StageResolver) -> tuple[Ticket, ...]:
    return tuple(
        t
        if t.migration_stage
        else t.model_copy(
            update={"migration_stage": stage_of.stage_at(t.merchant_id, dt_to_ms(t.created_at)) or None}
        )
        for t in tickets
    )


def _rollups(rows: Rows, stage_of: StageResolver) -> tuple[RollupRow, ...]:
    return tuple(
        RollupRow.model_construct(
            minute=ms_to_dt(r["minute_ms"]),
            merchant_id=r["merchant_id"],
            migration_stage=stage_of(r["migration_stage"], r["merchant_id"], r["minute_ms"]),
            source=r["source"],
            endpoint=r["endpoint"],
            status_class=r["status_class"],
            count=r["count"],
            latency_count=r["latency_count"],
            latency_sum=r["latency_sum"],
            latency_max=r["latency_max"],
            latency_hist=tuple(r[h] for h in HIST_COLUMNS),
        )
        for r in rows
    )


def _metrics(rows: Rows, stage_of: StageResolver) -> tuple[MetricRow, ...]:
    return tuple(
        MetricRow.model_construct(
            ts=ms_to_dt(m["ts_ms"]),
            merchant_id=m["merchant_id"],
            migration_stage=stage_of(m["migration_stage"], m["merchant_id"], m["ts_ms"]),
            interval_seconds=m["interval_seconds"],
            checkout_attempts=m["checkout_attempts"],
            orders=m["orders"],
            revenue=m["revenue"],
            sessions=m["sessions"],
            p95_latency_ms=m["p95_latency_ms"],
            currency=m["currency"],
        )
        for m in rows
    )


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
    return tuple(
        MerchantBaseline(
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
