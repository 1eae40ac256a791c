"""Hybrid fusion counts a runbook's evidence across its sections.

Alert texts often share their words with one section of the right runbook ("Meaning") and their sense with
another ("Mitigation"), while a sibling runbook has one section that is second best on both sides. Scored
chunk by chunk, the sibling wins; with each side's score taking a share of that side's best score in the
same runbook (`kb_document_share`), the right runbook does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from selfheal.knowledge.base import KnowledgeBase
from selfheal.knowledge.index import SearchMode, clean_query, fuse
from selfheal.settings import Settings
from selfheal.store import Store

RULE_FAILURES = b"""---
title: Rule Evaluation Failures
---

# RuleEvaluationFailures

## Meaning

Prometheus has failed to evaluate rules: rule evaluation failures.

## Mitigation

Correct the broken expression and reload the configuration.
"""

MISSED_EVALUATIONS = b"""---
title: Missed Rule Evaluations
---

# MissedRuleEvaluations

## Meaning

Prometheus rule groups evaluate too slowly, so rule evaluations are missed.

## Impact

Alerts may fire late.
"""

TARGET_DOWN = b"""# TargetDown

## Meaning

Scrape targets are unreachable.

## Mitigation

Check the network policy of the namespace.
"""

QUERY = "Prometheus <pod> has failed to evaluate <value> rules in the last 5m."

# Cosine of each section with the query, for a stand-in embedder: the right runbook's fix reads closest,
# the sibling's one section second, the right runbook's "Meaning" third.
COSINES = {
    "Correct the broken expression": 0.90,
    "rule groups evaluate too slowly": 0.88,
    "rule evaluation failures": 0.55,
    "Alerts may fire late": 0.35,
    "Scrape targets are unreachable": 0.30,
    "network policy": 0.20,
}


class _SectionEmbedder:
    """Gives each section a vector with a chosen cosine to the query (the query is the first axis), each
    section on its own orthogonal axis otherwise, so only the chosen cosines matter."""

    name = "sections"
    dim = 16

    def embed(self, texts: list[str], batch_size: int = 64) -> npt.NDArray[np.float32]:
        return np.vstack([self._vector(text) for text in texts]).astype(np.float32)

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        vector = np.zeros(self.dim, dtype=np.float32)
        for axis, (key, cosine) in enumerate(COSINES.items(), start=1):
            if key in text:
                vector[0], vector[axis] = cosine, np.sqrt(1 - cosine**2)
                return vector
        if text == clean_query(QUERY):
            vector[0] = 1.0
            return vector
        vector[-1] = 1.0
        return vector


def _kb(store: Store, tmp_path: Path, share: float | None) -> KnowledgeBase:
    overrides = {} if share is None else {"kb_document_share": share}
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", dense_embeddings=True, **overrides)
    kb = KnowledgeBase(store, settings, _SectionEmbedder())
    kb.add_files(
        [
            ("rule-failures.md", RULE_FAILURES),
            ("missed-evaluations.md", MISSED_EVALUATIONS),
            ("target.md", TARGET_DOWN),
        ]
    )
    return kb


def test_runbook_found_in_two_sections_ranks_first(store: Store, tmp_path: Path) -> None:
    hits = _kb(store, tmp_path, None).search(QUERY, 5)
    assert hits[0].chunk.document == "rule-failures.md"
    assert hits[0].chunk.section == "RuleEvaluationFailures > Meaning"


def test_chunks_scored_alone_lose_it_to_the_sibling(store: Store, tmp_path: Path) -> None:
    """The same set with the document share off: the sibling's single section wins (what the default fixes)."""
    hits = _kb(store, tmp_path, 0.0).search(QUERY, 5)
    assert hits[0].chunk.document == "missed-evaluations.md"


def test_each_side_alone_is_unchanged(store: Store, tmp_path: Path) -> None:
    """The share applies to hybrid fusion only; the two sides rank as before, each on its own section."""
    kb = _kb(store, tmp_path, None)
    alone = _kb(store, tmp_path, 0.0)
    for mode in (SearchMode.lexical, SearchMode.dense):
        assert [h.chunk.chunk_id for h in kb.search(QUERY, 6, mode)] == [
            h.chunk.chunk_id for h in alone.search(QUERY, 6, mode)
        ]
    assert kb.search(QUERY, 1, SearchMode.lexical)[0].chunk.section == "RuleEvaluationFailures > Meaning"
    assert kb.search(QUERY, 1, SearchMode.dense)[0].chunk.section == "RuleEvaluationFailures > Mitigation"


def test_fuse_moves_each_side_towards_its_document_best() -> None:
    lexical = np.array([10.0, 0.0, 8.0, 0.0])
    dense = np.array([0.7, 0.9, 0.88, 0.2])
    documents = np.array([0, 0, 1, 2])
    alone = fuse(lexical, dense, documents, 0.5, 0.0)
    shared = fuse(lexical, dense, documents, 0.5, 0.3)
    assert int(np.argmax(alone)) == 2
    assert int(np.argmax(shared)) == 0
    # documents with one chunk keep their scores
    assert shared[2] == pytest.approx(alone[2])
    assert shared[3] == pytest.approx(alone[3])
    # one chunk per document: the share changes nothing
    single = np.arange(4)
    assert fuse(lexical, dense, single, 0.5, 0.3) == pytest.approx(fuse(lexical, dense, single, 0.5, 0.0))
