"""The migration simulator: seeded signals with injected faults and their ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from selfheal.signals import MerchantEntry
from selfheal.simulate.engine import make_merchants, seasonality, simulate
from selfheal.simulate.faults import CATEGORY_OF, DECOYS, FAULTS
from selfheal.simulate.model import (
    STAGES,
    FaultSpec,
    GroundTruth,
    Merchant,
    SignalGap,
    SignalVariant,
    SimConfig,
    SimResult,
)
from selfheal.store import Store

BATCH = 20_000


LARGE_SHOP_ATTEMPTS_PER_MINUTE = 3.0
"""A simulated merchant with at least this traffic is on the `plus` plan, the others on `basic`."""


def directory_entries(merchants: Sequence[Merchant]) -> list[MerchantEntry]:
    """The simulated merchants as a merchant directory: their stage (held since before the simulation), a plan
    by traffic, their currency, and a label saying where they come from."""
    return [
        MerchantEntry(
            id=m.id,
            name=m.name,
            stage=m.stage,
            plan="plus" if m.attempts_per_minute >= LARGE_SHOP_ATTEMPTS_PER_MINUTE else "basic",
            currency=m.currency,
            labels={"source": "simulator"},
        )
        for m in merchants
    ]


def directory_csv(merchants: Sequence[Merchant]) -> bytes:
    """The directory as the CSV `selfheal merchants import` reads."""
    lines = ["id,name,stage,plan,currency,label.source"]
    lines += [
        f"{e.id},{e.name},{e.stage},{e.plan},{e.currency},{e.labels['source']}"
        for e in directory_entries(merchants)
    ]
    return ("\n".join(lines) + "\n").encode()


def load_into(
    store: Store, result: SimResult, actor: str = "simulator", with_directory: bool = False
) -> None:
    """Store every signal of `result` in idempotent batches (metrics, then logs, then tickets); with
    `with_directory`, upsert its merchants into the merchant directory first."""
    from selfheal.ingest import store_batch
    from selfheal.ingest.merchants import import_merchants

    if with_directory:
        import_merchants(store, directory_entries(result.truth.merchants), actor=actor)

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
    "SignalGap",
    "SignalVariant",
    "SimConfig",
    "SimResult",
    "directory_csv",
    "directory_entries",
    "load_into",
    "make_merchants",
    "seasonality",
    "simulate",
]
