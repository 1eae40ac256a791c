"""Load detection baselines, caching complete hours in memory so a cycle reads only what is new.

Hours older than `SETTLED_MS` before `as_of` are taken as settled (late data for them is not expected) and
are fetched once per process; a steady stream of cycles therefore queries a few hours of rollups, not weeks.

Settled hours are also persisted (`history_hours` table, `store.history_hours_repo`): the first cycle of a
new process reads the stored hourly aggregates instead of re-aggregating weeks of raw rollups and metric
points, and aggregates only the hours not stored yet. Ingestion deletes a stored hour when late rows land in
it, in the ingest transaction, so the next process re-aggregates it; raw retention leaves stored hours alone.
Every process's in-memory hours follow the database: each cycle reads the versions (`stored_ms`) of the
stored hours it covers (no payloads) and drops any hour it holds whose stored version is gone or changed,
so late data that another process ingested reaches every worker's next cycle, as it reaches a fresh one.

The unsettled hours (and the minutes between the last complete hour and the window, and the window's latest
reported stages) are re-aggregated each cycle unless the cycle passes the recent minutes' fingerprints
(`observe.fingerprints`, setting `window_cache`): then each keeps its aggregate with the fingerprints read
before it was aggregated, and aggregates again only when they changed. The same query over the same rows: the
same result as re-aggregating (`tests/store/test_window_cache.py`).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine

from selfheal.observe.fingerprints import TABLES, RecentFingerprints, SpanKey
from selfheal.observe.history_model import DetectionHistory, EndpointBaseline, MerchantVolume, MinuteTotals
from selfheal.records import dt_to_ms, ms_to_dt, utcnow
from selfheal.signals import HIST_COLUMNS, LATENCY_BUCKETS_MS, N_BUCKETS
from selfheal.store import Store, history_hours_repo, history_repo
from selfheal.store.history_repo import HOUR_MS, MINUTE_MS

SETTLED_MS = 2 * HOUR_MS
MINUTE_HISTORY_MS = 4 * 24 * HOUR_MS
"""Per-minute history handed to the streaming detector (it keeps about three days of state)."""

Fetch = Callable[[Connection, int, int], Any]
T = TypeVar("T")


class HourCache:
    """Rows of one hourly query (`kind`) over the rows of `tables`, kept per hour for settled hours, in memory
    and in the database, and for unsettled hours in memory while their fingerprints hold.

    A settled hour missing from memory is read from the stored hours (`history_hours_repo`) when it is there;
    otherwise it is aggregated from the raw rows and stored, so the next process reads it instead. The stored
    hours are written on the caller's connection, which must commit for them to persist. An unsettled hour is
    aggregated again unless the cycle's fingerprints (`observe.fingerprints`) of its minutes equal those read
    before its kept aggregate was.
    """

    def __init__(
        self, kind: str, fetch: Fetch, hour_of: Callable[[Any], int], tables: tuple[str, ...]
    ) -> None:
        self.kind = kind
        self.tables = tables
        self._fetch = fetch
        self._hour_of = hour_of
        self._hours: dict[int, list[Any]] = {}
        self._versions: dict[int, int] = {}
        """The stored version (`stored_ms`) of each hour held in memory."""
        self._unsettled: dict[int, tuple[SpanKey, list[Any]]] = {}
        """Unsettled hours' rows, each with the fingerprints read before it was aggregated."""
        self.hours_aggregated = 0
        """Hours aggregated from raw rows by this cache (tests and benchmarks watch it)."""
        self._lock = threading.Lock()
        self.generation = 0
        """Bumped whenever held hours are dropped as stale (folds over them are stale too)."""

    def revalidate(self, conn: Connection, start_ms: int, end_ms: int) -> dict[int, int]:
        """Drop held hours in `[start_ms, end_ms)` whose stored version changed; the stored versions."""
        stored = history_hours_repo.versions(conn, self.kind, start_ms, end_ms)
        with self._lock:
            stale = [
                h for h in self._hours if start_ms <= h < end_ms and stored.get(h) != self._versions.get(h)
            ]
            for h in stale:
                del self._hours[h]
                self._versions.pop(h, None)
            if stale:
                self.generation += 1
        return stored

    def get(
        self,
        conn: Connection,
        start_ms: int,
        end_ms: int,
        settled_before_ms: int,
        evict: bool = True,
        recent: RecentFingerprints | None = None,
    ) -> list[Any]:
        """Rows for the hours in `[start_ms, end_ms)` (both hour-aligned); `evict` drops hours long before;
        the unsettled hours covered by `recent` are kept between cycles while their fingerprints hold."""
        hours = range(start_ms, end_ms, HOUR_MS)
        stored = self.revalidate(conn, start_ms, min(end_ms, settled_before_ms))
        with self._lock:
            missing = [h for h in hours if h not in self._hours]
        keys, kept = self._unsettled_kept(missing, settled_before_ms, recent)
        missing = [h for h in missing if h not in kept]
        fetched: dict[int, list[Any]] = defaultdict(list)
        fetched.update(
            history_hours_repo.read_hours(
                conn, self.kind, [h for h in missing if h + HOUR_MS <= settled_before_ms]
            )
        )
        to_fetch = [h for h in missing if h not in fetched]
        to_store = [h for h in to_fetch if h + HOUR_MS <= settled_before_ms]
        if to_store:
            history_hours_repo.lock_for_aggregation(conn)
        for lo, hi in runs_of(to_fetch):
            for row in self._rows(conn, lo, hi):
                fetched[self._hour_of(row)].append(row)
        self.hours_aggregated += len(to_fetch)
        fetched.update(kept)
        now = dt_to_ms(utcnow())
        if to_store:
            history_hours_repo.store_hours(conn, self.kind, {h: fetched.get(h, []) for h in to_store}, now)
        out: list[Any] = []
        with self._lock:
            for h in hours:
                rows = self._hours.get(h)
                if rows is None:
                    rows = fetched.get(h, [])
                    if h + HOUR_MS <= settled_before_ms:
                        self._hours[h] = rows
                        self._versions[h] = stored.get(h, now)
                    elif h in keys:
                        self._unsettled[h] = (keys[h], rows)
                out.extend(rows)
            self._evict(start_ms if evict else None, settled_before_ms)
        return out

    def _evict(self, first_ms: int | None, settled_before_ms: int) -> None:
        """Drop settled hours long before `first_ms` (None: keep them) and unsettled hours no longer current
        (under the lock)."""
        for h in [h for h in self._hours if first_ms is not None and h < first_ms - 8 * 24 * HOUR_MS]:
            del self._hours[h]
            self._versions.pop(h, None)
        for h in [h for h in self._unsettled if not 0 < h + HOUR_MS - settled_before_ms <= 24 * HOUR_MS]:
            del self._unsettled[h]  # settled now (held as a settled hour once read again), or far off

    def _unsettled_kept(
        self, hours: list[int], settled_before_ms: int, recent: RecentFingerprints | None
    ) -> tuple[dict[int, SpanKey], dict[int, list[Any]]]:
        """The current fingerprints of the unsettled `hours` that `recent` covers, and the rows kept for those
        whose fingerprints have not changed since."""
        keys: dict[int, SpanKey] = {}
        for h in hours:
            key = recent.span(self.tables, h, h + HOUR_MS) if recent is not None else None
            if key is not None and h + HOUR_MS > settled_before_ms:
                keys[h] = key
        with self._lock:
            held = {h: self._unsettled.get(h) for h in keys}
        return keys, {h: v[1] for h, v in held.items() if v is not None and v[0] == keys[h]}

    def _rows(self, conn: Connection, start_ms: int, end_ms: int) -> list[Any]:
        result = self._fetch(conn, start_ms, end_ms)
        if isinstance(result, dict):
            return list(result.items())
        return list(result)


