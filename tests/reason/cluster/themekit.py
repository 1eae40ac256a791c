"""Helpers for ticket-theme tests: themed synthetic tickets and a deterministic test embedder."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from selfheal.ingest import store_batch
from selfheal.signals import Ticket
from selfheal.store import Store

AS_OF = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

THEMES: dict[str, list[str]] = {
    "webhook": [
        "order webhook returns 403 forbidden",
        "webhook 403 forbidden, orders missing",
        "order webhook rejected with 403 forbidden",
        "payment ok but order webhook gets 403 forbidden",
        "webhook delivery 403 forbidden for new orders",
    ],
    "checkout": [
        "checkout is slow and times out",
        "slow checkout, timeout at the payment step",
        "checkout timeout, very slow for customers",
        "checkout slow since this morning then timeout",
        "checkout keeps spinning slow and times out",
    ],
    "cart": [
        "cart shows empty after adding items",
        "items disappear and the cart is empty",
        "cart empty when customers reach checkout with items",
        "cart sync problem, cart items empty",
        "shopping cart loses items and shows empty",
    ],
}
FILLERS = ["please help", "urgent", "thanks", "since yesterday", "for several customers", "again today", ""]
STAGES = ("legacy", "pilot", "wave_1")


def themed_tickets(
    per_theme: dict[str, int],
    end: datetime = AS_OF,
    minutes: int = 60,
    seed: int = 0,
    prefix: str = "t",
    merchants: dict[str, list[str]] | None = None,
    wordings: int = 5,
) -> list[Ticket]:
    """Tickets spread over `[end - minutes, end)`, `per_theme[name]` of each theme, in up to `wordings`
    wordings per theme (plus filler words)."""
    rng = random.Random(seed)
    tickets = []
    for name, count in per_theme.items():
        for i in range(count):
            phrase = rng.choice(THEMES[name][:wordings])
            filler = rng.choice(FILLERS) if wordings > 1 else ""
            owners = (merchants or {}).get(name) or [f"m{rng.randrange(20)}"]
            merchant = rng.choice(owners)
            tickets.append(
                Ticket(
                    id=f"{prefix}-{name}-{i}",
                    created_at=end - timedelta(seconds=rng.uniform(1, minutes * 60 - 1)),
                    merchant_id=merchant,
                    subject=phrase.split(",")[0][:60],
                    body=f"{phrase} {filler}".strip(),
                    migration_stage=STAGES[hash(merchant) % len(STAGES)],
                )
            )
    return tickets


class HashingEmbedder:
    """A deterministic bag-of-words embedder with the DenseEmbedder interface; counts what it embeds."""

    name = "test-hashing"
    dim = 256

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: list[str], batch_size: int = 64) -> npt.NDArray[np.float32]:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.embedded.extend(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        matrix = HashingVectorizer(n_features=self.dim, stop_words="english", alternate_sign=False).transform(
            texts
        )
        dense = np.asarray(matrix.toarray(), dtype=np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        return np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)


def load(store: Store, tickets: list[Ticket]) -> None:
    store_batch(store, "tickets", tickets)
