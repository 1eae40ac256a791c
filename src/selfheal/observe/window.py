"""The window's log rollups and metric points as columns: one numpy array per field, not one record per row.

At scale a 60-minute window holds a row per (merchant, minute) and more, hundreds of thousands at 5,000
merchants; a Python record per row made observe the dominant cost of a cycle. The detectors and the summary
aggregate these columns with numpy (`np.bincount` adds in row order, so sums equal the row-by-row ones bit for
bit). String fields are dictionary-encoded (`Labels`: integer codes into a tuple of distinct values), so
grouping by merchant, stage or endpoint is integer work.

The columns are immutable (the arrays are read-only) and typed; iterating yields the typed row records
(`RollupRow`, `MetricRow`) for the places that read a few rows or draw a chart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

import numpy as np

from selfheal.records import Record, ms_to_dt
from selfheal.signals import CODE_UNKNOWN

C = TypeVar("C", bound="_Columns")


def _frozen(values: Any, dtype: Any) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Labels:
    """A dictionary-encoded string column: `values[codes[i]]` is row i's string."""

    codes: np.ndarray
    """int64, one per row"""
    values: tuple[str, ...]
    """The distinct strings (a subset of rows, `take`, keeps them all: use `distinct` for the ones in use)"""

    @classmethod
    def encode(cls, items: Iterable[str]) -> Labels:
        index: dict[str, int] = {}
        codes = [index.setdefault(s, len(index)) for s in items]
        return cls(_frozen(codes, np.int64), tuple(index))

    @classmethod
    def from_codes(cls, codes: Any, values: Sequence[str]) -> Labels:
        return cls(_frozen(codes, np.int64), tuple(values))

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, row: int) -> str:
        return self.values[int(self.codes[row])]

    def code_of(self, value: str) -> int:
        """The code of `value`, or -1 when it is not among the values."""
        try:
            return self.values.index(value)
        except ValueError:
            return -1

    def mask(self, *wanted: str) -> np.ndarray:
        """Rows whose value is one of `wanted`."""
        chosen = set(wanted)
        hit = np.array([v in chosen for v in self.values], dtype=bool)
        return hit[self.codes] if len(hit) else np.zeros(len(self.codes), dtype=bool)

    def lookup(self, mapping: Mapping[str, float], default: float = np.nan) -> np.ndarray:
        """Per row: `mapping` of the row's value (`default` where it has none)."""
        table = np.array([mapping.get(v, default) for v in self.values], dtype=np.float64)
        return table[self.codes] if len(table) else np.zeros(len(self.codes))

    def sums(self, *weights: np.ndarray) -> list[dict[str, float]]:
        """Per value some row has (in order of first appearance): the sum of each weight column."""
        present = self.distinct_codes().tolist()
        totals = group_sums(self.codes, len(self.values), *weights)
        return [{self.values[c]: float(t[c]) for c in present} for t in totals]

    def distinct_codes(self) -> np.ndarray:
        """The codes some row has, in order of first appearance."""
        codes, first = np.unique(self.codes, return_index=True)
        return codes[np.argsort(first, kind="stable")]

    def distinct(self) -> tuple[str, ...]:
        """The values some row has, in order of first appearance."""
        return tuple(self.values[c] for c in self.distinct_codes().tolist())

    def take(self, rows: np.ndarray) -> Labels:
        return Labels.from_codes(self.codes[rows], self.values)

    def decoded(self) -> list[str]:
        values = self.values
        return [values[c] for c in self.codes.tolist()]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Labels) and self.decoded() == other.decoded()

    __hash__ = None  # type: ignore[assignment]


