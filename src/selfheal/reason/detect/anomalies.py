"""Turn an Observation (window + history) into Anomaly findings: hard, soft and business failures.

Every rate is tested as a count against its baseline (binomial or Poisson), so small merchants do not
raise alarms for one failure; platform-wide per-minute series also go through the default streaming detector
(`context`, the one measured on NAB). Findings below `threshold` are dropped.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from selfheal.observe.gaps import kpi_gap_minutes, span_minutes
from selfheal.observe.history_model import DetectionHistory
from selfheal.observe.model import Observation
from selfheal.observe.window import Labels, RollupColumns, group_max, group_rows, group_sums
from selfheal.reason.detect.base import DEFAULT_DETECTOR
from selfheal.reason.detect.counts import (
    binomial_excess_pvalue,
    highest_plausible_rate,
    poisson_pvalue,
    pvalue_to_score,
)
from selfheal.reason.detect.state_cache import STREAMING_STATE
from selfheal.reason.model import (
    SEVERITY_RANK,
    Anomaly,
    AnomalyKind,
    DataNote,
    DataNoteKind,
    Dimensions,
    Severity,
    SoftFailureGap,
)
from selfheal.records import dt_to_ms, ms_to_dt

ERROR_CLASSES = ("4xx", "5xx")
PRIOR_ERROR_RATE = 0.005
PRIOR_WEIGHT = 200.0
MIN_LIFT = 2.0
MIN_EXCESS = 0.01
MIN_ORDER_DROP = 0.3
MIN_COVERED_SHARE = 0.5
"""The orders test needs KPI points in at least this share of the window's whole minutes: minutes missing data
(`observe.gaps`: none from any merchant on a feed that otherwise reports plenty) count neither as expected nor as
actual orders, and with fewer covered minutes the stage's orders are not compared (not enough data)."""
ONSET_SPAN = 5
THIN_BASELINE_TRIALS = 1000
"""A baseline with fewer requests than this cannot say what rate is normal for the endpoint."""
CONFINED_MIN_MINUTES = 5
SUSTAINED_PVALUE = 0.01
"""A failure confined to a few merchants counts only when it is still material and significant from this many
minutes after its onset on: a sustained failure, not a deploy blip of a minute or two (the endpoint-wide test
has the whole traffic behind it; this one only a few merchants' requests)."""
THIN_HISTORY_SURE_RATE = 0.5
"""With a thin baseline only a failure rate at least this high (most requests failing) may exceed low, unless
the history, thin as it is, already rules the rate out as normal (`THIN_HISTORY_RULED_OUT_LIFT`)."""
THIN_HISTORY_TAIL = 0.001
"""How sure the highest normal rate a thin history allows must be (one-sided)."""
THIN_HISTORY_RULED_OUT_LIFT = 2.0
"""A rate at least this many times the highest normal rate the thin history allows (e.g. 0 failures in 900
requests allow at most 0.77 %) is no normal rate however little history there is: a failure diluted over
healthy minutes (flapping) or over unaffected stages may then reach medium."""


def severity_for(score: float, excess: float, rate: float | None) -> Severity:
    """Severity from the evidence (score) and the size of the effect (excess events, observed rate).

    A tiny sample cannot be critical however odd it looks: critical needs at least 25 excess events.
    """
    big_rate = rate is None or rate >= 0.2
    if score >= 0.9 and excess >= 25 and big_rate:
        return Severity.critical
    if score >= 0.75 and excess >= 10:
        return Severity.high
    if score >= 0.6 and excess >= 3:
        return Severity.medium
    return Severity.low


def quantile_from_hist(hist: np.ndarray, q: float, bounds: tuple[float, ...], max_value: float) -> float:
    """A quantile from latency bucket counts, interpolating inside the bucket."""
    total = float(hist.sum())
    if total <= 0:
        return 0.0
    target, seen = q * total, 0.0
    for i, n in enumerate(hist):
        if n and seen + n >= target:
            lo = bounds[i - 1] if i > 0 else 0.0
            hi = bounds[i] if i < len(bounds) else max(max_value, lo)
            return float(lo + (hi - lo) * (target - seen) / n)
        seen += float(n)
    return float(max_value)


def _anomaly_id(*parts: object) -> str:
    digest = hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:12]
    return f"anm_{digest}"


def _rate(k: float, n: float) -> float:
    return k / n if n else 0.0


