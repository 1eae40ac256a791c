"""The assessment: from Findings to root cause, evidence, blast radius, risk and actions.

1. The Findings become facts (decide.facts); the hypothesis catalogue (decide.catalogue) scores them into
   ranked, calibrated confidences (decide.scoring). Evidence the first cause leaves unexplained may carry a
   second, concurrent cause: one incident then reports several causes, each with its own stages.
2. The causes' locating facts give the blast radius; the observation's metrics and baselines give the money
   (decide.impact); the action catalogue gives what to do (decide.actions).
3. None only when nothing calls for an incident, each exit provably safe: no high-severity anomaly, soft
   failure or located cause at all; or under `decide_min_lost_orders` estimated lost orders; or an interval
   touching zero without a serious failure (a high/critical business failure, or a near-total hard failure)
   behind it. Missing pieces (no stage on a signal, no KPIs, no history) lower confidence and are written
   into `uncertainties`; they never hide a serious failure.

Pure: no storage, no network, no LLM.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

from selfheal.decide.actions import propose_actions
from selfheal.decide.blast import (
    PERSIST_MINUTES,
    ExpectationNote,
    at_or_above_expectation,
    blast_radius,
    failure_start,
    named_on_stages,
    persisting_failure,
)
from selfheal.decide.counted import (
    COUNTED_CATEGORIES,
    counted_lost_orders,
    fact_sources,
    missing_share,
    silent_part_within_noise,
)
from selfheal.decide.facts import CodeCounts, Fact, facts_from
from selfheal.decide.impact import (
    DEFAULT_VALUE_CV,
    MIN_BASELINE_ORDERS,
    Z90,
    ImpactNotes,
    MerchantLossCalc,
    MerchantWindow,
    Rates,
    counted_loss_report,
    merchant_loss,
    merchant_rates,
    risk_report,
    value_cv,
    window_by_merchant,
)
from selfheal.decide.model import (
    Assessment,
    BlastRadius,
    Category,
    Estimate,
    Evidence,
    EvidenceKind,
    MerchantImpact,
    RiskReport,
    RootCause,
)
from selfheal.decide.scoring import Scored, find_causes
from selfheal.observe.gaps import kpi_gap_minutes, log_gap_minutes, span_minutes, stretches
from selfheal.observe.model import ActiveAlert, MerchantBaseline, Observation
from selfheal.reason.model import SEVERITY_RANK, Findings, Severity
from selfheal.records import dt_to_ms
from selfheal.settings import Settings

MAX_ALTERNATIVES = 4
MIN_ALTERNATIVE_CONFIDENCE = 0.005
SEVERITY_BY_LOST_ORDERS_PER_HOUR = ((100.0, Severity.critical), (20.0, Severity.high), (5.0, Severity.medium))

TITLES = {
    Category.webhook_delivery: "Order webhook failures",
    Category.api_auth: "Checkout API authentication failures",
    Category.cart_sync: "Cart synchronisation failures",
    Category.checkout_latency: "Slow checkout",
    Category.payment_provider: "Payment provider errors",
    Category.unknown: "Unexplained drop in orders",
}


def _root(s: Scored, confidence: float | None = None) -> RootCause:
    return RootCause(
        category=s.category,
        hypothesis=s.hypothesis,
        confidence=round(s.confidence if confidence is None else confidence, 4),
        score=s.score,
        stages=s.stages,
        onset=s.onset,
    )


EVIDENCE_CHARS = 600


def clip(text: str, limit: int = EVIDENCE_CHARS) -> str:
    """`text` within `limit` characters, cut at a word boundary with an ellipsis: a figure is never cut in
    half."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip(" ,;:") + "…"


def _serious(f: Fact) -> bool:
    return f.signal == "anomaly" and SEVERITY_RANK[f.severity] >= SEVERITY_RANK[Severity.high]


def _unlocated_fallback(facts: list[Fact]) -> tuple[Fact, ...]:
    """For `unknown`: the high-severity anomalies and the soft-failure counts (they still place the problem:
    by their stages or merchants; a serious failure with neither places it everywhere)."""
    placed = tuple(
        f for f in facts if (_serious(f) or f.signal == "soft_failure") and (f.stages or f.merchants)
    )
    return placed or tuple(f for f in facts if _serious(f))


NEAR_TOTAL_FAILURE_SHARE = 0.5
NEAR_TOTAL_FAILURE_MINUTES = 10
"""A hard failure is near-total when at least this share of an order-webhook or payment endpoint's requests
fail for at least these minutes."""


