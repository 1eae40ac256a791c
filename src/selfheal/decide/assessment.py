"""The assessment: from Findings to root cause, evidence, blast radius, risk and actions.

1. The Findings become facts (decide.facts); the hypothesis catalogue (decide.catalogue) scores them into
   ranked, calibrated confidences (decide.scoring). Evidence the first cause leaves unexplained may carry a
   second, concurrent cause: one incident then reports several causes, each with its own stages.
2. The causes' locating facts give the blast radius; the observation's metrics and baselines give the money
   (decide.impact); the action catalogue gives what to do (decide.actions).
3. None when nothing calls for an incident: no cause with locating evidence (or a high-severity anomaly), or
   less than `decide_min_lost_orders` estimated lost orders with a 90 % interval above zero.

Pure: no storage, no network, no LLM.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from selfheal.decide.actions import propose_actions
from selfheal.decide.facts import Fact, facts_from
from selfheal.decide.impact import (
    DEFAULT_VALUE_CV,
    MIN_BASELINE_ORDERS,
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
    Evidence,
    EvidenceKind,
    MerchantImpact,
    RiskReport,
    RootCause,
)
from selfheal.decide.scoring import Scored, find_causes
from selfheal.observe.model import Observation
from selfheal.reason.model import SEVERITY_RANK, AnomalyKind, Findings, Severity
from selfheal.settings import Settings

STAGE_EXPANSION_SHARE = 0.5
"""A stage counts as affected as a whole when merchants with direct signals carry this share of its traffic."""
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


def _unlocated_fallback(facts: list[Fact]) -> tuple[Fact, ...]:
    """For `unknown`: the high-severity hard/soft anomalies (they still place the problem)."""
    return tuple(
        f
        for f in facts
        if f.signal == "anomaly"
        and f.kind in (AnomalyKind.hard.value, AnomalyKind.soft.value, AnomalyKind.business.value)
        and SEVERITY_RANK[f.severity] >= SEVERITY_RANK[Severity.high]
        and f.stages
    )


def _blast(
    obs: Observation, located: tuple[Fact, ...], notes: ImpactNotes
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Stages and merchants at risk (merchant -> basis) from the locating facts."""
    stage_of = obs.merchant_stages
    direct = {m for f in located for m in f.merchants}
    stages = {s for f in located for s in f.stages}
    if stages:
        # A merchant singled out on a stage the evidence does not point at is a per-merchant test's false alarm.
        direct = {m for m in direct if m not in stage_of or stage_of[m] in stages}
    else:
        stages = {stage_of[m] for m in direct if m in stage_of}
    attempts: dict[str, int] = defaultdict(int)
    for row in obs.metrics:
        attempts[row.merchant_id] += row.checkout_attempts
    at_risk = dict.fromkeys(direct, "direct")
    for stage in sorted(stages):
        members = [m for m, s in stage_of.items() if s == stage]
        total = sum(attempts[m] for m in members)
        covered = sum(attempts[m] for m in members if m in direct)
        share = covered / total if total else 0.0
        if share >= STAGE_EXPANSION_SHARE or not any(m in direct for m in members):
            added = [m for m in members if m not in at_risk]
            for m in added:
                at_risk[m] = "stage"
            if added:
                notes.assumptions.append(
                    f"All {len(members)} merchants of stage {stage} are counted at risk: merchants with their own "
                    f"failing signals carry {share:.0%} of its checkouts in the window."
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
                text=f"{h.rule.says}: {h.fact.text}"[:600],
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
            f"{rev.high:,.0f}."
        )
    return out


@dataclass(frozen=True)
class _Causes:
    """The primary cause with its whole ranking, the concurrent causes, and the facts that locate them."""

    primary: Scored
    ranking: list[Scored]
    concurrent: list[Scored]
    located: tuple[Fact, ...]


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
    """The assessment of the window, or None when nothing calls for an incident."""
    causes = _causes(facts_from(findings), settings)
    if causes is None:
        return None
    impact = _impact(obs, findings, causes.located, settings)
    if impact is None:
        return None
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
    uncertainties = _uncertainties(obs, findings, causes.primary, alt_scored, risk, impact.idle)
    return Assessment(
        title=_title(roots, impact.stages, risk),
        summary=_summary(obs, root, concurrent_roots, blast, risk),
        severity=severity,
        root_cause=root,
        alternatives=tuple(_root(a) for a in alt_scored if a.category != root.category),
        evidence=(*_evidence(scored, alt_scored[:1]), _orders_evidence(impact.stages, risk)),
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
    for c in concurrent:
        located = located + c.locating
    return _Causes(primary=primary, ranking=first, concurrent=concurrent, located=located)


def _impact(
    obs: Observation, findings: Findings, located: tuple[Fact, ...], settings: Settings
) -> _Impact | None:
    """Blast radius and money; None when the loss is too small or too uncertain to call an incident."""
    notes = ImpactNotes(assumptions=[], uncertainties=[])
    stages, at_risk = _blast(obs, located, notes)
    onset = min((f.onset for f in located if f.onset is not None), default=None)
    windows = window_by_merchant(obs, onset)
    rates = merchant_rates(obs.baselines, set(at_risk), obs.merchant_stages, notes)
    cv = value_cv(
        obs, {b.merchant_id: b.revenue / b.orders for b in obs.baselines if b.orders >= MIN_BASELINE_ORDERS}
    )
    calcs, idle = _merchant_losses(windows, rates, at_risk, cv)
    currency = next((m.currency for m in obs.metrics if m.currency), None) or settings.currency
    if calcs:
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
    if risk.lost_orders.value < settings.decide_min_lost_orders or risk.lost_orders.low <= 0:
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


def _merchant_losses(
    windows: dict[str, MerchantWindow], rates: dict[str, Rates], at_risk: dict[str, str], cv: float | None
) -> tuple[list[MerchantLossCalc], list[str]]:
    """Each merchant at risk's loss in the window; merchants without checkout attempts are idle (unmeasured)."""
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
                w, rates[merchant], DEFAULT_VALUE_CV if cv is None else cv, w.attempts / total_attempts, basis
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
        + f"About {max(risk.lost_orders.value, 0):,.0f} orders ({risk.currency} "
        f"{max(risk.lost_revenue.value, 0):,.0f}) were lost in the last {obs.window_minutes} minutes, "
        f"{risk.currency} {max(risk.lost_revenue_per_hour.value, 0):,.0f} per hour."
    )


def _orders_evidence(stages: tuple[str, ...], risk: RiskReport) -> Evidence:
    return Evidence(
        kind=EvidenceKind.metric,
        source_id="orders:" + ",".join(stages),
        text=f"{risk.actual_orders} orders against {risk.expected_orders:.0f} expected from baseline "
        f"conversion at the merchants at risk",
        supports=None,
        weight=0.0,
    )
