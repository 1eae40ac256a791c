"""Stable theme ids: a theme keeps its id across cycles as long as it persists.

A theme found now is matched to a known theme (from earlier cycles) when it shares at least
MIN_MEMBER_OVERLAP of its tickets with it (windows overlap, so persisting themes share tickets), or, for the
same embedding model, when their centres are at least MIN_CENTRE_SIMILARITY alike. Matching is one-to-one,
best pairs first. An unmatched theme gets a new id derived from its tickets, so a replay gives the same id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from selfheal.reason.cluster.algorithms import FloatArray

MIN_MEMBER_OVERLAP = 0.5
MIN_CENTRE_SIMILARITY = 0.85


@dataclass(frozen=True)
class KnownTheme:
    """A theme remembered from earlier cycles."""

    id: str
    model: str
    label: str = ""
    centroid: FloatArray | None = None
    """Unit mean of the members' (uncentred) vectors in `model`'s space."""
    members: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ThemeCandidate:
    """A theme found in this cycle, before it has an id."""

    members: frozenset[str]
    centroid: FloatArray | None


def _member_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _score(candidate: ThemeCandidate, known: KnownTheme, model: str) -> float:
    overlap = _member_overlap(candidate.members, known.members)
    score = overlap if overlap >= MIN_MEMBER_OVERLAP else 0.0
    if (
        known.model == model
        and known.centroid is not None
        and candidate.centroid is not None
        and known.centroid.shape == candidate.centroid.shape
    ):
        similarity = float(np.dot(known.centroid, candidate.centroid))
        if similarity >= MIN_CENTRE_SIMILARITY:
            score = max(score, similarity)
    return score


def new_theme_id(model: str, members: frozenset[str]) -> str:
    digest = hashlib.sha1(f"{model}|{','.join(sorted(members))}".encode()).hexdigest()
    return f"thm-{digest[:10]}"


def assign_ids(candidates: Sequence[ThemeCandidate], known: Sequence[KnownTheme], model: str) -> list[str]:
    """One id per candidate: a matched known theme's id, or a new deterministic id."""
    pairs = sorted(
        (
            (score, ci, ki)
            for ci, candidate in enumerate(candidates)
            for ki, theme in enumerate(known)
            if (score := _score(candidate, theme, model)) > 0
        ),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    ids: list[str | None] = [None] * len(candidates)
    used: set[int] = set()
    for _, ci, ki in pairs:
        if ids[ci] is None and ki not in used:
            ids[ci] = known[ki].id
            used.add(ki)
    taken = {t.id for t in known}
    result: list[str] = []
    for ci, assigned in enumerate(ids):
        if assigned is None:
            assigned = new_theme_id(model, candidates[ci].members)
            suffix = 1
            while assigned in taken:
                assigned = f"{new_theme_id(model, candidates[ci].members)}-{suffix}"
                suffix += 1
        taken.add(assigned)
        result.append(assigned)
    return result