@dataclass
class _Cell:
    """Counts of one key in the window, per minute and per merchant."""

    failures: int = 0
    trials: int = 0
    per_minute: dict[datetime, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    per_merchant: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    stages: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, minute: datetime, merchant: str, stage: str, failures: int, trials: int) -> None:
        self.failures += failures
        self.trials += trials
        for slot in (self.per_minute[minute], self.per_merchant[merchant], self.stages[stage]):
            slot[0] += failures
            slot[1] += trials

    @classmethod
    def of(
        cls, at_ms: np.ndarray, merchants: Labels, stages: Labels, failures: np.ndarray, trials: np.ndarray
    ) -> _Cell:
        """The cell of window rows given as columns: the same counts as `add` row by row."""
        cell = cls()
        cell.failures = int(failures.sum())
        cell.trials = int(trials.sum())
        minutes, at = np.unique(at_ms, return_inverse=True)
        f, t = group_sums(at.ravel(), len(minutes), failures, trials)
        for i, ms in enumerate(minutes.tolist()):
            cell.per_minute[ms_to_dt(ms)] = [int(f[i]), int(t[i])]
        for groups, labels in ((cell.per_merchant, merchants), (cell.stages, stages)):
            size = len(labels.values)
            present = np.bincount(labels.codes, minlength=size) > 0
            f, t = group_sums(labels.codes, size, failures, trials)
            for code in np.flatnonzero(present).tolist():
                groups[labels.values[code]] = [int(f[code]), int(t[code])]
        return cell


def _onset(cell: _Cell, p0: float) -> datetime | None:
    """First minute from which the next few minutes' failures are significant against `p0`."""
    minutes = sorted(cell.per_minute)
    f = np.array([cell.per_minute[m][0] for m in minutes], dtype=float)
    n = np.array([cell.per_minute[m][1] for m in minutes], dtype=float)
    for i, minute in enumerate(minutes):
        k, t = f[i : i + ONSET_SPAN].sum(), n[i : i + ONSET_SPAN].sum()
        if (
            f[i] > 0
            and _material(k, t, p0)
            and binomial_excess_pvalue(np.array([k]), np.array([t]), p0)[0] < 0.01
        ):
            return minute
    return None


def _since(cell: _Cell, onset: datetime) -> tuple[int, int]:
    """Failures and trials from `onset` to the end of the window."""
    f = n = 0
    for minute, (k, t) in cell.per_minute.items():
        if minute >= onset:
            f += k
            n += t
    return f, n


def _material(k: float, n: float, p0: float) -> bool:
    r = _rate(k, n)
    return r > p0 * MIN_LIFT and r > p0 + MIN_EXCESS


def _affected(cell: _Cell, p0: float, key: str = "merchants") -> tuple[str, ...]:
    groups = cell.per_merchant if key == "merchants" else cell.stages
    hits = [
        (g, v[0])
        for g, v in groups.items()
        if v[0] > 0
        and _material(v[0], v[1], p0)
        and binomial_excess_pvalue(np.array([v[0]]), np.array([v[1]]), p0)[0] < 0.05
    ]
    return tuple(g for g, _ in sorted(hits, key=lambda gv: (-gv[1], gv[0])))


def _baseline_rate(failures: float, trials: float) -> float:
    return (failures + PRIOR_ERROR_RATE * PRIOR_WEIGHT) / (trials + PRIOR_WEIGHT)


