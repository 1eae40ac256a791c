"""Read the window's rollups and metric points incrementally: keep each minute's rows between cycles and
re-read only the minutes that are new or changed.

A 60-minute window at 5,000 merchants is some 600,000 rows, and consecutive scheduler cycles share all but
five minutes of it. Each process keeps the rows of the window's whole minutes it read (per database, like
`observe.history`'s hours). A cycle asks the database for one cheap fingerprint per minute (a `GROUP BY` of
row counts and integer sums, `window_repo.*_fingerprints`) and compares it with the fingerprint of the rows it
holds for that minute: a minute is re-read when it is not held or the two differ. Every way a window row
changes moves the fingerprint: ingest inserts a rollup row (the row count grows) or adds into one (`count`
grows: every event adds one), and only inserts metric points (the row count grows); nothing deletes either
(raw retention prunes `log_events`, which the window does not read). So late rows another worker ingested
into an old minute, and counts incremented after the last read, reach every process's next cycle. The
fingerprint of the held rows is computed from the rows themselves, so rows read after the fingerprint query
(a commit in between) only cause one more re-read.

The window handed back equals a full read (`window_repo.rollups` / `metrics`) bit for bit: the minutes' rows in
minute order (each minute's read keeps the full query's order) and the text fields re-encoded in order of first
appearance over the whole window, as the full read encodes them. The partial minutes at either end of a window
that does not start or end on a minute are read every time. Only the current window's minutes are kept
(a window elsewhere, e.g. a replay, replaces them); a process that holds nothing reads every minute, as before.
Each minute is as of its own read: a row committed while a cycle reads reaches it or the next one, as with the
other reads of observe (separate statements under READ COMMITTED).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection

from selfheal.observe.fingerprints import Fingerprint, RecentFingerprints
from selfheal.observe.history import PerEngine, runs_of
from selfheal.store import window_repo
from selfheal.store.window_repo import WindowColumns

MINUTE_MS = 60_000
MAX_STRINGS = 200_000
"""The distinct text values interned per field before the cache starts afresh (bounds memory when merchants,
stages or endpoints come and go)."""

Read = Callable[[Connection, int, int], WindowColumns]
Fingerprints = Callable[[Connection, int, int], dict[int, Fingerprint]]


@dataclass(frozen=True)
class _Minute:
    """One minute's rows: text fields as ids into the cache's interned strings, numbers as read."""

    fingerprint: Fingerprint
    text: dict[str, np.ndarray]
    numbers: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.numbers.values())))


class _Interned:
    """Each text field's distinct values seen, numbered as first seen (append-only: an id never changes)."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.strings: dict[str, list[str]] = {f: [] for f in fields}
        self.ids: dict[str, dict[str, int]] = {f: {} for f in fields}

    def size(self) -> int:
        return max((len(s) for s in self.strings.values()), default=0)


