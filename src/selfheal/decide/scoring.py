"""Score the hypothesis catalogue against the facts and turn scores into confidences.

score(h) = prior(h) + sum over h's rules of weight x (strongest matching fact's strength)
confidence = softmax(score / TEMPERATURE) over every hypothesis and `unknown` (which scores UNKNOWN_SCORE).
A rule counts its strongest fact only, so ten anomalies on one endpoint weigh as much as the clearest one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime

from selfheal.decide.catalogue import (
    HYPOTHESES,
    TEMPERATURE,
    UNKNOWN_HYPOTHESIS,
    UNKNOWN_SCORE,
    Hypothesis,
    Rule,
)
from selfheal.decide.facts import Fact, matches
from selfheal.decide.model import Category


@dataclass(frozen=True)
class RuleHit:
    rule: Rule
    fact: Fact
    contribution: float


@dataclass(frozen=True)
class Scored:
    """One hypothesis with its score, confidence and the facts behind them."""

    category: Category
    hypothesis: str
    score: float
    confidence: float
    hits: tuple[RuleHit, ...]

    @property
    def locating(self) -> tuple[Fact, ...]:
        """Facts that place this cause (positive locating rules), strongest first, each with the exact codes
        the cause is about on it (`Fact.cause_codes`: the union of its locating rules' codes; none when one of
        those rules takes the whole status class)."""
        seen: dict[str, Fact] = {}
        codes: dict[str, set[int] | None] = {}
        for h in self.hits:
            if h.rule.locates and h.rule.weight > 0 and h.fact.strength > 0:
                fid = h.fact.source_id
                seen.setdefault(fid, h.fact)
                wanted = codes.get(fid, set())
                codes[fid] = (
                    None if wanted is None or not h.rule.when.codes else wanted | set(h.rule.when.codes)
                )
        located = (replace(f, cause_codes=tuple(sorted(codes[fid] or ()))) for fid, f in seen.items())
        return tuple(sorted(located, key=lambda f: -f.strength))

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(sorted({s for f in self.locating for s in f.stages}))

    @property
    def onset(self) -> datetime | None:
        onsets = [f.onset for f in self.locating if f.onset is not None]
        return min(onsets) if onsets else None


def score_hypothesis(h: Hypothesis, facts: list[Fact]) -> tuple[float, tuple[RuleHit, ...]]:
    total = h.prior
    hits: list[RuleHit] = []
    for rule in h.rules:
        matched = [f for f in facts if matches(rule.when, f)]
        if not matched:
            continue
        best = max(f.strength for f in matched)
        total += rule.weight * best
        # Keep every matching fact as evidence; the contribution is carried by the strongest one.
        for f in sorted(matched, key=lambda f: -f.strength):
            hits.append(RuleHit(rule, f, round(rule.weight * f.strength, 4) if f.strength == best else 0.0))
    return total, tuple(hits)


def rank(facts: list[Fact], catalogue: tuple[Hypothesis, ...] = HYPOTHESES) -> list[Scored]:
    """Every hypothesis and `unknown`, highest confidence first."""
    raw = [(h.category, h.hypothesis, *score_hypothesis(h, facts)) for h in catalogue]
    raw.append((Category.unknown, UNKNOWN_HYPOTHESIS, UNKNOWN_SCORE, ()))
    top = max(s for _, _, s, _ in raw)
    weights = [math.exp((s - top) / TEMPERATURE) for _, _, s, _ in raw]
    norm = sum(weights)
    scored = [
        Scored(category=c, hypothesis=text, score=round(s, 4), confidence=w / norm, hits=hits)
        for (c, text, s, hits), w in zip(raw, weights, strict=True)
    ]
    scored.sort(key=lambda x: (-x.confidence, x.category.value))
    return scored


def find_causes(facts: list[Fact], catalogue: tuple[Hypothesis, ...] = HYPOTHESES) -> list[list[Scored]]:
    """The primary cause's ranking, then rankings for further causes on evidence the earlier ones leave.

    After a cause is chosen, the facts it locates on, and every fact confined to its stages, are set aside;
    a further known cause needs its own locating evidence in what remains. Returns one ranking per cause.
    """
    rankings: list[list[Scored]] = []
    remaining = list(facts)
    taken: set[Category] = set()
    while remaining:
        ranking = rank(remaining, catalogue)
        best = next((s for s in ranking if s.category not in taken), None)
        if best is None or (rankings and (best.category == Category.unknown or not best.locating)):
            break
        rankings.append(ranking)
        if best.category == Category.unknown or not best.locating:
            break
        taken.add(best.category)
        used = {f.source_id for f in best.locating}
        stages = set(best.stages)
        remaining = [
            f
            for f in remaining
            if f.source_id not in used and not (f.stages and stages and set(f.stages) <= stages)
        ]
    return rankings