def _rate_anomaly(
    *,
    kind: AnomalyKind,
    metric: str,
    series: str,
    key: tuple[str, ...],
    cell: _Cell,
    p0: float,
    threshold: float,
    window_start: datetime,
    dims: Dimensions,
    detail: str,
    baseline_trials: float | None = None,
    baseline_failures: float = 0.0,
    tests: int = 1,
) -> Anomaly | None:
    """A binomial finding for `cell` against `p0`; `baseline_trials` is how much history `p0` rests on (and
    `baseline_failures` how many of those failed); `tests` is how many cells were searched to find this one (its
    p-value is multiplied by it).

    With a thin baseline (fewer than THIN_BASELINE_TRIALS, None = p0 is not learned from history) the normal
    rate is unknown, so the severity is capped at low and the detail says so; at medium when most requests
    fail, or when the rate is well above the highest normal rate even the thin history allows.
    """
    if cell.trials == 0:
        return None
    # Judge the counts since the change began when one is visible, else the whole window.
    found = _onset(cell, p0) if len(cell.per_minute) > 1 else None
    onset = found or window_start
    failures, trials = _since(cell, onset) if found else (cell.failures, cell.trials)
    if not _material(failures, trials, p0):
        return None
    pvalue = binomial_excess_pvalue(np.array([failures]), np.array([trials]), p0) * tests
    score = float(pvalue_to_score(pvalue)[0])
    if score < threshold:
        return None
    observed = _rate(failures, trials)
    excess = failures - p0 * trials
    severity = severity_for(score, excess, observed)
    caveat = ""
    if baseline_trials is not None and baseline_trials < THIN_BASELINE_TRIALS:
        highest = highest_plausible_rate(baseline_failures, baseline_trials, THIN_HISTORY_TAIL)
        ruled_out = observed >= THIN_HISTORY_RULED_OUT_LIFT * highest
        cap = Severity.medium if observed >= THIN_HISTORY_SURE_RATE or ruled_out else Severity.low
        if SEVERITY_RANK[severity] > SEVERITY_RANK[cap]:
            severity = cap
        caveat = (
            f"; uncertain: the baseline has only {baseline_trials:.0f} requests (fewer than "
            f"{THIN_BASELINE_TRIALS}), so the expected rate {p0:.2%} leans on a prior and the severity is "
            f"capped at {cap.value}"
        )
        if ruled_out and observed < THIN_HISTORY_SURE_RATE:
            caveat += f" (the rate is over {THIN_HISTORY_RULED_OUT_LIFT:g}x the highest normal rate they allow, {highest:.2%})"
    return Anomaly(
        id=_anomaly_id(metric, *key, onset.isoformat()),
        kind=kind,
        severity=severity,
        score=round(score, 4),
        method="binomial test vs baseline rate",
        series=series,
        metric=metric,
        onset=onset,
        observed=round(observed, 4),
        expected=round(p0, 4),
        expected_high=round(min(1.0, p0 * MIN_LIFT + MIN_EXCESS), 4),
        dimensions=dims.model_copy(
            update={
                "merchants": dims.merchants or _affected(cell, p0),
                "stages": dims.stages or _affected(cell, p0, "stages"),
            }
        ),
        detail=f"{failures} of {trials} {detail} since {onset:%H:%M} (expected about {p0 * trials:.1f})"
        + caveat,
    )


@dataclass
class _EndpointBaseline:
    """The history's requests, errors per status class and latency histogram per (source, endpoint)."""

    requests: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    errors: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    latency: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)


def _endpoint_baseline(obs: Observation) -> _EndpointBaseline:
    base = _EndpointBaseline()
    for b in obs.history.endpoints if obs.history else ():
        base.requests[(b.source, b.endpoint)] += b.requests
        base.errors[(b.source, b.endpoint, "4xx")] += b.errors_4xx
        base.errors[(b.source, b.endpoint, "5xx")] += b.errors_5xx
        h = base.latency.setdefault((b.source, b.endpoint), np.zeros(len(b.latency_hist)))
        h += np.asarray(b.latency_hist)
    return base


def _error_cells(obs: Observation) -> dict[tuple[str, str, str], tuple[_Cell, np.ndarray, np.ndarray]]:
    """Errors per (source, endpoint, status class); the trials of each minute / merchant / stage are the
    requests of the same endpoint in that minute / merchant / stage. With each cell: the rows of the
    endpoint's requests and of its failures (to cut the cell down to some merchants)."""
    r = obs.rollups
    requests = dict(_groups(r, r.source, r.endpoint))
    failed = np.flatnonzero(r.status_class.mask(*ERROR_CLASSES))
    return {
        (source, endpoint, klass): (
            _error_cell(r, requests[(source, endpoint)], rows),
            requests[(source, endpoint)],
            rows,
        )
        for (source, endpoint, klass), rows in _groups(r, r.source, r.endpoint, r.status_class, rows=failed)
    }


def _error_cell(r: RollupColumns, request_rows: np.ndarray, error_rows: np.ndarray) -> _Cell:
    """The failures of `error_rows` out of the requests of `request_rows`, per minute, merchant and stage."""
    total = _cell_of(r, request_rows, np.zeros(len(request_rows), dtype=np.int64), r.count[request_rows])
    cell = _cell_of(r, error_rows, r.count[error_rows], np.zeros(len(error_rows), dtype=np.int64))
    cell.trials = sum(v[1] for v in total.per_minute.values())
    for merchant, slot in cell.per_merchant.items():
        slot[1] = total.per_merchant[merchant][1] if merchant in total.per_merchant else 0
    for stage, slot in cell.stages.items():
        slot[1] = total.stages[stage][1] if stage in total.stages else 0
    for minute, counts in total.per_minute.items():
        cell.per_minute[minute][1] = counts[1]
    return cell