class MinuteCache:
    """The rows of one window table (`read`), held per whole minute and revalidated by `fingerprints`."""

    def __init__(
        self,
        table: str,
        read: Read,
        fingerprints: Fingerprints,
        minute_of: Callable[[WindowColumns], np.ndarray],
        fingerprint_of: Callable[[dict[str, np.ndarray]], Fingerprint],
        text_fields: tuple[str, ...],
    ) -> None:
        self.table = table
        self._read = read
        self._fingerprints = fingerprints
        self._minute_of = minute_of
        self._fingerprint_of = fingerprint_of
        self._text_fields = text_fields
        self._minutes: dict[int, _Minute] = {}
        self._interned = _Interned(text_fields)
        self._lock = threading.Lock()
        self.minutes_read = 0
        """Whole minutes read from the database by this cache (tests and benchmarks watch it)."""

    def held(self) -> list[int]:
        """The minutes held (epoch ms), ascending."""
        with self._lock:
            return sorted(self._minutes)

    def columns(
        self, conn: Connection, start_ms: int, end_ms: int, recent: RecentFingerprints | None = None
    ) -> WindowColumns:
        """The table's rows in `[start_ms, end_ms)`, equal to `read(conn, start_ms, end_ms)`; the minutes'
        fingerprints from `recent` when it covers them (read once per cycle), else read here."""
        first = -(-start_ms // MINUTE_MS) * MINUTE_MS
        last = end_ms - end_ms % MINUTE_MS
        if first >= last:  # no whole minute in the window
            return self._read(conn, start_ms, end_ms)
        minutes = range(first, last, MINUTE_MS)
        if recent is not None and recent.covers(first, last):
            stored = recent.minutes(self.table, first, last)
        else:
            stored = self._fingerprints(conn, first, last)
        with self._lock:
            if self._interned.size() > MAX_STRINGS:
                self._minutes.clear()
                self._interned = _Interned(self._text_fields)
            interned = self._interned
            held = {m: self._minutes[m] for m in minutes if m in self._minutes}
        stale = [m for m in minutes if m not in held or held[m].fingerprint != stored.get(m, _EMPTY)]
        fresh = [(lo, hi, self._read(conn, lo, hi)) for lo, hi in runs_of(stale, MINUTE_MS)]
        head = self._read(conn, start_ms, first) if start_ms < first else None
        tail = self._read(conn, last, end_ms) if last < end_ms else None
        with self._lock:
            parts = dict(held)
            for lo, hi, window in fresh:
                parts.update(self._split(interned, window, lo, hi))
            edges = [self._intern(interned, e) if e is not None else None for e in (head, tail)]
            self.minutes_read += len(stale)
            if self._interned is interned:
                self._minutes = {m: parts[m] for m in minutes}
        ordered = [*edges[:1], *(parts[m] for m in minutes), *edges[1:]]
        return _assemble([p for p in ordered if p is not None], interned)

    def _intern(self, interned: _Interned, window: WindowColumns) -> _Minute:
        """`window`'s rows with its text fields as interned ids (under the lock)."""
        text: dict[str, np.ndarray] = {}
        for f in self._text_fields:
            codes, values = window.text[f]
            ids, strings = interned.ids[f], interned.strings[f]
            lookup = np.empty(len(values), dtype=np.int64)
            for i, value in enumerate(values):
                found = ids.get(value)
                if found is None:
                    found = ids[value] = len(strings)
                    strings.append(value)
                lookup[i] = found
            text[f] = lookup[codes] if len(codes) else np.zeros(0, dtype=np.int64)
        return _Minute(self._fingerprint_of(window.numbers), text, window.numbers)

    def _split(self, interned: _Interned, window: WindowColumns, lo: int, hi: int) -> dict[int, _Minute]:
        """The whole minutes of `[lo, hi)` read as one range, one `_Minute` each (under the lock)."""
        whole = self._intern(interned, window)
        minute = self._minute_of(window)
        bounds = np.searchsorted(minute, np.arange(lo, hi + MINUTE_MS, MINUTE_MS), side="left").tolist()
        out: dict[int, _Minute] = {}
        for k, m in enumerate(range(lo, hi, MINUTE_MS)):
            rows = slice(bounds[k], bounds[k + 1])
            # Copies, not views: a minute held alone does not keep the whole read's arrays alive.
            numbers = {n: a[rows].copy() for n, a in whole.numbers.items()}
            text = {f: a[rows].copy() for f, a in whole.text.items()}
            out[m] = _Minute(self._fingerprint_of(numbers), text, numbers)
        return out


def _assemble(parts: list[_Minute], interned: _Interned) -> WindowColumns:
    numbers = {n: np.concatenate([p.numbers[n] for p in parts]) for n in parts[0].numbers}
    text = {
        f: _first_appearance(np.concatenate([p.text[f] for p in parts]), strings)
        for f, strings in interned.strings.items()
    }
    return WindowColumns(text, numbers)


_EMPTY: Fingerprint = ()


def _first_appearance(ids: np.ndarray, strings: list[str]) -> tuple[np.ndarray, list[str]]:
    """Interned ids re-encoded as a full read encodes a text field: codes numbered in order of first
    appearance, and the values in that order."""
    if not len(ids):
        return np.zeros(0, dtype=np.int64), []
    first = np.full(len(strings), len(ids), dtype=np.int64)
    np.minimum.at(first, ids, np.arange(len(ids), dtype=np.int64))
    present = np.flatnonzero(first < len(ids))
    order = present[np.argsort(first[present], kind="stable")]
    rank = np.zeros(len(strings), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank[ids], [strings[i] for i in order.tolist()]


def _rollup_minutes(window: WindowColumns) -> np.ndarray:
    return window.numbers["minute_ms"]


def _metric_minutes(window: WindowColumns) -> np.ndarray:
    ts: np.ndarray = window.numbers["ts_ms"]
    minute: np.ndarray = ts - ts % MINUTE_MS
    return minute


class WindowCache:
    """Per-database caches of the window's rollups and metric points."""

    def __init__(self) -> None:
        self.rollups = MinuteCache(
            "rollups",
            window_repo.rollups,
            window_repo.rollup_fingerprints,
            _rollup_minutes,
            window_repo.rollup_fingerprint_of,
            window_repo.ROLLUP_TEXT,
        )
        self.metrics = MinuteCache(
            "metrics",
            window_repo.metrics,
            window_repo.metric_fingerprints,
            _metric_minutes,
            window_repo.metric_fingerprint_of,
            window_repo.METRIC_TEXT,
        )


window_cache_for = PerEngine(WindowCache)
"""The window cache of a store's database."""