def runs_of(starts: list[int], step: int = HOUR_MS) -> list[tuple[int, int]]:
    """Contiguous `[start, end)` spans covering the ascending period starts `starts` (periods `step` long)."""
    runs: list[tuple[int, int]] = []
    for s in starts:
        if runs and runs[-1][1] == s:
            runs[-1] = (runs[-1][0], s + step)
        else:
            runs.append((s, s + step))
    return runs


def _hour_ms(row: dict[str, Any]) -> int:
    return int(row["hour_ms"])


class HistoryCache:
    """Per-database caches of hourly endpoint totals, hourly merchant totals and per-minute totals."""

    def __init__(self) -> None:
        self.endpoints = HourCache("endpoints", history_repo.hourly_endpoint_totals, _hour_ms, ("rollups",))
        self.merchants = HourCache("merchants", history_repo.hourly_merchant_totals, _hour_ms, ("metrics",))
        self.minutes = HourCache(
            "minutes",
            history_repo.minute_totals,
            lambda r: int(r[0]) - int(r[0]) % HOUR_MS,
            TABLES,
        )
        self.merchant_stages = HourCache(
            "merchant_stages", history_repo.hourly_merchant_stage_totals, _hour_ms, ("metrics",)
        )
        self.tail_minutes = MinuteResults(history_repo.minute_totals, TABLES)
        """The per-minute totals between the last complete hour and the window."""
        self.window_stages = MinuteResults(history_repo.minute_latest_stages, ("metrics",))
        """Each minute's latest reported stage per merchant, over the window."""
        self.folds: dict[str, tuple[tuple[int, int, int], Any]] = {}
        """Per kind: the settled hour range last folded and its fold (sums), reused until the range moves."""
        self.lock = threading.Lock()

    def folded(
        self,
        kind: str,
        hours: HourCache,
        conn: Connection,
        span: tuple[int, int],
        settled: int,
        fold: Callable[[list[Any]], Any],
        merge: Callable[[Any, Any], Any],
        recent: RecentFingerprints | None = None,
    ) -> Any:
        """`fold` over the rows of the hours in `span`, reusing the fold of the settled part between cycles
        (and the unsettled hours' rows while `recent` shows them unchanged)."""
        start, end = span
        settled_end = max(start, min(end, settled - settled % HOUR_MS))
        hours.revalidate(conn, start, settled_end)
        key = (start, settled_end, hours.generation)
        with self.lock:
            memo = self.folds.get(kind)
        if memo is None or memo[0] != key:
            memo = (key, fold(hours.get(conn, start, settled_end, settled)))
            with self.lock:
                self.folds[kind] = memo
        rest = (
            fold(hours.get(conn, settled_end, end, settled, evict=False, recent=recent))
            if settled_end < end
            else None
        )
        return memo[1] if rest is None else merge(memo[1], rest)