def _confined(cell: _Cell, p0: float, threshold: float) -> tuple[tuple[str, ...], int]:
    """The merchants whose own rate is material and significant against `p0` after correcting for the number
    of merchants searched, and that number: a failure confined to a few merchants (one large shop, a small
    stage) that the endpoint-wide rate dilutes below notice."""
    groups = [(m, k, n) for m, (k, n) in cell.per_merchant.items() if k > 0 and n > 0]
    tests = max(len(cell.per_merchant), 1)
    if not groups:
        return (), tests
    k = np.array([g[1] for g in groups], dtype=np.float64)
    n = np.array([g[2] for g in groups], dtype=np.float64)
    scores = pvalue_to_score(np.minimum(binomial_excess_pvalue(k, n, p0) * tests, 1.0))
    hit = [
        g[0]
        for g, score in zip(groups, scores.tolist(), strict=True)
        if score >= threshold and _material(g[1], g[2], p0)
    ]
    return tuple(sorted(hit)), tests


def _groups(
    r: RollupColumns, *by: Labels, rows: np.ndarray | None = None
) -> list[tuple[tuple[str, ...], np.ndarray]]:
    """The rollup rows (all, or `rows`) grouped by the labels `by`, in order of first appearance."""
    rows = np.arange(len(r)) if rows is None else rows
    groups, first = group_rows(*(label.take(rows) for label in by))
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(len(first) + 1))
    return [
        (tuple(label[int(rows[f])] for label in by), rows[order[bounds[g] : bounds[g + 1]]])
        for g, f in enumerate(first.tolist())
    ]


def _cell_of(r: RollupColumns, rows: np.ndarray, failures: np.ndarray, trials: np.ndarray) -> _Cell:
    return _Cell.of(
        r.minute_ms[rows], r.merchant_id.take(rows), r.migration_stage.take(rows), failures, trials
    )


def _latency_rows(obs: Observation) -> list[tuple[tuple[str, ...], np.ndarray]]:
    """The rows with latencies, per (source, endpoint)."""
    r = obs.rollups
    return _groups(r, r.source, r.endpoint, rows=np.flatnonzero(r.latency_count != 0))


def hard_failures(obs: Observation, threshold: float) -> list[Anomaly]:
    """Error rates per (source, endpoint, status class) and slow-request rates per (source, endpoint); when the
    endpoint-wide rate shows nothing, the same rate over the merchants whose own rate stands out (a failure
    confined to a few merchants, corrected for the number of merchants searched)."""
    base = _endpoint_baseline(obs)
    r = obs.rollups
    found: list[Anomaly | None] = []
    for (source, endpoint, klass), (cell, request_rows, error_rows) in _error_cells(obs).items():
        p0 = _baseline_rate(base.errors[(source, endpoint, klass)], base.requests[(source, endpoint)])
        args = {
            "kind": AnomalyKind.hard,
            "metric": "error_rate",
            "p0": p0,
            "threshold": threshold,
            "window_start": obs.window_start,
            "detail": f"{source} {endpoint} requests answered {klass}",
            "baseline_trials": base.requests[(source, endpoint)],
            "baseline_failures": base.errors[(source, endpoint, klass)],
        }
        dims = Dimensions(sources=(source,), endpoints=(endpoint,), status_codes=(klass,))
        series = f"error rate {source} {endpoint} {klass}"
        anomaly = _rate_anomaly(series=series, key=(source, endpoint, klass), cell=cell, dims=dims, **args)  # type: ignore[arg-type]
        if anomaly is None:
            merchants, tests = _confined(cell, p0, threshold)
            if merchants:
                only = r.merchant_id.mask(*merchants)
                sub = _error_cell(r, request_rows[only[request_rows]], error_rows[only[error_rows]])
                anomaly = (
                    None
                    if not _sustained(sub, p0)
                    else _rate_anomaly(
                        series=f"{series}, merchant(s) {', '.join(merchants)}",
                        key=(source, endpoint, klass, *merchants),
                        cell=sub,
                        dims=_confined_dims(dims, sub, merchants),
                        tests=tests,
                        **args,  # type: ignore[arg-type]
                    )
                )
        found.append(anomaly)
    found += [
        _latency_anomaly(source, endpoint, rows, base.latency.get((source, endpoint)), obs, threshold)
        for (source, endpoint), rows in _latency_rows(obs)
    ]
    return [a for a in found if a is not None]


