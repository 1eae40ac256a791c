"""Blast radius: which merchants a located cause hits, each judged on its own evidence.

A cause's locating facts name stages and some merchants. A stage is not counted whole because some of its
merchants fail: every merchant of a located stage is tested against its own expectation, with the signals the
cause locates on, since the onset:

- failing requests: its share of failed requests (the located facts' endpoints and status classes; only the
  cause's exact codes when it is about some, e.g. 401/403 for auth, so other codes of the class stay out);
- slow requests: its share of requests on the located endpoints slower than twice their expected p95;
- orders: its orders against its baseline conversion x its checkout attempts.

Each test is a log-likelihood ratio between "hit like the merchants the signals name" (their pooled share)
and "clean like the merchants of the other stages" (their pooled share); the tests add up. A merchant with a
decisive ratio against the fault is clean; one with a decisive ratio for it is hit. A stage where no merchant
is decisively clean is hit as a whole (its merchants with too little traffic to tell count as `stage`);
otherwise only the merchants whose own evidence leans to the fault are at risk. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from selfheal.decide.facts import Fact
from selfheal.observe.model import Observation, RollupColumns
from selfheal.reason.model import Severity
from selfheal.signals import CODE_UNKNOWN, LATENCY_BUCKETS_MS

DECISIVE_LLR = 4.6
"""A log-likelihood ratio beyond which a merchant's own evidence decides (about 100:1)."""
LEANING_LLR = 0.5
"""In a stage hit in part, a merchant the signals do not name joins when its evidence leans this far to the fault."""
MIN_SHARE_RATIO = 1.5
"""A test is used only when the named merchants' share is at least this multiple of the clean share."""
PRIOR_CLEAN_SHARE = 0.01
"""Clean share when no merchant outside the located stages measures it."""
MIN_REFERENCE_REQUESTS = 200
MIN_SHARE = 1e-4
MIN_LOSS_SHARE = 0.05
"""Orders test: used only when the named merchants lost at least this share of their expected orders."""
SLOW_FACTOR = 2.0
"""A request is slow when it takes more than this multiple of the endpoint's expected p95."""
LATENCY_METRICS = ("latency_p95", "slow_request_rate")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MerchantCounts:
    """A merchant's trials and hits of one test (requests and failures, attempts and lost orders...)."""

    trials: float
    hits: float


Counter = Callable[[str], MerchantCounts]


@dataclass(frozen=True)
class BlastNote:
    """What the per-merchant tests decided on a stage, for the assessment's assumptions."""

    stage: str
    members: int
    hit: tuple[str, ...]
    clean: tuple[str, ...]
    whole: bool


def first_ms_at_or_after(moment: datetime) -> int:
    """The first epoch millisecond at or after `moment` (exact: a row's time is a whole millisecond)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    micros = (aware - EPOCH) // timedelta(microseconds=1)
    return -(-micros // 1000)


def since(rows: RollupColumns, onset: datetime | None) -> RollupColumns:
    """The rollups from the onset's minute on (all of them without an onset)."""
    if onset is None:
        return rows
    start = onset.replace(second=0, microsecond=0)
    return rows.take(rows.minute_ms >= first_ms_at_or_after(start))


def _on(rows: RollupColumns, f: Fact) -> np.ndarray:
    """The rows on the fact's endpoints (and sources, when it names some)."""
    on: np.ndarray = rows.endpoint.mask(*f.endpoints)
    if f.sources:
        on &= rows.source.mask(*f.sources)
    return on


def _counter(trials: dict[str, float], hits: dict[str, float]) -> Counter:
    return lambda m: MerchantCounts(trials.get(m, 0.0), hits.get(m, 0.0))


@dataclass(frozen=True)
class RowCounts:
    """The rollup rows one request signal reads, with each row's trials and hits."""

    rows: RollupColumns
    trials: np.ndarray
    hits: np.ndarray

    def counter(self) -> Counter:
        """Per merchant (summed in row order, as a running sum over the rows would)."""
        trials, hits = self.rows.merchant_id.sums(self.trials, self.hits)
        return _counter(trials, hits)