def _near_total(f: Fact, as_of: datetime) -> bool:
    observed = f.extra.get("observed")
    return (
        f.signal == "anomaly"
        and f.metric == "error_rate"
        and bool({"order_webhook", "payment"} & set(f.roles))
        and isinstance(observed, float)
        and observed >= NEAR_TOTAL_FAILURE_SHARE
        and f.onset is not None
        and (as_of - f.onset).total_seconds() >= NEAR_TOTAL_FAILURE_MINUTES * 60
    )


def serious_failure(facts: list[Fact], as_of: datetime) -> bool:
    """A failure whose loss is counted or near-total, so an uncertain loss estimate must not hide it: a
    counted payment-without-order gap in full strength, or a near-total hard failure of an order-webhook or
    payment endpoint. (A business anomaly alone, e.g. a stage's orders below last week's, opens an incident
    through the located or `unknown` cause when the expected-vs-actual loss is measured above zero; one
    merchant's own shop going down lowers the stage's orders without any loss per checkout attempt.)"""
    return any((f.signal == "soft_failure" and f.strength >= 1.0) or _near_total(f, as_of) for f in facts)


def place_on_stages(facts: list[Fact], stage_of: dict[str, str]) -> tuple[list[Fact], list[str]]:
    """Give a fact without a stage the stages of its merchants (from their other signals); the facts and a
    note per fact that could not be placed on any stage."""
    out: list[Fact] = []
    unplaced: list[str] = []
    for f in facts:
        if f.signal in ("anomaly", "soft_failure") and not f.stages:
            stages = tuple(sorted({stage_of[m] for m in f.merchants if m in stage_of}))
            if stages:
                f = replace(f, stages=stages)
            elif _serious(f):
                unplaced.append(f.source_id)
        out.append(f)
    return out, unplaced


def _code_counts(obs: Observation) -> CodeCounts:
    out: CodeCounts = {}
    for c in obs.error_codes:
        slot = out.setdefault((c.source, c.endpoint), {})
        slot[c.status_code] = slot.get(c.status_code, 0) + c.count
    return out


