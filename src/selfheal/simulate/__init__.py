"""The migration simulator: seeded signals with injected faults and their ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from selfheal.simulate.engine import make_merchants, seasonality, simulate
from selfheal.simulate.faults import CATEGORY_OF, DECOYS, FAULTS
from selfheal.simulate.model import (
    STAGES,
    FaultSpec,
    GroundTruth,
    Merchant,
    SignalVariant,
    SimConfig,
    SimResult,
)
from selfheal.store import Store

BATCH = 20_000


def load_into(store: Store, result: SimResult, actor: str = "simulator") -> None:
    """Store every signal of `result` in idempotent batches (metrics, then logs, then tickets)."""
    from selfheal.ingest import store_batch

    for kind, items in (("metrics", result.metrics), ("logs", result.logs), ("tickets", result.tickets)):
        seq: Sequence[Any] = items
        for start in range(0, len(seq), BATCH):
            store_batch(store, kind, list(seq[start : start + BATCH]), actor=actor)


__all__ = [
    "CATEGORY_OF",
    "DECOYS",
    "FAULTS",
    "STAGES",
    "FaultSpec",
    "GroundTruth",
    "Merchant",
    "SignalVariant",
    "SimConfig",
    "SimResult",
    "load_into",
    "make_merchants",
    "seasonality",
    "simulate",
]
