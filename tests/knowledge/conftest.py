from __future__ import annotations

from pathlib import Path

import pytest

from selfheal.embedding import DenseEmbedder, load_dense_embedder
from selfheal.knowledge.base import KnowledgeBase
from selfheal.settings import Settings
from selfheal.store import Store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'kb.db'}", dense_embeddings=False)


def store_url(store: Store) -> str:
    """The URL of `store` (with its PostgreSQL schema), to open a second store as another process would."""
    return store.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def kb(store: Store, settings: Settings) -> KnowledgeBase:
    """A lexical-only knowledge base on the shared `store` fixture (a SQLite file, then a PostgreSQL schema)."""
    return KnowledgeBase(store, settings)


@pytest.fixture(scope="session")
def embedder() -> DenseEmbedder:
    model = load_dense_embedder(True)
    if model is None:
        pytest.skip("the `embed` extra is not installed")
    return model


class CountingEmbedder:
    """The real embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner: DenseEmbedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.embedded = 0

    def embed(self, texts: list[str], batch_size: int = 64):  # type: ignore[no-untyped-def]
        self.embedded += len(texts)
        return self.inner.embed(texts, batch_size)