def _sustained(cell: _Cell, p0: float) -> bool:
    """Whether a confined cell still fails, materially and significantly, from `CONFINED_MIN_MINUTES` after its
    onset on: a sustained failure, not a deploy blip of a minute or two."""
    onset = _onset(cell, p0) if len(cell.per_minute) > 1 else None
    if onset is None:
        return False
    k, n = _since(cell, onset + timedelta(minutes=CONFINED_MIN_MINUTES))
    return (
        n > 0
        and _material(k, n, p0)
        and float(binomial_excess_pvalue(np.array([k]), np.array([n]), p0)[0]) < SUSTAINED_PVALUE
    )


def _confined_dims(dims: Dimensions, sub: _Cell, merchants: tuple[str, ...]) -> Dimensions:
    """The dimensions of a failure confined to `merchants`: theirs, and their stages where the rows carry one."""
    return dims.model_copy(
        update={"merchants": merchants, "stages": tuple(sorted(s for s in sub.stages if s))}
    )


def _latency_anomaly(
    source: str,
    endpoint: str,
    rows: np.ndarray,
    baseline: np.ndarray | None,
    obs: Observation,
    threshold: float,
) -> Anomaly | None:
    """Requests slower than the baseline's p95 bucket, tested as a count (about 5 % expected)."""
    bounds = obs.history.latency_buckets_ms if obs.history else ()
    if baseline is None or baseline.sum() < 100 or not bounds:
        return None
    cum = np.cumsum(baseline) / baseline.sum()
    cut = int(np.searchsorted(cum, 0.95, side="left"))
    if cut >= len(bounds):
        return None
    p0 = max(float(1.0 - cum[cut]), 0.01)
    r = obs.rollups
    h = r.latency_hist[rows]
    slow, total = h[:, cut + 1 :].sum(axis=1), h.sum(axis=1)
    series = f"share of {source} {endpoint} requests slower than {bounds[cut]:.0f} ms"
    args = {
        "kind": AnomalyKind.hard,
        "metric": "slow_request_rate",
        "p0": p0,
        "threshold": threshold,
        "window_start": obs.window_start,
        "detail": f"{source} {endpoint} requests slower than {bounds[cut]:.0f} ms",
    }
    dims = Dimensions(sources=(source,), endpoints=(endpoint,))
    cell = _cell_of(r, rows, slow, total)
    anomaly = _rate_anomaly(series=series, key=(source, endpoint, "latency"), cell=cell, dims=dims, **args)  # type: ignore[arg-type]
    if anomaly is None:
        merchants, tests = _confined(cell, p0, threshold)
        if not merchants:
            return None
        only = r.merchant_id.mask(*merchants)[rows]
        rows = rows[only]
        sub = _cell_of(r, rows, slow[only], total[only])
        if not _sustained(sub, p0):
            return None
        anomaly = _rate_anomaly(
            series=f"{series}, merchant(s) {', '.join(merchants)}",
            key=(source, endpoint, "latency", *merchants),
            cell=sub,
            dims=_confined_dims(dims, sub, merchants),
            tests=tests,
            **args,  # type: ignore[arg-type]
        )
        if anomaly is None:
            return None
    window_hist = r.latency_hist[rows].sum(axis=0).astype(np.float64)
    latency_max = max(0.0, float(r.latency_max[rows].max()))
    p95_now = quantile_from_hist(window_hist, 0.95, bounds, latency_max)
    p95_base = quantile_from_hist(baseline, 0.95, bounds, bounds[-1])
    return anomaly.model_copy(
        update={
            "metric": "latency_p95",
            "observed": round(p95_now, 1),
            "expected": round(p95_base, 1),
            "expected_low": None,
            "expected_high": None,
            "detail": anomaly.detail + f"; p95 {p95_now:.0f} ms vs baseline {p95_base:.0f} ms",
        }
    )


def soft_failures(gaps: tuple[SoftFailureGap, ...], obs: Observation, threshold: float) -> list[Anomaly]:
    """Payments without orders, per stage, against a small prior rate of unpaired payments."""
    by_stage: dict[str, _Cell] = defaultdict(_Cell)
    first: dict[str, datetime] = {}
    for g in gaps:
        by_stage[g.migration_stage].add(
            obs.window_start, g.merchant_id, g.migration_stage, g.missing_orders, g.payments
        )
        if g.first_missing_at and (
            g.migration_stage not in first or g.first_missing_at < first[g.migration_stage]
        ):
            first[g.migration_stage] = g.first_missing_at
    out = []
    for stage, cell in by_stage.items():
        anomaly = _rate_anomaly(
            kind=AnomalyKind.soft,
            metric="payments_without_order_rate",
            series=f"payments without order.created, stage {stage}",
            key=("soft", stage),
            cell=cell,
            p0=PRIOR_ERROR_RATE,
            threshold=threshold,
            window_start=first.get(stage, obs.window_start),
            dims=Dimensions(stages=(stage,), endpoints=("payment.succeeded", "order.created")),
            detail="successful payments with no order.created after the grace period",
        )
        if anomaly:
            out.append(anomaly.model_copy(update={"onset": first.get(stage, anomaly.onset)}))
    return out