class _Columns:
    """Shared behaviour of the column sets: length, row subsets, equality by content."""

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))  # type: ignore[arg-type]

    def take(self: C, rows: np.ndarray) -> C:
        """The rows selected by a boolean mask or an index array, as a new column set."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            col = getattr(self, f.name)
            out[f.name] = col.take(rows) if isinstance(col, Labels) else _frozen(col[rows], col.dtype)
        return type(self)(**out)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        for f in fields(self):  # type: ignore[arg-type]
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, Labels):
                if a != b:
                    return False
            elif not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]


class RollupRow(Record):
    """Per-minute log counts for one (merchant, stage, source, endpoint, status class, status code)."""

    minute: datetime
    merchant_id: str
    migration_stage: str
    source: str
    endpoint: str
    status_class: str
    count: int
    latency_count: int
    latency_sum: float
    latency_max: float
    latency_hist: tuple[int, ...]
    status_code: str = CODE_UNKNOWN
    """The code (`401`) when the rollups keep it apart, the class (`4xx`) for another code of the class,
    `CODE_UNKNOWN` when only the class is known (see `signals.ROLLUP_STATUS_CODES`)."""


class MetricRow(Record):
    """One merchant's KPI counts for one interval."""

    ts: datetime
    merchant_id: str
    migration_stage: str
    interval_seconds: int
    checkout_attempts: int
    orders: int
    revenue: float
    sessions: int | None = None
    p95_latency_ms: float | None = None
    currency: str | None = None


@dataclass(frozen=True, eq=False)
class RollupColumns(_Columns):
    """The window's log rollups, one array per field (rows in `minute_ms` order)."""

    minute_ms: np.ndarray
    merchant_id: Labels
    migration_stage: Labels
    source: Labels
    endpoint: Labels
    status_class: Labels
    count: np.ndarray
    latency_count: np.ndarray
    latency_sum: np.ndarray
    latency_max: np.ndarray
    latency_hist: np.ndarray
    """int64, shape (rows, latency buckets)"""
    status_code: Labels
    """As `RollupRow.status_code`."""

    @classmethod
    def empty(cls, buckets: int = 0) -> RollupColumns:
        return cls.from_rows((), buckets)

    @classmethod
    def from_rows(cls, rows: Iterable[RollupRow], buckets: int = 0) -> RollupColumns:
        """Columns of typed rows (tests, small windows)."""
        rows = list(rows)
        width = len(rows[0].latency_hist) if rows else buckets
        return cls(
            minute_ms=_frozen([round(r.minute.timestamp() * 1000) for r in rows], np.int64),
            merchant_id=Labels.encode(r.merchant_id for r in rows),
            migration_stage=Labels.encode(r.migration_stage for r in rows),
            source=Labels.encode(r.source for r in rows),
            endpoint=Labels.encode(r.endpoint for r in rows),
            status_class=Labels.encode(r.status_class for r in rows),
            count=_frozen([r.count for r in rows], np.int64),
            latency_count=_frozen([r.latency_count for r in rows], np.int64),
            latency_sum=_frozen([r.latency_sum for r in rows], np.float64),
            latency_max=_frozen([r.latency_max for r in rows], np.float64),
            latency_hist=_frozen([list(r.latency_hist) for r in rows], np.int64).reshape(len(rows), width),
            status_code=Labels.encode(r.status_code for r in rows),
        )

    def row(self, i: int) -> RollupRow:
        return RollupRow.model_construct(
            minute=ms_to_dt(int(self.minute_ms[i])),
            merchant_id=self.merchant_id[i],
            migration_stage=self.migration_stage[i],
            source=self.source[i],
            endpoint=self.endpoint[i],
            status_class=self.status_class[i],
            count=int(self.count[i]),
            latency_count=int(self.latency_count[i]),
            latency_sum=float(self.latency_sum[i]),
            latency_max=float(self.latency_max[i]),
            latency_hist=tuple(int(h) for h in self.latency_hist[i]),
            status_code=self.status_code[i],
        )

    def __iter__(self) -> Iterator[RollupRow]:
        return (self.row(i) for i in range(len(self)))


