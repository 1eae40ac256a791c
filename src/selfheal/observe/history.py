"""Load detection baselines, caching complete hours in memory so a cycle reads only what is new.

Hours older than `SETTLED_MS` before `as_of` are taken as settled (late data for them is not expected) and
are fetched once per process; a steady stream of cycles therefore queries a few hours of rollups, not weeks.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine

from selfheal.observe.history_model import DetectionHistory, EndpointBaseline, MerchantVolume, MinuteTotals
from selfheal.records import ms_to_dt
from selfheal.store import Store, history_repo
from selfheal.store.history_repo import HOUR_MS
from selfheal.store.tables import HIST_COLUMNS, LATENCY_BUCKETS_MS, N_BUCKETS

SETTLED_MS = 2 * HOUR_MS
MINUTE_HISTORY_MS = 4 * 24 * HOUR_MS
"""Per-minute history handed to the streaming detector (it keeps about three days of state)."""

Fetch = Callable[[Connection, int, int], Any]


class HourCache:
    """Rows of one hourly query, kept per hour for settled hours."""

    def __init__(self, fetch: Fetch, hour_of: Callable[[Any], int]) -> None:
        self._fetch = fetch
        self._hour_of = hour_of
        self._hours: dict[int, list[Any]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, start_ms: int, end_ms: int, settled_before_ms: int) -> list[Any]:
        """Rows for the hours in `[start_ms, end_ms)` (both hour-aligned)."""
        hours = range(start_ms, end_ms, HOUR_MS)
        with self._lock:
            missing = [h for h in hours if h not in self._hours]
        fetched: dict[int, list[Any]] = defaultdict(list)
        if missing:
            for row in self._rows(conn, missing[0], missing[-1] + HOUR_MS):
                fetched[self._hour_of(row)].append(row)
        out: list[Any] = []
        with self._lock:
            for h in hours:
                rows = self._hours.get(h)
                if rows is None:
                    rows = fetched.get(h, [])
                    if h + HOUR_MS <= settled_before_ms:
                        self._hours[h] = rows
                out.extend(rows)
            for h in [h for h in self._hours if h < start_ms - 8 * 24 * HOUR_MS]:
                del self._hours[h]
        return out

    def _rows(self, conn: Connection, start_ms: int, end_ms: int) -> list[Any]:
        result = self._fetch(conn, start_ms, end_ms)
        if isinstance(result, dict):
            return list(result.items())
        return list(result)


class HistoryCache:
    """Per-database caches of hourly endpoint totals, hourly merchant totals and per-minute totals."""

    def __init__(self) -> None:
        self.endpoints = HourCache(history_repo.hourly_endpoint_totals, lambda r: int(r["hour_ms"]))
        self.merchants = HourCache(history_repo.hourly_merchant_totals, lambda r: int(r["hour_ms"]))
        self.minutes = HourCache(history_repo.minute_totals, lambda r: int(r[0]) - int(r[0]) % HOUR_MS)
        self.merchant_stages = HourCache(
            history_repo.hourly_merchant_stage_totals, lambda r: int(r["hour_ms"])
        )


_CACHES: WeakKeyDictionary[Engine, HistoryCache] = WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(store: Store) -> HistoryCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(store.engine)
        if cache is None:
            cache = _CACHES[store.engine] = HistoryCache()
        return cache


def load_history(
    conn: Connection, cache: HistoryCache, window_start_ms: int, window_end_ms: int, history_days: int
) -> DetectionHistory:
    """Baselines over the complete hours of the `history_days` before the window."""
    end = window_start_ms - window_start_ms % HOUR_MS
    start = end - history_days * 24 * HOUR_MS
    settled = window_end_ms - SETTLED_MS
    endpoint_rows = cache.endpoints.get(conn, start, end, settled)
    merchant_rows = cache.merchants.get(conn, start, end, settled)
    minute_start = max(start, end - MINUTE_HISTORY_MS)
    minute_rows = cache.minutes.get(conn, minute_start, end, settled)
    day, week = 86_400_000, 7 * 86_400_000
    one_day = history_repo.merchant_window_totals(conn, window_start_ms - day, window_end_ms - day)
    one_week = (
        history_repo.merchant_window_totals(conn, window_start_ms - week, window_end_ms - week)
        if history_days >= 7
        else {}
    )
    # Whatever lies between the last complete hour and the window start also feeds the minute series.
    tail = history_repo.minute_totals(conn, end, window_start_ms) if end < window_start_ms else {}
    return DetectionHistory(
        start=ms_to_dt(start),
        end=ms_to_dt(end),
        endpoints=_endpoint_baselines(endpoint_rows),
        merchants=_merchant_volumes(merchant_rows, one_day, one_week),
        minutes=tuple(
            MinuteTotals(minute=ms_to_dt(ms), checkout_attempts=v[0], orders=v[1], requests=v[2], errors=v[3])
            for ms, v in sorted([*minute_rows, *tail.items()])
        ),
        latency_buckets_ms=LATENCY_BUCKETS_MS,
    )


def _endpoint_baselines(rows: list[dict[str, Any]]) -> tuple[EndpointBaseline, ...]:
    acc: dict[tuple[str, str, str], list[int]] = {}
    for r in rows:
        key = (r["migration_stage"] or "", r["source"], r["endpoint"])
        slot = acc.setdefault(key, [0, 0, 0] + [0] * N_BUCKETS)
        n = int(r["count"] or 0)
        slot[0] += n
        if r["status_class"] == "4xx":
            slot[1] += n
        elif r["status_class"] == "5xx":
            slot[2] += n
        for i, h in enumerate(HIST_COLUMNS):
            slot[3 + i] += int(r[h] or 0)
    return tuple(
        EndpointBaseline(
            migration_stage=k[0],
            source=k[1],
            endpoint=k[2],
            requests=v[0],
            errors_4xx=v[1],
            errors_5xx=v[2],
            latency_hist=tuple(v[3:]),
        )
        for k, v in sorted(acc.items())
    )


def _merchant_volumes(
    rows: list[dict[str, Any]], one_day: dict[str, tuple[int, float]], one_week: dict[str, tuple[int, float]]
) -> tuple[MerchantVolume, ...]:
    acc: dict[str, list[float]] = {}
    for r in rows:
        slot = acc.setdefault(r["merchant_id"], [0, 0, 0, 0.0, 0, 0])
        slot[0] += float(r["seconds"] or 0)
        slot[1] += float(r["checkout_attempts"] or 0)
        slot[2] += float(r["orders"] or 0)
        slot[3] += float(r["revenue"] or 0.0)
        slot[4] += float(r["sessions"] or 0)
        slot[5] += float(r["session_points"] or 0)
    out = []
    for merchant, v in sorted(acc.items()):
        d, w = one_day.get(merchant), one_week.get(merchant)
        out.append(
            MerchantVolume(
                merchant_id=merchant,
                minutes=int(v[0]) // 60,
                checkout_attempts=int(v[1]),
                orders=int(v[2]),
                revenue=round(v[3], 2),
                sessions=int(v[4]) if v[5] else None,
                orders_1d=d[0] if d else None,
                orders_7d=w[0] if w else None,
                revenue_1d=d[1] if d else None,
                revenue_7d=w[1] if w else None,
            )
        )
    return tuple(out)


def load_merchant_baselines(
    conn: Connection, cache: HistoryCache, baseline_start_ms: int, window_start_ms: int, window_end_ms: int
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Per-merchant totals over `[baseline_start, window_start)` and each merchant's latest reported stage
    over `[baseline_start, window_end)`, from cached complete hours plus the partial hours at both ends.

    The same figures as `window_repo.merchant_baselines` and `window_repo.latest_stages`, without scanning
    a week of metric points every cycle.
    """
    first_hour = baseline_start_ms - baseline_start_ms % HOUR_MS
    first_full = first_hour if first_hour == baseline_start_ms else first_hour + HOUR_MS
    last_full = window_start_ms - window_start_ms % HOUR_MS
    settled = window_end_ms - SETTLED_MS
    rows: list[tuple[dict[str, Any], bool]] = []
    if first_full < last_full:
        rows += [(r, True) for r in cache.merchant_stages.get(conn, first_full, last_full, settled)]
        head = (baseline_start_ms, first_full)
        tail = (last_full, window_start_ms)
    else:
        head, tail = (baseline_start_ms, window_start_ms), (window_start_ms, window_start_ms)
    for lo, hi in (head, tail):
        if lo < hi:
            rows += [(r, True) for r in history_repo.hourly_merchant_stage_totals(conn, lo, hi)]
    rows += [
        (r, False) for r in history_repo.hourly_merchant_stage_totals(conn, window_start_ms, window_end_ms)
    ]
    totals: dict[str, dict[str, Any]] = {}
    latest: dict[str, tuple[int, str]] = {}
    for r, in_baseline in rows:
        merchant, stage = r["merchant_id"], r["migration_stage"]
        if stage is not None and int(r["last_ms"]) >= latest.get(merchant, (-1, ""))[0]:
            latest[merchant] = (int(r["last_ms"]), stage)
        if not in_baseline:
            continue
        slot = totals.setdefault(
            merchant,
            {
                "merchant_id": merchant,
                "migration_stage": None,
                "seconds": 0,
                "checkout_attempts": 0,
                "orders": 0,
                "revenue": 0.0,
                "currency": None,
            },
        )
        slot["seconds"] += int(r["seconds"] or 0)
        slot["checkout_attempts"] += int(r["checkout_attempts"] or 0)
        slot["orders"] += int(r["orders"] or 0)
        slot["revenue"] += float(r["revenue"] or 0.0)
        for key in ("migration_stage", "currency"):
            if r[key] is not None and (slot[key] is None or r[key] > slot[key]):
                slot[key] = r[key]
    return [totals[m] for m in sorted(totals)], {m: v[1] for m, v in latest.items()}