@dataclass
class _StageBusiness:
    """One stage's business counts: the window's cells and the baseline's failure/trial totals."""

    checkout: _Cell = field(default_factory=_Cell)
    conversion: _Cell = field(default_factory=_Cell)
    orders: float = 0.0
    """Window orders at the merchants with a same-window comparison (yesterday and/or last week)."""
    expected_orders: float = 0.0
    compared: int = 0
    """Merchants with a same-window comparison."""
    base_checkout: list[float] = field(default_factory=lambda: [0.0, 0.0])
    base_conversion: list[float] = field(default_factory=lambda: [0.0, 0.0])
    has_checkout: bool = False


def _stage_business(obs: Observation) -> dict[str, _StageBusiness]:
    """Per stage: the window's checkouts, sessions and orders, and the baseline's over the same merchants."""
    stages: dict[str, _StageBusiness] = defaultdict(_StageBusiness)
    base = {v.merchant_id: v for v in obs.history.merchants} if obs.history else {}
    seasonal = {k for k, v in base.items() if v.orders_1d is not None or v.orders_7d is not None}
    m = obs.metrics
    is_seasonal = m.merchant_id.mask(*seasonal)
    by_stage, first = group_rows(m.migration_stage)
    for g, f in enumerate(first.tolist()):
        rows = np.flatnonzero(by_stage == g)
        stage = stages[m.migration_stage[f]]
        stage.has_checkout = True
        attempts, orders = m.checkout_attempts[rows], m.orders[rows]
        merchants, stage_labels = m.merchant_id.take(rows), m.migration_stage.take(rows)
        stage.checkout = _Cell.of(
            m.ts_ms[rows], merchants, stage_labels, np.maximum(attempts - orders, 0), attempts
        )
        stage.orders = float(orders[is_seasonal[rows]].sum())
        with_sessions = np.flatnonzero(m.has_sessions[rows])
        if len(with_sessions):
            sessions = m.sessions[rows][with_sessions]
            stage.conversion = _Cell.of(
                m.ts_ms[rows][with_sessions],
                merchants.take(with_sessions),
                stage_labels.take(with_sessions),
                np.maximum(sessions - orders[with_sessions], 0),
                sessions,
            )
    for merchant, v in base.items():
        stage = stages[obs.merchant_stages.get(merchant, "")]
        stage.base_checkout[0] += max(v.checkout_attempts - v.orders, 0)
        stage.base_checkout[1] += v.checkout_attempts
        if v.sessions:
            stage.base_conversion[0] += max(v.sessions - v.orders, 0)
            stage.base_conversion[1] += v.sessions
        if merchant in seasonal:
            stage.expected_orders += _expected_orders(v.orders_1d, v.orders_7d)
            stage.compared += 1
    return stages


def _business_rate(
    obs: Observation, stage: str, kind: str, cell: _Cell, base: list[float], threshold: float
) -> Anomaly | None:
    """A binomial test of the window's checkout-failure or non-conversion rate against the baseline's."""
    failures, trials = base
    if trials < 50:
        return None
    metric, what, detail = _BUSINESS_RATES[kind]
    return _rate_anomaly(
        kind=AnomalyKind.business,
        metric=metric,
        series=f"{what}, stage {stage}",
        key=(kind, stage),
        cell=cell,
        p0=failures / trials,
        threshold=threshold,
        window_start=obs.window_start,
        dims=Dimensions(stages=(stage,)),
        detail=detail,
    )


_BUSINESS_RATES = {
    "checkout": (
        "checkout_failure_rate",
        "checkouts without an order",
        "checkout attempts ended without an order",
    ),
    "conversion": ("non_conversion_rate", "sessions without an order", "sessions ended without an order"),
}


def covered_share(obs: Observation) -> float:
    """Share of the window's whole minutes that are not missing KPI data (`observe.gaps`); 1.0 without any."""
    window = len(span_minutes(obs, None))
    if not window:
        return 1.0
    return (window - len(kpi_gap_minutes(obs, None))) / window