def cause_failures(rows: RollupColumns, f: Fact) -> np.ndarray:
    """The rows of the fact's failures: in its status classes and, when its cause is about exact codes
    (`Fact.cause_codes`), answered with one of them or with a code the rollups do not know (only the class was
    kept: counted by the class, as before codes were kept). So an auth cause's 401s count and a merchant's
    ordinary 422s on the same endpoint do not."""
    failed: np.ndarray = rows.status_class.mask(*f.status_classes)
    if f.cause_codes:
        failed &= rows.status_code.mask(CODE_UNKNOWN, *(str(c) for c in f.cause_codes))
    return failed


def _failed_rows(rows: RollupColumns, f: Fact) -> RowCounts:
    """The requests on the fact's endpoints, and those of them that are the fact's failures."""
    on = rows.take(_on(rows, f))
    return RowCounts(on, on.count, np.where(cause_failures(on, f), on.count, 0))


def failure_counter(rows: RollupColumns, f: Fact) -> Counter:
    """Per merchant: its requests on the fact's endpoints, and those of them that are the fact's failures."""
    return _failed_rows(rows, f).counter()


def _slow_rows(rows: RollupColumns, f: Fact) -> RowCounts | None:
    """The requests on the fact's endpoints with a measured latency, and those slower than `SLOW_FACTOR` x the
    expected p95 (the buckets whose lower bound is at or above it)."""
    expected = f.extra.get("expected")
    if f.metric != "latency_p95" or not isinstance(expected, float) or expected <= 0:
        return None
    threshold = SLOW_FACTOR * expected
    lower = (0.0, *LATENCY_BUCKETS_MS)
    slow = [i for i, lo in enumerate(lower) if lo >= threshold]
    if not slow:
        return None
    width = rows.latency_hist.shape[1] if rows.latency_hist.ndim == 2 else 0
    if width == 0:
        none = rows.take(np.zeros(len(rows), dtype=bool))
        return RowCounts(none, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    on = rows.take(_on(rows, f))
    hist = on.latency_hist
    return RowCounts(on, hist.sum(axis=1), hist[:, [i for i in slow if i < width]].sum(axis=1))


def clean_share(trials: float, hits: float) -> float:
    """The clean merchants' share (smoothed: none of hundreds is not zero), or a prior when they are too few."""
    return (hits + 0.5) / (trials + 1) if trials >= MIN_REFERENCE_REQUESTS else PRIOR_CLEAN_SHARE


def _binomial_llr(c: MerchantCounts, hit_share: float, clean_share: float) -> float:
    a = min(max(hit_share, MIN_SHARE), 1 - MIN_SHARE)
    b = min(max(clean_share, MIN_SHARE), 1 - MIN_SHARE)
    k, n = c.hits, c.trials
    return k * math.log(a / b) + (n - k) * math.log((1 - a) / (1 - b))


def _pooled(counter: Counter, merchants: set[str]) -> tuple[float, float]:
    trials = hits = 0.0
    for m in merchants:
        c = counter(m)
        trials += c.trials
        hits += c.hits
    return trials, hits


@dataclass(frozen=True)
class _ShareTest:
    counter: Counter
    reference: set[str]

    def llrs(self, hit: set[str], members: list[str]) -> dict[str, float] | None:
        n_hit, k_hit = _pooled(self.counter, hit)
        n_ref, k_ref = _pooled(self.counter, self.reference)
        if n_hit <= 0:
            return None
        a = k_hit / n_hit
        b = clean_share(n_ref, k_ref)
        if a < MIN_SHARE_RATIO * b:
            return None
        return {m: _binomial_llr(self.counter(m), a, b) for m in members}


@dataclass(frozen=True)
class _OrdersTest:
    """Orders since the onset against each merchant's baseline conversion."""

    attempts: dict[str, float]
    orders: dict[str, float]
    conversion: dict[str, float]

    def llrs(self, hit: set[str], members: list[str]) -> dict[str, float] | None:
        expected = sum(self.conversion.get(m, 0.0) * self.attempts.get(m, 0.0) for m in hit)
        actual = sum(self.orders.get(m, 0.0) for m in hit)
        if expected <= 0:
            return None
        loss = min((expected - actual) / expected, 0.95)
        if loss < MIN_LOSS_SHARE:
            return None
        out = {}
        for m in members:
            p = min(max(self.conversion.get(m, 0.0), MIN_SHARE), 1 - MIN_SHARE)
            n, k = self.attempts.get(m, 0.0), self.orders.get(m, 0.0)
            # Hit: each attempt converts with p (1 - loss); clean: with p.
            out[m] = k * math.log(1 - loss) + (n - k) * math.log((1 - p * (1 - loss)) / (1 - p))
        return out


def _orders_test(obs: Observation, onset: datetime | None, conversion: dict[str, float]) -> _OrdersTest:
    start = onset.replace(second=0, microsecond=0) if onset else obs.window_start
    m = obs.metrics
    after = m.take(m.ts_ms >= first_ms_at_or_after(start))
    attempts, orders = after.merchant_id.sums(after.checkout_attempts, after.orders)
    return _OrdersTest(attempts, orders, conversion)


def _request_tests(
    obs: Observation, located: tuple[Fact, ...], onset: datetime | None, reference: set[str]
) -> list[_ShareTest]:
    return [_ShareTest(c, reference) for c in _counters(since(obs.rollups, onset), located)]


def _request_rows(rows: RollupColumns, located: tuple[Fact, ...]) -> list[RowCounts]:
    """One row set per distinct located request signal: failed requests, or slow requests."""
    out: list[RowCounts] = []
    seen: set[tuple[object, ...]] = set()
    for f in located:
        if f.signal != "anomaly" or not f.endpoints:
            continue
        counts: RowCounts | None = None
        key: tuple[object, ...] = (f.metric, f.endpoints, f.sources, f.status_classes, f.cause_codes)
        if key in seen:
            continue
        seen.add(key)
        if f.metric == "error_rate" and f.status_classes:
            counts = _failed_rows(rows, f)
        elif f.metric in LATENCY_METRICS:
            counts = _slow_rows(rows, f)
        if counts is not None:
            out.append(counts)
    return out


def _counters(rows: RollupColumns, located: tuple[Fact, ...]) -> list[Counter]:
    """One counter per distinct located request signal: failed requests, or slow requests."""
    return [c.counter() for c in _request_rows(rows, located)]


def _score(
    tests: list[_ShareTest], orders: _OrdersTest, hit: set[str], members: list[str]
) -> dict[str, float]:
    total = dict.fromkeys(members, 0.0)
    every: list[_ShareTest | _OrdersTest] = [*tests, orders]
    for test in every:
        llrs = test.llrs(hit, members)
        for m, v in (llrs or {}).items():
            total[m] += v
    return total


def _judge(
    tests: list[_ShareTest], orders: _OrdersTest, named: set[str], members: list[str]
) -> dict[str, float]:
    """Each member's log-likelihood ratio, hit vs clean. The hit share comes from the merchants the signals
    name, then once more from the merchants the evidence says are hit (named ones unless decisively clean)."""
    llr = _score(tests, orders, named, members)
    refined = {m for m in members if llr[m] > DECISIVE_LLR or (m in named and llr[m] > -DECISIVE_LLR)}
    if refined and refined != named:
        llr = _score(tests, orders, refined, members)
    return llr


def split_stage(
    members: list[str], named: set[str], llr: dict[str, float], stage: str
) -> tuple[dict[str, str], BlastNote]:
    """The merchants of `stage` at risk (merchant -> basis) and what decided it."""
    clean = tuple(m for m in members if llr[m] <= -DECISIVE_LLR)
    at_risk: dict[str, str] = {}
    if not clean:
        for m in members:
            at_risk[m] = "direct" if m in named or llr[m] > DECISIVE_LLR else "stage"
    else:
        for m in members:
            if (m in named and llr[m] > -DECISIVE_LLR) or llr[m] > LEANING_LLR:
                at_risk[m] = "direct"
    note = BlastNote(
        stage=stage, members=len(members), hit=tuple(sorted(at_risk)), clean=clean, whole=not clean
    )
    return at_risk, note


def named_on_stages(located: tuple[Fact, ...], stage_of: Mapping[str, str]) -> set[str]:
    """The merchants a cause's locating facts name, without those on a stage none of the facts points at: a
    merchant singled out on another stage (one background failure on the endpoint, another cause's merchant) is
    not this cause's. The one rule for the blast radius and for which cause a merchant's money belongs to."""
    named = {m for f in located for m in f.merchants}
    stages = {s for f in located for s in f.stages}
    if not stages:
        return named
    return {m for m in named if m not in stage_of or stage_of[m] in stages}


def blast_radius(
    obs: Observation,
    located: tuple[Fact, ...],
    onset: datetime | None,
    conversion: dict[str, float],
) -> tuple[tuple[str, ...], dict[str, str], list[BlastNote]]:
    """The stages and merchants at risk (merchant -> basis: `direct` when its own evidence or signals show the
    fault, `stage` when it is at risk because its whole stage is hit), and a note per located stage."""
    stage_of = obs.merchant_stages
    stages = {s for f in located for s in f.stages}
    direct = named_on_stages(located, stage_of)
    if not stages:
        stages = {stage_of[m] for m in direct if m in stage_of}
    at_risk = dict.fromkeys(sorted(m for m in direct if m not in stage_of), "direct")
    named_stages = {stage_of[m] for m in direct if m in stage_of}
    # Clean reference: the merchants of stages the signals name no merchant on (else every unnamed merchant).
    reference = {m for m, s in stage_of.items() if s not in named_stages}
    if not reference:
        reference = {m for m in stage_of if m not in direct}
    members_all = sorted(m for m, s in stage_of.items() if s in named_stages)
    llr = _judge(
        _request_tests(obs, located, onset, reference),
        _orders_test(obs, onset, conversion),
        direct & set(members_all),
        members_all,
    )
    notes: list[BlastNote] = []
    hit_stages: list[str] = []
    for stage in sorted(stages):
        members = sorted(m for m, s in stage_of.items() if s == stage)
        named = {m for m in direct if stage_of.get(m) == stage}
        if not named:
            at_risk.update(dict.fromkeys(members, "stage"))
            notes.append(BlastNote(stage, len(members), tuple(members), (), True))
            hit_stages.append(stage)
            continue
        part, note = split_stage(members, named, llr, stage)
        at_risk.update(part)
        notes.append(note)
        if part:
            hit_stages.append(stage)
    return tuple(hit_stages), at_risk, notes


PERSIST_MINUTES = 10
"""A failure persists when it is still clearly above the clean share this many minutes after its onset."""
PERSIST_Z = 3.0
PERSIST_MIN_HITS = 3


def persisting_failure(
    obs: Observation, located: tuple[Fact, ...], onset: datetime | None, merchants: set[str]
) -> bool:
    """Whether the located failing (or slow) requests of `merchants` are still clearly above the clean share
    (the merchants outside their stages) from `PERSIST_MINUTES` after the onset to `as_of`: a sustained
    failure, not a blip. Only high or critical located anomalies count."""
    if onset is None or not merchants:
        return False
    late = onset + timedelta(minutes=PERSIST_MINUTES)
    if late >= obs.as_of:
        return False
    serious = tuple(
        f for f in located if f.signal == "anomaly" and f.severity in (Severity.high, Severity.critical)
    )
    stages = {obs.merchant_stages.get(m) for m in merchants}
    reference = {m for m, s in obs.merchant_stages.items() if s not in stages}
    since_onset = _counters(since(obs.rollups, onset), serious)
    after = _counters(since(obs.rollups, late), serious)
    for whole, tail in zip(since_onset, after, strict=True):
        b = clean_share(*_pooled(whole, reference))
        n, k = _pooled(tail, merchants)
        if n <= 0 or k < PERSIST_MIN_HITS or k / n < MIN_SHARE_RATIO * b:
            continue
        if (k - n * b) / math.sqrt(n * b * (1 - b)) >= PERSIST_Z:
            return True
    return False


ONSET_LOOKBACK_MINUTES = 30
"""How far before the first locating signal's onset the money looks for the failure's first minutes."""
MINUTE_PENALTY = 2.0
"""Log-likelihood a minute with requests before the onset must gain, with its own fitted share, to count as the
failure's: about the 95 % point of one fitted share under the clean hypothesis (chi-square(1) / 2 = 1.92)."""


def _minute_glr(k: np.ndarray, n: np.ndarray, hit: float, clean: float) -> np.ndarray:
    """Per minute: the log-likelihood ratio of its own share (between the clean and the hit share) against the
    clean share; 0 for a minute at or below the clean share."""
    k, n = k.astype(float), n.astype(float)  # bincount of no rows is integer
    share = np.clip(np.divide(k, n, out=np.zeros_like(k), where=n > 0), clean, hit)
    return np.asarray(k * np.log(share / clean) + (n - k) * np.log((1 - share) / (1 - clean)))


def failure_start(
    obs: Observation, located: tuple[Fact, ...], onset: datetime | None, merchants: set[str]
) -> datetime | None:
    """The minute the located failure began at `merchants`, for counting its money: a failure that ramps up
    (a share of requests failing, or slow, rising over minutes) is significant, and so detected, only some
    minutes after its first failures, and the loss of those minutes belongs to it.

    The change point of the merchants' located failing (or slow) request share, searched over the
    `ONSET_LOOKBACK_MINUTES` before the onset: the start that maximises, over the minutes from it to the onset,
    the sum of each minute's log-likelihood ratio of "failing at its own share" (anywhere between the clean
    share of the other stages' merchants and the share measured since the onset: a ramp) against "clean", less
    `MINUTE_PENALTY` for every minute with requests. A minute of clean requests counts against moving the
    start back, so one ordinary failure well before the onset does not. The onset itself when no earlier minute
    leans to the failure, or when the signals are not request shares (a business anomaly alone)."""
    if onset is None or not merchants:
        return onset
    first = onset.replace(second=0, microsecond=0)
    earliest = max(first - timedelta(minutes=ONSET_LOOKBACK_MINUTES), obs.window_start)
    if earliest >= first:
        return onset
    stages = {obs.merchant_stages.get(m) for m in merchants}
    reference = {m for m, s in obs.merchant_stages.items() if s not in stages}
    after = _request_rows(since(obs.rollups, onset), located)
    before = _request_rows(since(obs.rollups, earliest), located)
    first_ms = first_ms_at_or_after(first)
    minutes = int((first - earliest.replace(second=0, microsecond=0)).total_seconds() // 60)
    gain = np.zeros(minutes + 1)
    active = np.zeros(minutes + 1, dtype=bool)
    for whole, early in zip(after, before, strict=True):
        counter = whole.counter()
        a_n, a_k = _pooled(counter, merchants)
        if a_n <= 0:
            continue
        a = min(max(a_k / a_n, MIN_SHARE), 1 - MIN_SHARE)
        b = min(max(clean_share(*_pooled(counter, reference)), MIN_SHARE), 1 - MIN_SHARE)
        if a < MIN_SHARE_RATIO * b:
            continue
        rows = early.rows.merchant_id.mask(*merchants) & (early.rows.minute_ms < first_ms)
        # Minutes back from the onset's minute: 1 = the minute before it.
        back = (first_ms - early.rows.minute_ms[rows]) // 60_000
        keep = back <= minutes
        idx = back[keep].astype(np.int64)
        k = np.bincount(idx, weights=early.hits[rows][keep].astype(float), minlength=minutes + 1)
        n = np.bincount(idx, weights=early.trials[rows][keep].astype(float), minlength=minutes + 1)
        gain += _minute_glr(k, n, a, b)
        active |= n > 0
    best, best_back, total = 0.0, 0, 0.0
    for j in range(1, minutes + 1):
        total += float(gain[j]) - (MINUTE_PENALTY if active[j] else 0.0)
        if total > best:
            best, best_back = total, j
    return onset if best_back == 0 else max(first - timedelta(minutes=best_back), earliest)


@dataclass(frozen=True)
class ExpectationNote:
    """The merchants in scope that took at least their expected orders since the onset (not at risk), and the
    net loss over every merchant in scope, for the assessment's assumptions."""

    above: tuple[str, ...]
    in_scope: int
    net_lost_orders: float


def at_or_above_expectation(
    lost_orders: Mapping[str, tuple[float, float]],
) -> tuple[set[str], ExpectationNote]:
    """The one place that decides "at or above its expectation = not at risk": of the merchants in scope
    (merchant -> lost orders since the onset, expected minus actual, and the upper end of its 90 % interval),
    those that clearly took at least their expected orders (the whole interval at or below zero), and the note
    that says so. A merchant whose orders are above expectation only within its noise stays at risk with its
    signed loss: dropping it would drop a hit merchant that happened to be lucky (the stage is hit whole) and
    keep only the unlucky ones' losses (a loss counted high). The blast radius's per-merchant tests judge who the
    cause hits; this judges, after them, who clearly lost nothing to it."""
    above = {m for m, (_, high) in lost_orders.items() if high <= 0}
    return above, ExpectationNote(
        above=tuple(sorted(above)),
        in_scope=len(lost_orders),
        net_lost_orders=sum(lost for lost, _ in lost_orders.values()),
    )