class MinuteResults(Generic[T]):
    """Per-minute results of a query over the rows of `tables` (`read`: minute -> result, minutes without rows
    left out), each whole minute's kept between cycles while the cycle's fingerprints show it unchanged.

    Only the last span asked for is kept. Exact for any query whose per-minute results do not depend on the
    span read (grouped by minute)."""

    def __init__(self, read: Callable[[Connection, int, int], dict[int, T]], tables: tuple[str, ...]) -> None:
        self._read = read
        self._tables = tables
        self._minutes: dict[int, tuple[SpanKey, T | None]] = {}
        """Each kept minute's fingerprints read before it was, and its result (None: no rows)."""
        self._lock = threading.Lock()
        self.minutes_read = 0
        """Whole minutes read from the database (tests watch it)."""

    def get(
        self, conn: Connection, start_ms: int, end_ms: int, recent: RecentFingerprints | None
    ) -> dict[int, T]:
        """`read(conn, start_ms, end_ms)`, re-reading only the whole minutes whose fingerprints changed."""
        first = -(-start_ms // MINUTE_MS) * MINUTE_MS
        last = end_ms - end_ms % MINUTE_MS
        if recent is None or first >= last or not recent.covers(first, last):
            return self._read(conn, start_ms, end_ms)
        keys = {m: recent.span(self._tables, m, m + MINUTE_MS) or () for m in range(first, last, MINUTE_MS)}
        with self._lock:
            held = {m: self._minutes.get(m) for m in keys}
        kept = {m: h[1] for m, h in held.items() if h is not None and h[0] == keys[m]}
        stale = [m for m in keys if m not in kept]
        out: dict[int, T] = {}
        for lo, hi in [*runs_of(stale, MINUTE_MS), (start_ms, first), (last, end_ms)]:
            if lo < hi:
                out.update(self._read(conn, lo, hi))
        with self._lock:
            self._minutes = {m: (keys[m], kept[m] if m in kept else out.get(m)) for m in keys}
            self.minutes_read += len(stale)
        out.update({m: v for m, v in kept.items() if v is not None})
        return out


class PerEngine(Generic[T]):
    """One `make()` per database engine, made on first use and dropped with the engine."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._caches: WeakKeyDictionary[Engine, T] = WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, store: Store) -> T:
        with self._lock:
            cache = self._caches.get(store.engine)
            if cache is None:
                cache = self._caches[store.engine] = self._make()
            return cache


cache_for = PerEngine(HistoryCache)
"""The history cache of a store's database."""


MIN_COMPARISON_COVERAGE = 0.9
"""A same-window comparison (yesterday, last week) needs KPI data in this share of its minutes."""


def load_history(
    conn: Connection,
    cache: HistoryCache,
    window_start_ms: int,
    window_end_ms: int,
    history_days: int,
    recent: RecentFingerprints | None = None,
) -> DetectionHistory:
    """Baselines over the complete hours of the `history_days` before the window; with `recent`, the unsettled
    hours and minutes are aggregated again only when their fingerprints changed."""
    end = window_start_ms - window_start_ms % HOUR_MS
    start = end - history_days * 24 * HOUR_MS
    settled = window_end_ms - SETTLED_MS
    endpoint_acc = cache.folded(
        "endpoints", cache.endpoints, conn, (start, end), settled, _fold_endpoints, _merge_sums, recent
    )
    merchant_acc = cache.folded(
        "merchants", cache.merchants, conn, (start, end), settled, _fold_merchants, _merge_sums, recent
    )
    minute_start = max(start, end - MINUTE_HISTORY_MS)
    minute_rows = cache.minutes.get(conn, minute_start, end, settled, recent=recent)
    day, week = 86_400_000, 7 * 86_400_000
    cover_1d = _coverage(conn, window_start_ms - day, window_end_ms - day)
    cover_7d = _coverage(conn, window_start_ms - week, window_end_ms - week) if history_days >= 7 else 0.0
    one_day = (
        history_repo.merchant_window_totals(conn, window_start_ms - day, window_end_ms - day)
        if cover_1d >= MIN_COMPARISON_COVERAGE
        else {}
    )
    one_week = (
        history_repo.merchant_window_totals(conn, window_start_ms - week, window_end_ms - week)
        if cover_7d >= MIN_COMPARISON_COVERAGE
        else {}
    )
    # Whatever lies between the last complete hour and the window start also feeds the minute series.
    tail = cache.tail_minutes.get(conn, end, window_start_ms, recent) if end < window_start_ms else {}
    return DetectionHistory(
        start=ms_to_dt(start),
        end=ms_to_dt(end),
        endpoints=_endpoint_baselines(endpoint_acc),
        merchants=_merchant_volumes(merchant_acc, one_day, one_week),
        minutes=tuple(
            MinuteTotals(minute=ms_to_dt(ms), checkout_attempts=v[0], orders=v[1], requests=v[2], errors=v[3])
            for ms, v in sorted([*minute_rows, *tail.items()])
        ),
        latency_buckets_ms=LATENCY_BUCKETS_MS,
        coverage_1d=round(cover_1d, 4),
        coverage_7d=round(cover_7d, 4),
    )


def _coverage(conn: Connection, start_ms: int, end_ms: int) -> float:
    """Share of the minutes of `[start_ms, end_ms)` with KPI data."""
    minutes = max((end_ms - start_ms) // 60_000, 1)
    return min(history_repo.covered_minutes(conn, start_ms, end_ms) / minutes, 1.0)


def _merge_sums(a: dict[Any, list[Any]], b: dict[Any, list[Any]]) -> dict[Any, list[Any]]:
    """Element-wise sums of two folds (neither is modified)."""
    out = {k: list(v) for k, v in a.items()}
    for k, v in b.items():
        slot = out.get(k)
        out[k] = list(v) if slot is None else [x + y for x, y in zip(slot, v, strict=True)]
    return out


def _fold_endpoints(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[int]]:
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
    return acc


def _endpoint_baselines(acc: dict[tuple[str, str, str], list[int]]) -> tuple[EndpointBaseline, ...]:
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


def _fold_merchants(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    acc: dict[str, list[float]] = {}
    for r in rows:
        slot = acc.setdefault(r["merchant_id"], [0, 0, 0, 0.0, 0, 0])
        slot[0] += float(r["seconds"] or 0)
        slot[1] += float(r["checkout_attempts"] or 0)
        slot[2] += float(r["orders"] or 0)
        slot[3] += float(r["revenue"] or 0.0)
        slot[4] += float(r["sessions"] or 0)
        slot[5] += float(r["session_points"] or 0)
    return acc


def _merchant_volumes(
    acc: dict[str, list[float]], one_day: dict[str, tuple[int, float]], one_week: dict[str, tuple[int, float]]
) -> tuple[MerchantVolume, ...]:
    out = []
    for merchant, v in sorted(acc.items()):
        d, w = one_day.get(merchant), one_week.get(merchant)
        out.append(  # one per merchant (thousands at scale), from typed sums: not validated again
            MerchantVolume.model_construct(
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
    conn: Connection,
    cache: HistoryCache,
    baseline_start_ms: int,
    window_start_ms: int,
    window_end_ms: int,
    recent: RecentFingerprints | None = None,
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
    if first_full < last_full:
        fold = cache.folded(
            "merchant_stages",
            cache.merchant_stages,
            conn,
            (first_full, last_full),
            settled,
            _fold_stage_rows,
            _merge_stage_folds,
            recent,
        )
        edges = [(baseline_start_ms, first_full), (last_full, window_start_ms)]
    else:
        fold = ({}, {})
        edges = [(baseline_start_ms, window_start_ms)]
    for lo, hi in edges:
        if lo < hi:
            part = _fold_stage_rows(history_repo.hourly_merchant_stage_totals(conn, lo, hi))
            fold = _merge_stage_folds(fold, part)
    totals, latest = fold
    window = cache.window_stages.get(conn, window_start_ms, window_end_ms, recent)
    latest = dict(latest)
    for minute in sorted(window):  # a later point wins, as in `_merge_stage_folds`
        for merchant, (ms, stage) in window[minute].items():
            if ms >= latest.get(merchant, (-1, ""))[0]:
                latest[merchant] = (ms, stage)
    rows = [
        {
            "merchant_id": m,
            "migration_stage": v[4],
            "seconds": v[0],
            "checkout_attempts": v[1],
            "orders": v[2],
            "revenue": v[3],
            "currency": v[5],
        }
        for m, v in sorted(totals.items())
    ]
    return rows, {m: v[1] for m, v in latest.items()}


StageFold = tuple[dict[str, list[Any]], dict[str, tuple[int, str]]]
"""Per merchant [seconds, attempts, orders, revenue, max stage, max currency], and (latest ms, its stage)."""


def _max_text(a: str | None, b: str | None) -> str | None:
    return b if a is None or (b is not None and b > a) else a


def _fold_stage_rows(rows: list[dict[str, Any]]) -> StageFold:
    totals: dict[str, list[Any]] = {}
    latest: dict[str, tuple[int, str]] = {}
    for r in rows:
        merchant, stage = r["merchant_id"], r["migration_stage"]
        if stage is not None and int(r["last_ms"]) >= latest.get(merchant, (-1, ""))[0]:
            latest[merchant] = (int(r["last_ms"]), stage)
        slot = totals.setdefault(merchant, [0, 0, 0, 0.0, None, None])
        slot[0] += int(r["seconds"] or 0)
        slot[1] += int(r["checkout_attempts"] or 0)
        slot[2] += int(r["orders"] or 0)
        slot[3] += float(r["revenue"] or 0.0)
        slot[4] = _max_text(slot[4], stage)
        slot[5] = _max_text(slot[5], r["currency"])
    return totals, latest


def _merge_stage_folds(a: StageFold, b: StageFold) -> StageFold:
    """The fold of both parts (neither is modified)."""
    totals = {k: list(v) for k, v in a[0].items()}
    for k, v in b[0].items():
        slot = totals.get(k)
        if slot is None:
            totals[k] = list(v)
        else:
            totals[k] = [*(x + y for x, y in zip(slot[:4], v[:4], strict=True)), _max_text(slot[4], v[4])]
            totals[k].append(_max_text(slot[5], v[5]))
    latest = dict(a[1])
    for k, (ms, stage) in b[1].items():
        if ms >= latest.get(k, (-1, ""))[0]:
            latest[k] = (ms, stage)
    return totals, latest