def _order_drop(
    obs: Observation, stage: str, observed: float, expected: float, threshold: float, covered: float = 1.0
) -> Anomaly | None:
    """A Poisson test of the window's orders against the same window yesterday / last week, the expectation
    scaled to the `covered` share of the window's minutes (those with KPI data: the orders in the others are
    unknown, not zero)."""
    if covered < MIN_COVERED_SHARE:
        return None
    expected *= covered
    if expected < 5 or observed >= expected * (1 - MIN_ORDER_DROP):
        return None
    score = float(pvalue_to_score(poisson_pvalue(np.array([observed]), np.array([expected]), "drop"))[0])
    if score < threshold:
        return None
    return Anomaly(
        id=_anomaly_id("orders", stage, obs.window_start.isoformat()),
        kind=AnomalyKind.business,
        severity=severity_for(score, expected - observed, None),
        score=round(score, 4),
        method="Poisson test vs same window yesterday / last week",
        series=f"orders, stage {stage}",
        metric="orders",
        onset=obs.window_start,
        observed=observed,
        expected=round(expected, 2),
        dimensions=Dimensions(stages=(stage,)),
        detail=f"{observed:.0f} orders vs about {expected:.0f} expected"
        + (f" (over the {covered:.0%} of the window's minutes with KPI data)" if covered < 1.0 else ""),
    )


def business_failures(
    obs: Observation, threshold: float, stale: frozenset[str] = frozenset()
) -> list[Anomaly]:
    """Checkout success rate (binomial) and orders (Poisson vs same window yesterday / last week) per stage.

    The orders test runs only over the merchants with a same-window comparison (no history is no
    evidence) and not on a stage whose signals stopped arriving (`stale`: the window's missing minutes are
    missing data, not missing orders). Minutes without any KPI point (`observe.gaps`) count neither as expected
    nor as actual orders; with too few covered minutes (`MIN_COVERED_SHARE`) the orders are not compared."""
    stages = _stage_business(obs)
    covered = covered_share(obs)
    found = [
        _business_rate(obs, name, "checkout", s.checkout, s.base_checkout, threshold)
        for name, s in stages.items()
        if s.has_checkout
    ]
    with_sessions = obs.metrics.migration_stage.take(obs.metrics.has_sessions).distinct()
    found += [
        _business_rate(
            obs, name, "conversion", stages[name].conversion, stages[name].base_conversion, threshold
        )
        for name in with_sessions
    ]
    found += [
        _order_drop(obs, name, s.orders, s.expected_orders, threshold, covered)
        for name, s in stages.items()
        if s.compared and name not in stale
    ]
    return [a for a in found if a is not None]


def _expected_orders(orders_1d: int | None, orders_7d: int | None) -> float:
    """The mean of the same window yesterday and last week, where known (seasonality)."""
    seasonal = [x for x in (orders_1d, orders_7d) if x is not None]
    return float(np.mean(seasonal)) if seasonal else 0.0


def stale_stages(obs: Observation, stale_minutes: int) -> dict[str, datetime]:
    """Stages with signals in the window but none in its last `stale_minutes`: stage -> last signal minute."""
    last: dict[str, datetime] = {}
    m, r = obs.metrics, obs.rollups
    signals = ((m.migration_stage, m.minute_ms()), (r.migration_stage, r.minute_ms))
    for labels, minute_ms in signals:
        latest = group_max(labels.codes, len(labels.values), minute_ms.astype(np.float64), -np.inf)
        for stage in labels.distinct():
            t = ms_to_dt(int(latest[labels.code_of(stage)]))
            if (stage or labels is m.migration_stage) and (stage not in last or t > last[stage]):
                last[stage] = t
    cutoff = obs.as_of - timedelta(minutes=stale_minutes)
    return {stage: t for stage, t in last.items() if t + timedelta(minutes=1) <= cutoff}


