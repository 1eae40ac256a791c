"""The recent minutes' fingerprints, read once per cycle and shared by every incremental read of observe.

A minute's fingerprint (`window_repo.rollup_fingerprints` / `metric_fingerprints`: row counts and integer sums,
one `GROUP BY minute` per table) moves with every change ingest can make to that minute's rows: ingest only
inserts rollup rows or adds into them and only inserts metric points; nothing deletes either. A cycle reads
them over the recent minutes (`recent_span`: the unsettled history hours and the window) and every cache
that keeps something derived from those minutes between cycles compares them with the fingerprints it kept:
the window's rows (`observe.window_cache`) and the unsettled hours' aggregates (`observe.history`).

An aggregate is kept with the fingerprints read *before* it was aggregated: rows committed in between make
the kept fingerprints older than the rows, so the next cycle sees a difference and aggregates again (one read
too many, never a stale answer), since fingerprints only grow.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from selfheal.store import window_repo
from selfheal.store.history_repo import HOUR_MS, MINUTE_MS

Fingerprint = tuple[int, ...]
TABLES = ("rollups", "metrics")
SpanKey = tuple[tuple[int, Fingerprint], ...]
"""A span's fingerprint: its minutes that hold rows, each with its fingerprint, per table in turn."""


@dataclass(frozen=True)
class RecentFingerprints:
    """Per table, the fingerprint of each minute of `[start_ms, end_ms)` that holds rows."""

    start_ms: int
    end_ms: int
    tables: dict[str, dict[int, Fingerprint]]

    @classmethod
    def read(cls, conn: Connection, start_ms: int, end_ms: int) -> RecentFingerprints:
        """Both tables' fingerprints over `[start_ms, end_ms)` (minute-aligned): one query per table."""
        return cls(
            start_ms,
            end_ms,
            {
                "rollups": window_repo.rollup_fingerprints(conn, start_ms, end_ms),
                "metrics": window_repo.metric_fingerprints(conn, start_ms, end_ms),
            },
        )

    def covers(self, start_ms: int, end_ms: int) -> bool:
        return self.start_ms <= start_ms and end_ms <= self.end_ms

    def minutes(self, table: str, start_ms: int, end_ms: int) -> dict[int, Fingerprint]:
        """`table`'s fingerprints of the minutes of `[start_ms, end_ms)` (a covered span)."""
        return {m: f for m, f in self.tables[table].items() if start_ms <= m < end_ms}

    def span(self, tables: tuple[str, ...], start_ms: int, end_ms: int) -> SpanKey | None:
        """One key for the rows of `tables` in `[start_ms, end_ms)`: it changes whenever any of them changes;
        None when the span is not covered (nothing can be kept for it)."""
        if not self.covers(start_ms, end_ms):
            return None
        key: list[tuple[int, Fingerprint]] = []
        for table in tables:
            key.extend(sorted(self.minutes(table, start_ms, end_ms).items()))
            key.append((-1, ()))  # separates the tables
        return tuple(key)


def recent_span(window_start_ms: int, window_end_ms: int, settled_ms: int) -> tuple[int, int]:
    """The minutes whose fingerprints a cycle reads: from the first hour not yet settled (`settled_ms` before
    the window's end) or the window's first whole minute, whichever is earlier, to the window's last whole
    minute."""
    settled = window_end_ms - settled_ms
    first_unsettled = settled - settled % HOUR_MS
    first_minute = -(-window_start_ms // MINUTE_MS) * MINUTE_MS
    return min(first_unsettled, first_minute), window_end_ms - window_end_ms % MINUTE_MS