@dataclass(frozen=True, eq=False)
class MetricColumns(_Columns):
    """The window's metric points, one array per field (rows in (`ts_ms`, merchant) order).

    Optional fields keep a mask of the rows that have them (`has_sessions`, `has_p95`); `currency` is ""
    where a point carries none."""

    ts_ms: np.ndarray
    merchant_id: Labels
    migration_stage: Labels
    interval_seconds: np.ndarray
    checkout_attempts: np.ndarray
    orders: np.ndarray
    revenue: np.ndarray
    sessions: np.ndarray
    """int64; 0 where `has_sessions` is False"""
    has_sessions: np.ndarray
    p95_latency_ms: np.ndarray
    """float64; NaN where `has_p95` is False"""
    has_p95: np.ndarray
    currency: Labels

    @classmethod
    def empty(cls) -> MetricColumns:
        return cls.from_rows(())

    @classmethod
    def from_rows(cls, rows: Iterable[MetricRow]) -> MetricColumns:
        """Columns of typed rows (tests, small windows)."""
        rows = list(rows)
        return cls(
            ts_ms=_frozen([round(m.ts.timestamp() * 1000) for m in rows], np.int64),
            merchant_id=Labels.encode(m.merchant_id for m in rows),
            migration_stage=Labels.encode(m.migration_stage for m in rows),
            interval_seconds=_frozen([m.interval_seconds for m in rows], np.int64),
            checkout_attempts=_frozen([m.checkout_attempts for m in rows], np.int64),
            orders=_frozen([m.orders for m in rows], np.int64),
            revenue=_frozen([m.revenue for m in rows], np.float64),
            sessions=_frozen([m.sessions or 0 for m in rows], np.int64),
            has_sessions=_frozen([m.sessions is not None for m in rows], bool),
            p95_latency_ms=_frozen(
                [np.nan if m.p95_latency_ms is None else m.p95_latency_ms for m in rows], np.float64
            ),
            has_p95=_frozen([m.p95_latency_ms is not None for m in rows], bool),
            currency=Labels.encode(m.currency or "" for m in rows),
        )

    def row(self, i: int) -> MetricRow:
        return MetricRow.model_construct(
            ts=ms_to_dt(int(self.ts_ms[i])),
            merchant_id=self.merchant_id[i],
            migration_stage=self.migration_stage[i],
            interval_seconds=int(self.interval_seconds[i]),
            checkout_attempts=int(self.checkout_attempts[i]),
            orders=int(self.orders[i]),
            revenue=float(self.revenue[i]),
            sessions=int(self.sessions[i]) if self.has_sessions[i] else None,
            p95_latency_ms=float(self.p95_latency_ms[i]) if self.has_p95[i] else None,
            currency=self.currency[i] or None,
        )

    def __iter__(self) -> Iterator[MetricRow]:
        return (self.row(i) for i in range(len(self)))

    def minute_ms(self) -> np.ndarray:
        """Each point's minute (its timestamp truncated to the minute), epoch ms."""
        minute: np.ndarray = self.ts_ms - self.ts_ms % 60_000
        return minute

    def first_currency(self) -> str | None:
        """The first point's currency that is set (the order rows are in), or None."""
        for code in self.currency.distinct_codes().tolist():
            value: str = self.currency.values[code]
            if value:
                return value
        return None


def group_sums(keys: np.ndarray, size: int, *weights: np.ndarray) -> list[np.ndarray]:
    """Per key in `range(size)`: the sum of each weight column, added in row order (equal, bit for bit, to a
    running Python sum over the rows)."""
    return [np.bincount(keys, weights=w.astype(np.float64), minlength=size) for w in weights]


def ordered_sum(values: np.ndarray) -> float:
    """The sum of `values` added left to right (as a Python loop would), not pairwise."""
    if not len(values):
        return 0.0
    return float(np.bincount(np.zeros(len(values), dtype=np.int64), weights=values.astype(np.float64))[0])


def group_rows(*columns: np.ndarray | Labels) -> tuple[np.ndarray, np.ndarray]:
    """Group rows by the combination of the given columns (Labels or integer arrays).

    Returns each row's group number and each group's first row; groups are numbered in order of first
    appearance, as a dict filled row by row would hold them."""
    arrays = [c.codes if isinstance(c, Labels) else np.asarray(c, dtype=np.int64) for c in columns]
    n = len(arrays[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    for a in arrays:
        _, dense = np.unique(a, return_inverse=True)
        key = key * (int(dense.max()) + 1) + dense.ravel()
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.ravel()], first[order]


def group_max(groups: np.ndarray, size: int, values: np.ndarray, initial: float = 0.0) -> np.ndarray:
    """Per group: the maximum of `values` and `initial`."""
    out = np.full(size, initial, dtype=np.float64)
    np.maximum.at(out, groups, values)
    return out