def data_notes(obs: Observation, stale_minutes: int) -> tuple[DataNote, ...]:
    """What the window's data cannot tell: stages whose signals stopped arriving (stale) and stages whose
    orders have no same window yesterday or last week to compare with (no history)."""
    notes = [
        DataNote(
            kind=DataNoteKind.stale,
            stage=stage,
            last_signal_at=t,
            detail=f"No signals from stage {stage or '(none)'} since {t:%H:%M} UTC "
            f"({(obs.as_of - t).total_seconds() / 60 - 1:.0f} minutes before {obs.as_of:%H:%M} UTC): the data "
            "stopped arriving; its orders are not compared (staleness, not a business failure).",
        )
        for stage, t in sorted(stale_stages(obs, stale_minutes).items())
    ]
    history = obs.history
    coverage = (
        f" (coverage: yesterday {history.coverage_1d:.0%}, last week {history.coverage_7d:.0%})"
        if history is not None
        else ""
    )
    covered = covered_share(obs)
    stale = stale_stages(obs, stale_minutes)
    for name, s in sorted(_stage_business(obs).items()):
        if s.compared and covered < MIN_COVERED_SHARE and name not in stale:
            notes.append(
                DataNote(
                    kind=DataNoteKind.missing_minutes,
                    stage=name,
                    detail=f"Not enough data for stage {name or '(none)'}: only {covered:.0%} of the window's "
                    "minutes have KPI points (the others are missing data: none from any merchant), so its "
                    "orders are not compared.",
                )
            )
        if s.has_checkout and not s.compared:
            notes.append(
                DataNote(
                    kind=DataNoteKind.no_history,
                    stage=name,
                    detail=f"No history for stage {name or '(none)'}: the same window yesterday and last week "
                    f"hold no KPI data{coverage}, so its orders are not compared.",
                )
            )
    return tuple(notes)


def streaming_failures(obs: Observation, threshold: float) -> list[Anomaly]:
    """Platform-wide orders per minute and error share through the default streaming detector."""
    history = obs.history
    if history is None or len(history.minutes) < 60:
        return []
    m, r = obs.metrics, obs.rollups
    metric_minute = m.minute_ms()
    minutes_ms = np.union1d(metric_minute, r.minute_ms)
    if not len(minutes_ms):
        return []
    size = len(minutes_ms)
    (orders,) = group_sums(np.searchsorted(minutes_ms, metric_minute), size, m.orders)
    at = np.searchsorted(minutes_ms, r.minute_ms)
    requests, errors = group_sums(at, size, r.count, r.count * r.status_class.mask(*ERROR_CLASSES))
    minutes = [ms_to_dt(ms) for ms in minutes_ms.tolist()]
    series: dict[str, tuple[list[float], list[float], AnomalyKind, str]] = {
        "orders": (
            [float(p.orders) for p in history.minutes],
            orders.tolist(),
            AnomalyKind.business,
            "orders per minute, all merchants",
        ),
        "error_share": (
            [_rate(p.errors, p.requests) for p in history.minutes],
            [_rate(e, n) for e, n in zip(errors.tolist(), requests.tolist(), strict=True)],
            AnomalyKind.hard,
            "share of requests failing per minute, all merchants",
        ),
    }
    out = []
    hist_ms = np.array([dt_to_ms(p.minute) for p in history.minutes], dtype=np.int64)
    win_ts = np.array([dt_to_ms(m) for m in minutes]).astype("datetime64[ms]")
    for metric, (past, now, kind, name) in series.items():
        det = STREAMING_STATE.fitted(metric, DEFAULT_DETECTOR, np.asarray(past, dtype=np.float64), hist_ms)
        scores = det.score(now, timestamps=win_ts)
        expected = det.expected()
        reasons = det.reasons()
        hits = np.flatnonzero(scores >= max(threshold, det.default_threshold))
        if not len(hits):
            continue
        i = int(hits[0])
        out.append(
            Anomaly(
                id=_anomaly_id(DEFAULT_DETECTOR, metric, minutes[i].isoformat()),
                kind=kind,
                severity=severity_for(float(scores.max()), 0.0, None),
                score=round(float(scores.max()), 4),
                method=f"{DEFAULT_DETECTOR} streaming detector: {reasons[i] if i < len(reasons) and reasons[i] else 'score above threshold'}",
                series=name,
                metric=f"{metric}_per_minute",
                onset=minutes[i],
                observed=round(float(now[i]), 4),
                expected=round(float(expected[i]), 4),
                detail=f"{len(hits)} of {len(minutes)} minutes above the detector's threshold",
            )
        )
    return out


def detect_anomalies(
    obs: Observation, gaps: tuple[SoftFailureGap, ...], threshold: float = 0.5, stale_minutes: int = 10
) -> tuple[Anomaly, ...]:
    """All anomalies of the window, most severe and most certain first."""
    stale = frozenset(stale_stages(obs, stale_minutes))
    found = [
        *hard_failures(obs, threshold),
        *soft_failures(gaps, obs, threshold),
        *business_failures(obs, threshold, stale),
        *streaming_failures(obs, threshold),
    ]
    rank = {Severity.low: 0, Severity.medium: 1, Severity.high: 2, Severity.critical: 3}
    found.sort(key=lambda a: (-rank[a.severity], -a.score, a.series))
    return tuple(found)


__all__ = ["DetectionHistory", "data_notes", "detect_anomalies", "severity_for", "stale_stages"]
