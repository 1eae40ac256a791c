"""Minutes a feed's records never arrived in: missing data, not quiet minutes.

Exporters drop minutes and collectors restart: a whole minute since the onset without any KPI point (or without
any record of a log source) on a platform that otherwise reports plenty each minute is a hole in the data, and the
loss in it must be estimated, not read as zero. A minute counts as missing when the feed has no record in it and
averages at least `MIN_RECORDS_PER_MINUTE` a minute over the window's minutes that have records (checkout
attempts for the KPI points, requests for a log source): with fewer, an empty minute may be a quiet one. One
merchant's feed can drop minutes on its own too (its exporter down while the others report): a merchant's minute
without its KPI point is missing data when the merchant averages at least `MIN_MERCHANT_ATTEMPTS_PER_MINUTE`
checkout attempts a minute (`kpi_missing_by_merchant`). Pure.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from selfheal.observe.model import Observation

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
MIN_RECORDS_PER_MINUTE = 10.0
"""A feed's empty minute is missing data when the feed averages at least this many records a minute (checkout
attempts for the KPI points, requests for a log source) in the window's minutes that have any."""
MIN_MERCHANT_ATTEMPTS_PER_MINUTE = 5.0
"""A merchant's own minute without a KPI point is missing data when the merchant averages at least this many checkout
attempts a minute in the window's minutes with its points (a minute without any attempt is then under 1 % likely)."""


def span_minutes(obs: Observation, onset: datetime | None) -> range:
    """The whole minutes (epoch minutes) from the onset's minute (the window start without one, or when the onset
    lies before it) to `as_of`: those the loss since the onset counts."""
    if onset is not None and onset >= obs.window_start:
        first = (onset.replace(second=0, microsecond=0) - EPOCH) // MINUTE
    else:
        first = math.ceil((obs.window_start - EPOCH) / MINUTE)
    return range(first, (obs.as_of - EPOCH) // MINUTE)


def _empty_minutes(
    minute_ms: np.ndarray, volume: np.ndarray, obs: Observation, onset: datetime | None
) -> frozenset[int]:
    seen = np.unique(minute_ms // 60_000)
    if not len(seen) or float(volume.sum()) / len(seen) < MIN_RECORDS_PER_MINUTE:
        return frozenset()
    return frozenset(span_minutes(obs, onset)) - frozenset(seen.tolist())


def _as_times(minutes: frozenset[int]) -> tuple[datetime, ...]:
    return tuple(EPOCH + MINUTE * i for i in sorted(minutes))


def kpi_gap_minutes(obs: Observation, onset: datetime | None) -> tuple[datetime, ...]:
    """The whole minutes since the onset in which no KPI point arrived from any merchant (missing data)."""
    m = obs.metrics
    return _as_times(_empty_minutes(m.minute_ms(), m.checkout_attempts, obs, onset))


def kpi_missing_by_merchant(obs: Observation, onset: datetime | None) -> dict[str, int]:
    """Per merchant with KPI points in the window: how many whole minutes since the onset lack its point as missing
    data: the minutes without any merchant's point (`kpi_gap_minutes`), and for a merchant averaging at least
    `MIN_MERCHANT_ATTEMPTS_PER_MINUTE` attempts a minute, every minute without its own point (its feed alone
    dropped them)."""
    m = obs.metrics
    if not len(m):
        return {}
    span = span_minutes(obs, onset)
    platform = len(_empty_minutes(m.minute_ms(), m.checkout_attempts, obs, onset))
    codes, minutes = m.merchant_id.codes.astype(np.int64), m.minute_ms() // 60_000
    size = len(m.merchant_id.values)
    pairs = np.unique(codes * (int(minutes.max()) + 1) + minutes, return_index=True)[1]
    per_code = np.bincount(codes[pairs], minlength=size)
    in_span = pairs[(minutes[pairs] >= span.start) & (minutes[pairs] < span.stop)]
    covered = np.bincount(codes[in_span], minlength=size)
    attempts = np.bincount(codes, weights=m.checkout_attempts.astype(np.float64), minlength=size)
    out: dict[str, int] = {}
    for c in m.merchant_id.distinct_codes().tolist():
        dense = attempts[c] / per_code[c] >= MIN_MERCHANT_ATTEMPTS_PER_MINUTE
        out[m.merchant_id.values[c]] = len(span) - int(covered[c]) if dense else platform
    return out


def log_gap_minutes(
    obs: Observation, onset: datetime | None, sources: tuple[str, ...], resumed_only: bool = False
) -> tuple[datetime, ...]:
    """The whole minutes since the onset in which one of the log `sources` (all of them when empty) has no
    record at all (missing data). With `resumed_only`, only the gaps the source's records came back after: a
    silence that lasts to `as_of` is left out, since a source that stopped and has not come back may be the
    failure itself (order webhooks no longer delivered), not a collector's hole."""
    r = obs.rollups
    missing: frozenset[int] = frozenset()
    for source in sources or r.source.distinct():
        rows = r.take(r.source.mask(source))
        empty = _empty_minutes(rows.minute_ms, rows.count, obs, onset)
        if resumed_only and empty:
            last_seen = int(rows.minute_ms.max()) // 60_000
            empty = frozenset(m for m in empty if m < last_seen)
        missing |= empty
    return _as_times(missing)


def stretches(minutes: tuple[datetime, ...]) -> str:
    """Consecutive minutes as `HH:MM-HH:MM` stretches (a lone minute as `HH:MM`), comma-separated."""
    runs: list[list[datetime]] = []
    for t in minutes:
        if runs and t - runs[-1][-1] == MINUTE:
            runs[-1].append(t)
        else:
            runs.append([t])
    return ", ".join(f"{r[0]:%H:%M}" if len(r) == 1 else f"{r[0]:%H:%M}-{r[-1] + MINUTE:%H:%M}" for r in runs)