def _blast(
    obs: Observation, groups: tuple[tuple[Fact, ...], ...], notes: ImpactNotes
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Stages and merchants at risk (merchant -> basis) from each cause's locating facts, each merchant of a
    located stage judged on its own evidence against that cause's signature (decide.blast)."""
    candidates = set(obs.merchant_stages) | {m for g in groups for f in g for m in f.merchants}
    conversion = {
        m: r.conversion
        for m, r in merchant_rates(
            obs.baselines, candidates, obs.merchant_stages, ImpactNotes(assumptions=[], uncertainties=[])
        ).items()
    }
    stages: set[str] = set()
    at_risk: dict[str, str] = {}
    split = []
    for group in groups:
        onset = min((f.onset for f in group if f.onset is not None), default=None)
        g_stages, g_risk, g_split = blast_radius(obs, group, onset, conversion)
        stages |= set(g_stages)
        for m, basis in g_risk.items():
            if at_risk.get(m) != "direct":
                at_risk[m] = basis
        split += g_split
    if not stages and not at_risk:
        at_risk = dict.fromkeys(obs.metrics.merchant_id.distinct(), "direct")
        notes.assumptions.append(
            f"The failing signals name no stage or merchant: all {len(at_risk)} merchants with KPI metrics in "
            "the window are counted at risk."
        )
    for n in split:
        if n.whole and n.members > len([m for m in n.hit if at_risk.get(m) == "direct"]):
            notes.assumptions.append(
                f"All {n.members} merchants of stage {n.stage} are counted at risk: none of them shows its own "
                "evidence of being spared (merchants with little traffic cannot tell)."
            )
        elif not n.whole:
            notes.assumptions.append(
                f"Stage {n.stage} is hit in part: {len(n.hit)} of its {n.members} merchants show the fault in "
                f"their own requests or orders; {len(n.clean)} are clearly spared and not counted."
            )
    return tuple(sorted(stages)), at_risk


def _severity(risk: RiskReport, located: tuple[Fact, ...]) -> Severity:
    severity = Severity.low
    for threshold, level in SEVERITY_BY_LOST_ORDERS_PER_HOUR:
        if risk.lost_orders_per_hour.value >= threshold:
            severity = level
            break
    for f in located:
        if f.signal == "anomaly" and SEVERITY_RANK[f.severity] > SEVERITY_RANK[severity]:
            severity = f.severity
    return severity


def _evidence(causes: list[Scored], alternatives: list[Scored]) -> tuple[Evidence, ...]:
    items: dict[tuple[str, str], Evidence] = {}
    for s in [*causes, *alternatives]:
        for h in s.hits:
            key = (h.fact.source_id, s.category.value)
            if key in items and abs(items[key].weight) >= abs(h.contribution):
                continue
            items[key] = Evidence(
                kind=h.fact.evidence_kind,
                source_id=h.fact.source_id,
                text=clip(f"{h.rule.says}: {h.fact.text}"),
                supports=s.category.value,
                weight=h.contribution,
            )
    return tuple(sorted(items.values(), key=lambda e: -abs(e.weight)))


def _uncertainties(
    obs: Observation,
    findings: Findings,
    primary: Scored,
    alternatives: list[Scored],
    risk: RiskReport,
    idle: list[str],
) -> list[str]:
    out = []
    for alt in alternatives[:2]:
        if alt.confidence < 0.02:
            continue
        if alt.category == Category.unknown:
            out.append(f"{alt.confidence:.0%} that the cause is none of the catalogue's hypotheses.")
            continue
        why = next((h.rule.says for h in alt.hits if h.contribution > 0), None)
        if why:
            out.append(f"Alternative: {alt.category.value} at {alt.confidence:.0%} ({why}).")
    against = [h for h in primary.hits if h.contribution < 0]
    for h in against:
        out.append(f"Contradicting evidence: {h.rule.says} ({h.fact.source_id}).")
    onset = primary.onset
    if onset is None or onset <= obs.window_start:
        out.append(
            f"The first locating signal is at the window start ({obs.window_start:%H:%M} UTC): the fault may have "
            "begun earlier, so the baseline may include affected minutes and the loss may be understated."
        )
    if not findings.themes:
        out.append(
            f"No ticket themes in the window ({obs.counts.tickets} tickets): customer reports do not confirm "
            "the cause yet."
        )
    if idle:
        out.append(
            f"{len(idle)} merchant(s) at risk had no checkout attempts in the window, so their exposure is "
            f"not measured: {', '.join(idle[:5])}{' ...' if len(idle) > 5 else ''}."
        )
    rev = risk.lost_revenue
    if rev.value > 0 and (rev.high - rev.low) / 2 > 0.3 * rev.value:
        out.append(
            f"Lost revenue is uncertain: the 90% interval runs from {risk.currency} {max(rev.low, 0):,.0f} to "
            f"{risk.currency} {rev.high:,.0f}."
        )
    return out


@dataclass(frozen=True)
class _Causes:
    """The primary cause with its whole ranking, the concurrent causes, and the facts that locate them."""

    primary: Scored
    ranking: list[Scored]
    concurrent: list[Scored]
    located: tuple[Fact, ...]
    groups: tuple[tuple[Fact, ...], ...]
    """The locating facts of each cause (primary first)."""


@dataclass(frozen=True)
class _Impact:
    """Where the causes hit and what it costs."""

    stages: tuple[str, ...]
    at_risk: dict[str, str]
    onset: datetime | None
    risk: RiskReport
    impacts: list[MerchantImpact]
    traffic: float
    cv: float | None
    idle: list[str]
    notes: ImpactNotes


def assess(obs: Observation, findings: Findings, settings: Settings) -> Assessment | None:
    """The assessment of the window, or None when nothing calls for an incident (see the module doc)."""
    facts, unplaced = place_on_stages(facts_from(findings, _code_counts(obs)), obs.merchant_stages)
    causes = _causes(facts, settings)
    if causes is None:
        return None
    impact = _impact(
        obs,
        findings,
        causes.groups,
        settings,
        serious_failure(facts, obs.as_of),
        located_cause=causes.primary.category != Category.unknown and bool(causes.primary.locating),
        counted_shape=all(c.category in COUNTED_CATEGORIES for c in [causes.primary, *causes.concurrent]),
    )
    if impact is None:
        return None
    if unplaced:
        impact.notes.uncertainties.append(
            f"{len(unplaced)} serious signal(s) carry no migration stage and their merchants have no other "
            f"signal that gives one: {', '.join(unplaced[:3])}."
        )
    risk = impact.risk
    root, alt_scored = _root_and_alternatives(causes, impact.stages, impact.onset, settings)
    concurrent_roots = tuple(_root(c) for c in causes.concurrent)
    roots = [root, *concurrent_roots]
    scored = [causes.primary, *causes.concurrent]
    severity = _severity(risk, causes.located)
    blast = BlastRadius(
        stages=impact.stages,
        merchants=tuple(sorted(impact.impacts, key=lambda m: -m.lost_revenue.value)),
        traffic_share=round(impact.traffic, 4),
    )
    uncertainties = [
        *_uncertainties(obs, findings, causes.primary, alt_scored, risk, impact.idle),
        *impact.notes.uncertainties,
    ]
    roots = _with_money(obs, roots, scored, impact)
    root, concurrent_roots = roots[0], tuple(roots[1:])
    return Assessment(
        title=_title(roots, impact.stages, risk),
        summary=_summary(obs, root, concurrent_roots, blast, risk),
        severity=severity,
        root_cause=root,
        alternatives=tuple(_root(a) for a in alt_scored if a.category != root.category),
        evidence=(
            *_evidence(scored, alt_scored[:1]),
            _orders_evidence(impact.stages, risk),
            *alert_evidence(obs.alerts, impact.stages, set(impact.at_risk)),
        ),
        assumptions=tuple(_assumptions(obs, impact)),
        uncertainties=tuple(dict.fromkeys(uncertainties)),
        blast_radius=blast,
        risk_report=risk,
        actions=propose_actions(roots, blast, risk, severity, _examples(scored)),
        concurrent_causes=concurrent_roots,
    )


def _causes(facts: list[Fact], settings: Settings) -> _Causes | None:
    """The ranked causes; None when no cause is located (and no high-severity anomaly places the problem)."""
    rankings = find_causes(facts)
    if not rankings:
        return None
    first = rankings[0]
    primary = first[0]
    located = primary.locating
    if primary.category == Category.unknown or not located:
        located = _unlocated_fallback(facts)
        if not located:
            return None
    concurrent = [r[0] for r in rankings[1:] if r[0].confidence >= settings.decide_min_confidence]
    groups = (located, *(c.locating for c in concurrent))
    for c in concurrent:
        located = located + c.locating
    return _Causes(primary=primary, ranking=first, concurrent=concurrent, located=located, groups=groups)


def _impact(
    obs: Observation,
    findings: Findings,
    groups: tuple[tuple[Fact, ...], ...],
    settings: Settings,
    serious: bool,
    located_cause: bool = False,
    counted_shape: bool = False,
) -> _Impact | None:
    """Blast radius and money; None when the loss is under the minimum, or too uncertain without a serious
    failure behind it: a counted gap, a near-total failure, or (for a located cause) failing requests of the
    merchants at risk that persist well past the onset (a small or ramped loss is still a loss)."""
    notes = ImpactNotes(assumptions=[], uncertainties=[])
    located = tuple(f for g in groups for f in g)
    detected = min((f.onset for f in located if f.onset is not None), default=None)
    stages, at_risk = _blast(obs, groups, notes)
    # The money counts from the failure's first minutes at the merchants at risk (a ramp is detected late).
    onset = failure_start(obs, located, detected, set(at_risk))
    if onset is not None and detected is not None and onset < detected:
        notes.assumptions.append(
            f"The loss counts from {onset:%H:%M} UTC: the located failure's first minutes at the merchants at "
            f"risk, before its signal became significant at {detected:%H:%M} UTC (a failure that ramps up)."
        )
    windows = window_by_merchant(obs, onset)
    rates = merchant_rates(
        _baselines_or_window(obs, set(at_risk), onset, notes), set(at_risk), obs.merchant_stages, notes
    )
    cv = value_cv(
        obs, {b.merchant_id: b.revenue / b.orders for b in obs.baselines if b.orders >= MIN_BASELINE_ORDERS}
    )
    value_spread = DEFAULT_VALUE_CV if cv is None else cv
    in_scope, idle = _merchant_losses(windows, rates, at_risk, value_spread)
    currency = obs.metrics.first_currency() or settings.currency
    # A merchant that clearly took at least the expected orders is not at risk (decide.blast): the risk report,
    # the blast radius and the causes' money leave it out; the others count with their signed losses since the
    # onset (one above its expectation within its noise is a hit merchant that was lucky). Whether an incident opens is judged
    # on the signed total over every merchant in scope and the whole window (`gate`, the long-standing rule),
    # so noise kept by the filter cannot open one, and a short span after the onset does not open one early.
    above, expectation = at_or_above_expectation(
        {c.impact.merchant_id: (c.impact.lost_orders.value, c.impact.lost_orders.high) for c in in_scope}
    )
    calcs = [c for c in in_scope if c.impact.merchant_id not in above]
    gate: RiskReport | None = None
    if in_scope:
        whole_window, _ = _merchant_losses(window_by_merchant(obs, None), rates, at_risk, value_spread)
        gate = risk_report(obs, whole_window, onset, currency, stages)
        if not calcs:
            return None
        _note_above_expectation(expectation, onset, notes)
        risk = risk_report(obs, calcs, onset, currency, stages)
        impacts = [c.impact for c in calcs]
        traffic = sum(c.impact.traffic_share for c in calcs)
    else:
        missing = {
            g.merchant_id: g.missing_orders for g in findings.soft_failures if g.merchant_id in at_risk
        }
        if not missing:
            return None
        aov = {m: r.aov for m, r in rates.items()}
        impacts, risk = counted_loss_report(obs, missing, aov, onset, currency, stages)
        traffic = 0.0
        notes.assumptions.append(
            "No KPI metrics cover the merchants at risk: lost orders are the counted payments without "
            "order.created."
        )
    measured = gate or risk
    chosen = measured
    if calcs and located_cause:
        before = risk
        calcs, risk = _counted_or_measured(
            obs,
            located,
            onset,
            rates,
            calcs,
            risk,
            windows,
            at_risk,
            value_spread,
            notes,
            stages,
            counted_shape,
        )
        if risk is not before:
            impacts = [c.impact for c in calcs]
            chosen = risk
    if calcs:
        _note_missing_kpi_minutes(obs, onset, calcs, notes)
    persists = located_cause and persisting_failure(obs, located, detected, set(at_risk))
    if not _opens(chosen, measured, persists, serious, settings, notes):
        return None
    return _Impact(
        stages=stages,
        at_risk=at_risk,
        onset=onset,
        risk=risk,
        impacts=impacts,
        traffic=traffic,
        cv=cv,
        idle=idle,
        notes=notes,
    )


def _opens(
    chosen: RiskReport,
    measured: RiskReport,
    persists: bool,
    serious: bool,
    settings: Settings,
    notes: ImpactNotes,
) -> bool:
    """Whether the loss opens an incident: the chosen estimate at least the minimum (or a persisting located
    failure whose interval reaches it), and expected minus actual orders surely above zero unless a serious or
    persisting failure is behind it; the notes say why an uncertain one opens."""
    if chosen.lost_orders.value < settings.decide_min_lost_orders:
        # A persisting located failure stays silent only when its loss is surely under the minimum.
        if not (persists and chosen.lost_orders.high >= settings.decide_min_lost_orders):
            return False
        notes.uncertainties.append(
            f"The estimated loss ({chosen.lost_orders.value:,.0f} orders) is under the minimum of "
            f"{settings.decide_min_lost_orders:g}, but its 90% interval reaches {chosen.lost_orders.high:,.0f} and the "
            f"located failure persists {PERSIST_MINUTES}+ minutes after its onset: the incident opens so that a "
            "small or ramped loss is not silent."
        )
    if measured.lost_orders.low <= 0:
        if serious:
            notes.uncertainties.append(
                "The 90% interval of expected minus actual orders reaches zero; the incident opens because a "
                "counted payment-without-order gap or a near-total webhook/payment failure is measured, not "
                "because the loss is certain."
            )
        elif persists:
            notes.uncertainties.append(
                "The 90% interval of expected minus actual orders reaches zero; the incident opens because the "
                f"located failure persists at the merchants at risk {PERSIST_MINUTES}+ minutes after its onset, "
                "not because the loss is certain."
            )
        else:
            return False
    return True


def _counted_or_measured(
    obs: Observation,
    located: tuple[Fact, ...],
    onset: datetime | None,
    rates: dict[str, Rates],
    calcs: list[MerchantLossCalc],
    risk: RiskReport,
    windows: dict[str, MerchantWindow],
    at_risk: dict[str, str],
    cv: float,
    notes: ImpactNotes,
    stages: tuple[str, ...],
    counted_shape: bool,
) -> tuple[list[MerchantLossCalc], RiskReport]:
    """The counted loss (decide.counted) for a cause that shows as failed requests when the silent part is
    within its noise; for a cause whose loss is silent by nature, only when the failed requests alone cost more
    than expected minus actual orders measures (a floor). Else the measured loss."""
    measured = {c.impact.merchant_id: (c.impact.lost_orders.value, c.lost_var) for c in calcs}
    counted = counted_lost_orders(obs, located, onset, {m: rates[m] for m in measured})
    total = sum(v for v, _ in counted.values())
    if total <= 0:
        return calcs, risk
    if counted_shape:
        if not silent_part_within_noise(measured, counted):
            return calcs, risk
        why = (
            f"expected minus actual orders ({risk.lost_orders.value:,.0f}) agrees within its noise, so no silent "
            "loss is added"
        )
    else:
        if risk.lost_orders.value >= total:
            return calcs, risk
        why = (
            f"expected minus actual orders ({risk.lost_orders.value:,.0f}) is below what the failed requests alone "
            "cost, so the counted failures are the floor"
        )
    recalcs, _ = _merchant_losses(windows, rates, {m: at_risk[m] for m in measured}, cv, counted)
    _note_missing_logs(obs, located, onset, notes)
    notes.assumptions.append(
        "Lost orders are counted from the failed requests of the merchants at risk (above the clean share of the "
        f"other stages), each valued at the chance it would have become an order; {why}. A shopper who retries a "
        "failed request counts once per failure."
    )
    return recalcs, risk_report(obs, recalcs, onset, risk.currency, stages)


def _note_missing_kpi_minutes(
    obs: Observation, onset: datetime | None, calcs: list[MerchantLossCalc], notes: ImpactNotes
) -> None:
    """Say which minutes since the onset had no KPI points and what the loss estimate put in for them."""
    added = sum(c.missing_minutes_lost for c in calcs)
    gaps = kpi_gap_minutes(obs, onset)
    if not any(c.missing_minutes_lost for c in calcs):
        return
    if not gaps:
        own = sorted(c.impact.merchant_id for c in calcs if c.missing_minutes_lost)
        notes.assumptions.append(
            f"The KPI feed of {', '.join(own[:5])}{' and others' if len(own) > 5 else ''} dropped minutes since the "
            f"onset while the other merchants reported: missing data, not minutes without shoppers. Their loss in "
            f"them is estimated from their other minutes' average (about {added:,.0f} orders)."
        )
        return
    start = max(onset, obs.window_start) if onset is not None else obs.window_start
    minutes = max(1, round((obs.as_of - start).total_seconds() / 60))
    notes.assumptions.append(
        f"{len(gaps)} of {minutes} minutes since {start:%H:%M} UTC had no KPI points ({stretches(gaps)}): "
        f"missing data, not minutes without shoppers. Each merchant's loss in them is estimated from its other "
        f"{minutes - len(gaps)} minutes' average (about {added:,.0f} orders)."
    )
    notes.uncertainties.append(
        f"The loss in the {len(gaps)} minutes without KPI points is estimated, not measured: the 90% interval "
        "includes how much a minute's loss varies between the covered minutes."
    )


def _note_missing_logs(
    obs: Observation, located: tuple[Fact, ...], onset: datetime | None, notes: ImpactNotes
) -> None:
    """Say which minutes since the onset had no records of the counted facts' log sources."""
    sources = sorted({s for f in located if missing_share(obs, f, onset) > 0 for s in fact_sources(obs, f)})
    gaps = log_gap_minutes(obs, onset, tuple(sources)) if sources else ()
    if not gaps:
        return
    covered = len(span_minutes(obs, onset)) - len(gaps)
    notes.assumptions.append(
        f"{len(gaps)} minute(s) since the onset had no {'/'.join(sources)} logs ({stretches(gaps)}): missing "
        f"data, not minutes without failures. The failed requests in them are estimated at each merchant's "
        f"average over the other {covered} minutes, and the interval includes that doubt."
    )


def _note_above_expectation(note: ExpectationNote, onset: datetime | None, notes: ImpactNotes) -> None:
    """Say which merchants in scope took at least the expected orders (left out of the merchants at risk)."""
    if note.above:
        since = f"since {onset:%H:%M} UTC" if onset is not None else "in the window"
        notes.assumptions.append(
            f"{len(note.above)} merchant(s) in scope clearly took at least their expected orders {since} and are not "
            f"counted at risk: {', '.join(note.above[:5])}"
            + (" ..." if len(note.above) > 5 else "")
            + f". Over all {note.in_scope} merchants in scope the net loss is about "
            f"{max(note.net_lost_orders, 0):,.0f} orders."
        )


def _baselines_or_window(
    obs: Observation, merchants: set[str], onset: datetime | None, notes: ImpactNotes
) -> tuple[MerchantBaseline, ...]:
    """The baselines; a merchant at risk without any baseline attempts (no history yet) gets the window's own
    minutes before the onset instead, and the assumption says so."""
    have = {b.merchant_id for b in obs.baselines if b.checkout_attempts > 0}
    missing = merchants - have
    if not missing or onset is None:
        return obs.baselines
    before: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
    early = obs.metrics.take(obs.metrics.merchant_id.mask(*missing) & (obs.metrics.ts_ms <= dt_to_ms(onset)))
    for m in early:
        if m.merchant_id in missing and m.ts < onset:
            slot = before[m.merchant_id]
            slot[0] += m.interval_seconds / 60
            slot[1] += m.checkout_attempts
            slot[2] += m.orders
            slot[3] += m.revenue
    extra = [
        MerchantBaseline(
            merchant_id=k,
            migration_stage=obs.merchant_stages.get(k, ""),
            minutes=int(v[0]),
            checkout_attempts=int(v[1]),
            orders=int(v[2]),
            revenue=float(v[3]),
        )
        for k, v in sorted(before.items())
        if v[1] > 0
    ]
    if extra:
        minutes = max(b.minutes for b in extra)
        notes.assumptions.append(
            f"No history for {len(extra)} merchant(s) at risk: expected orders use the window's own rates "
            f"before the onset ({minutes} minute(s) before {onset:%H:%M} UTC), an estimate from little data."
        )
        notes.uncertainties.append(
            "Expected orders come from the minutes before the onset in this window (no history yet); the "
            "loss is rough until a baseline exists."
        )
    return (*obs.baselines, *extra)


def _merchant_losses(
    windows: dict[str, MerchantWindow],
    rates: dict[str, Rates],
    at_risk: dict[str, str],
    cv: float,
    counted: dict[str, tuple[float, float]] | None = None,
) -> tuple[list[MerchantLossCalc], list[str]]:
    """Each merchant in scope's loss since the onset the windows count from; merchants without checkout
    attempts in the window are idle (unmeasured)."""
    total_attempts = sum(w.attempts for w in windows.values()) or 1
    calcs: list[MerchantLossCalc] = []
    idle: list[str] = []
    for merchant, basis in sorted(at_risk.items()):
        w = windows.get(merchant)
        if w is None or w.attempts == 0:
            idle.append(merchant)
            continue
        calcs.append(
            merchant_loss(
                w,
                rates[merchant],
                cv,
                w.attempts / total_attempts,
                basis,
                counted.get(merchant) if counted is not None else None,
            )
        )
    return calcs, idle


def _root_and_alternatives(
    causes: _Causes, stages: tuple[str, ...], onset: datetime | None, settings: Settings
) -> tuple[RootCause, list[Scored]]:
    """The root cause (`unknown` when the best guess is below `decide_min_confidence`) and the alternatives
    worth showing (not a concurrent cause, not negligible)."""
    primary = causes.primary
    if primary.category != Category.unknown and primary.confidence < settings.decide_min_confidence:
        root = RootCause(
            category=Category.unknown,
            hypothesis=f"Unclear; the best guess is {primary.category.value} at {primary.confidence:.0%}",
            confidence=round(1 - primary.confidence, 4),
            stages=stages,
            onset=onset,
        )
        alt_scored = list(causes.ranking)
    else:
        root = _root(primary)
        alt_scored = list(causes.ranking[1:])
    concurrent = {c.category for c in causes.concurrent}
    alt_scored = [
        a for a in alt_scored if a.category not in concurrent and a.confidence >= MIN_ALTERNATIVE_CONFIDENCE
    ][:MAX_ALTERNATIVES]
    return root, alt_scored


def _claims(cause: Scored, stage_of: dict[str, str]) -> tuple[set[str], set[str]]:
    """The merchants a cause's own signals name on the stages they point at (decide.blast), and those stages."""
    return named_on_stages(cause.locating, stage_of), set(cause.stages)


def _sum(items: list[Estimate]) -> Estimate:
    value = sum(e.value for e in items)
    sd = math.sqrt(sum(((e.high - e.low) / (2 * Z90)) ** 2 for e in items))
    return Estimate(value=round(value, 2), low=round(value - Z90 * sd, 2), high=round(value + Z90 * sd, 2))


def _with_money(
    obs: Observation, roots: list[RootCause], scored: list[Scored], impact: _Impact
) -> list[RootCause]:
    """Each cause with its own merchants and money. A merchant belongs to one cause only: the first whose own
    signals name it, else the first whose stages hold it, else the primary cause; so the parts add up to the
    total and never above it."""
    claims = [_claims(s, obs.merchant_stages) for s in scored]
    owner: dict[str, int] = {}
    for m in impact.impacts:
        named = next((i for i, (ms, _) in enumerate(claims) if m.merchant_id in ms), None)
        staged = next((i for i, (_, st) in enumerate(claims) if m.migration_stage in st), None)
        owner[m.merchant_id] = named if named is not None else staged if staged is not None else 0
    out = []
    for i, root in enumerate(roots):
        mine = [m for m in impact.impacts if owner.get(m.merchant_id) == i]
        out.append(
            root.model_copy(
                update={
                    "merchants": tuple(sorted(m.merchant_id for m in mine)),
                    "lost_orders": _sum([m.lost_orders for m in mine]),
                    "lost_revenue": _sum([m.lost_revenue for m in mine]),
                }
            )
        )
    return out


def _assumptions(obs: Observation, impact: _Impact) -> list[str]:
    at_risk = impact.at_risk
    cv = impact.cv
    baseline_attempts = sum(b.checkout_attempts for b in obs.baselines if b.merchant_id in at_risk)
    baseline_orders = sum(b.orders for b in obs.baselines if b.merchant_id in at_risk)
    return [
        f"Expected orders use each merchant's conversion from {obs.baseline_start:%Y-%m-%d %H:%M} to "
        f"{obs.window_start:%Y-%m-%d %H:%M} UTC ({baseline_attempts:,} checkout attempts, {baseline_orders:,} "
        "orders across the merchants at risk) times its attempts in the window.",
        (
            f"Single order values vary with a coefficient of variation of {cv:.2f}, estimated from the window's "
            "per-minute revenue."
            if cv is not None
            else f"Too few orders in the window to measure order-value spread; a coefficient of variation of "
            f"{DEFAULT_VALUE_CV} is assumed."
        ),
        "The per-day projection assumes the loss per checkout attempt persists and traffic follows the "
        "baseline's daily volume.",
        *impact.notes.assumptions,
    ]


def _examples(causes: list[Scored]) -> dict[Category, list[str]]:
    """Example signal ids behind each cause, for the actions' parameters."""
    examples: dict[Category, list[str]] = {}
    for c in causes:
        ids = [x for f in c.locating for x in f.examples]
        if ids:
            examples[c.category] = ids
    return examples


def _where(stages: tuple[str, ...]) -> str:
    return f" at {', '.join(stages)}" if stages else ""


def _title(roots: list[RootCause], stages: tuple[str, ...], risk: RiskReport) -> str:
    names = " and ".join(TITLES[r.category] for r in roots)
    return f"{names}{_where(stages)}: ~{max(risk.lost_orders.value, 0):,.0f} orders lost"


def _summary(
    obs: Observation,
    root: RootCause,
    concurrent_roots: tuple[RootCause, ...],
    blast: BlastRadius,
    risk: RiskReport,
) -> str:
    return (
        f"Since {risk.onset:%H:%M} UTC, {root.hypothesis[0].lower() + root.hypothesis[1:]}"
        f"{' (' + root.category.value + ', confidence ' + format(root.confidence, '.0%') + ')'}"
        f"{_where(blast.stages)}, affecting {len(blast.merchants)} merchant(s) with {blast.traffic_share:.0%} "
        "of checkouts. "
        + (
            "At the same time: "
            + "; ".join(
                f"{c.category.value} at {', '.join(c.stages)} ({c.confidence:.0%})" for c in concurrent_roots
            )
            + ". "
            if concurrent_roots
            else ""
        )
        + money_sentence(risk)
    )


LOSS_SO_FAR_LABEL = "Lost so far since"
"""How the summary's money sentence (and the incident's story) begins; `plan.shown_assessment` replaces the
assessment's sentence with the incident's own story from it on."""


def money_sentence(risk: RiskReport) -> str:
    """The loss so far since the onset and the current rate per hour, each with its basis."""
    since = f"{risk.onset:%H:%M} UTC" if risk.onset is not None else "the window start"
    return (
        f"{LOSS_SO_FAR_LABEL} {since}: about {max(risk.lost_orders.value, 0):,.0f} orders / {risk.currency} "
        f"{max(risk.lost_revenue.value, 0):,.0f}; at the current rate (the average since {since}), "
        f"{risk.currency} {max(risk.lost_revenue_per_hour.value, 0):,.0f} per hour."
    )


def _orders_evidence(stages: tuple[str, ...], risk: RiskReport) -> Evidence:
    return Evidence(
        kind=EvidenceKind.metric,
        source_id="orders:" + ",".join(stages),
        text=f"{risk.actual_orders:,} orders against {risk.expected_orders:,.0f} expected from baseline "
        f"conversion at the merchants at risk since "
        f"{f'{risk.onset:%H:%M} UTC' if risk.onset is not None else 'the window start'}",
        supports=None,
        weight=0.0,
    )


MAX_ALERT_EVIDENCE = 10


def alert_evidence(
    alerts: tuple[ActiveAlert, ...], stages: tuple[str, ...], merchants: set[str]
) -> tuple[Evidence, ...]:
    """The window's Alertmanager alerts about the incident's stages or merchants at risk, as evidence (weight
    0: they corroborate what the signals show and are listed for the reader; they do not move the ranking)."""
    wanted = set(stages)
    out = []
    for a in alerts:
        if not (
            (a.migration_stage and a.migration_stage in wanted)
            or (a.merchant_id and a.merchant_id in merchants)
        ):
            continue
        where = ", ".join(x for x in (a.merchant_id, a.migration_stage) if x)
        ended = f", resolved {a.ends_at:%H:%M} UTC" if a.ends_at is not None else ""
        text = f"Alert {a.alertname or a.fingerprint} ({a.severity or 'no severity'}; {where}) firing since {a.starts_at:%H:%M} UTC{ended}"
        if a.summary:
            text += f": {a.summary}"
        out.append(
            Evidence(
                kind=EvidenceKind.alert,
                source_id=f"alert:{a.fingerprint}@{a.starts_at.isoformat()}",
                text=clip(text),
                supports=None,
                weight=0.0,
            )
        )
    return tuple(out[:MAX_ALERT_EVIDENCE])
