from __future__ import annotations

import pytest
from tests.knowledge.conftest import CountingEmbedder, store_url
from tests.knowledge.pdfgen import encrypt_pdf, make_pdf

from selfheal.embedding import DenseEmbedder
from selfheal.errors import InvalidInput, NotFound, UnsupportedMediaType
from selfheal.knowledge.base import KnowledgeBase, document_id
from selfheal.knowledge.index import SearchMode
from selfheal.knowledge.starter import load_starter_runbooks, starter_runbooks
from selfheal.settings import Settings
from selfheal.store import Store, knowledge_repo

WEBHOOK = b"# WebhookSignatureRejected\n\n## Meaning\n\nDeliveries fail with 403: signing secret mismatch.\n"
CART = b"# CartSyncMismatch\n\n## Meaning\n\nCarts come back empty with 409 conflicts.\n"


def _counts(store: Store) -> tuple[int, int]:
    with store.read() as conn:
        return knowledge_repo.counts(conn)


def test_upload_search_and_citation(kb: KnowledgeBase) -> None:
    result = kb.add_files([("webhook.md", WEBHOOK), ("cart.md", CART)], actor="ops")
    assert [d.name for d in result.documents] == ["webhook.md", "cart.md"]
    assert result.embedded is False
    hits = kb.search("webhook signature rejected 403", top=5)
    assert hits[0].chunk.document == "webhook.md"
    assert hits[0].chunk.section == "WebhookSignatureRejected > Meaning"
    assert hits[0].rank == 1
    passage = kb.passages("empty carts", 1)[0]
    assert passage.document == "cart.md"
    assert "409" in passage.text


def test_reupload_replaces_chunks(kb: KnowledgeBase, store: Store) -> None:
    kb.add_files([("webhook.md", WEBHOOK)])
    first = _counts(store)
    again = kb.add_files([("webhook.md", WEBHOOK + b"\n## Mitigation\n\nReplay the deliveries.\n")])
    assert again.documents[0].replaced is True
    docs, chunks = _counts(store)
    assert docs == 1
    assert chunks == first[1] + 1
    hits = kb.search("replay deliveries", top=10)
    assert len({h.chunk.chunk_id for h in hits}) == len(hits)
    assert hits[0].chunk.section.endswith("Mitigation")


def test_failed_batch_stores_nothing(kb: KnowledgeBase, store: Store) -> None:
    kb.add_files([("cart.md", CART)])
    before = _counts(store)
    locked = encrypt_pdf(make_pdf([["runbook"]]))
    with pytest.raises(InvalidInput):
        kb.add_files([("webhook.md", WEBHOOK), ("locked.pdf", locked)])
    with pytest.raises(UnsupportedMediaType):
        kb.add_files([("webhook.md", WEBHOOK), ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00")])
    with pytest.raises(InvalidInput) as dup:
        kb.add_files([("a.md", WEBHOOK), ("a.md", CART)])
    assert dup.value.details["duplicates"] == ["a.md"]
    assert _counts(store) == before
    assert [d.name for d in kb.documents()] == ["cart.md"]


def test_delete_and_clear(kb: KnowledgeBase, store: Store) -> None:
    kb.add_files([("webhook.md", WEBHOOK), ("cart.md", CART)])
    assert kb.delete(document_id("webhook.md")) >= 1
    assert [h.chunk.document for h in kb.search("signing secret 403", 5)] == []
    with pytest.raises(NotFound):
        kb.delete(document_id("webhook.md"))
    remaining = _counts(store)
    assert remaining[0] == 1
    assert kb.clear() == remaining
    assert _counts(store) == (0, 0)
    assert kb.search("carts", 5) == []


def test_other_process_sees_changes(store: Store, settings: Settings) -> None:
    writer = KnowledgeBase(store, settings)
    reader_store = Store.open(store_url(store))
    reader = KnowledgeBase(reader_store, settings)
    try:
        assert reader.search("carts empty", 3) == []
        writer.add_files([("cart.md", CART)])
        assert reader.search("carts empty", 3)[0].chunk.document == "cart.md"
    finally:
        reader_store.dispose()


def test_pdf_upload_keeps_page(kb: KnowledgeBase) -> None:
    kb.add_files([("psp.pdf", make_pdf([["Payment provider"], ["Authorisation returns 503: fail over"]]))])
    hit = kb.search("authorisation 503 fail over", 1)[0]
    assert hit.chunk.page == 2
    assert kb.passages("authorisation 503", 1)[0].page == 2


def test_empty_query_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(InvalidInput):
        kb.search("   ", 5)


def test_starter_runbooks_cover_failure_modes(kb: KnowledgeBase) -> None:
    names = [name for name, _ in starter_runbooks()]
    assert len(names) >= 5
    load_starter_runbooks(kb)
    expectations = {
        "POST /webhooks/order-created 403 signing secret": "webhook-order-created-403.md",
        "webhook handler 500 internal server error": "webhook-order-created-500.md",
        "POST /api/checkout 401 unauthorized key rotation": "api-auth-401-403.md",
        "GET /api/cart 409 carts empty": "cart-sync-mismatch.md",
        "checkout p95 latency 504": "checkout-latency.md",
        "POST /payments/authorize 502 503 provider": "payment-provider-errors.md",
    }
    for query, document in expectations.items():
        assert kb.search(query, 1)[0].chunk.document == document, query


def test_vectors_persist_across_restart(store: Store, settings: Settings, embedder: DenseEmbedder) -> None:
    counting = CountingEmbedder(embedder)
    first_store = Store.open(store_url(store))
    kb = KnowledgeBase(first_store, settings, counting)
    result = kb.add_files([("webhook.md", WEBHOOK), ("cart.md", CART)])
    assert result.embedded is True
    embedded_at_upload = counting.embedded
    assert embedded_at_upload == result.chunks
    assert kb.stats().embedded_chunks == result.chunks
    first_store.dispose()

    restarted = CountingEmbedder(embedder)
    kb2 = KnowledgeBase(Store.open(store_url(store)), settings, restarted)
    hits = kb2.search("shopping basket lost its items", 2, SearchMode.dense)
    assert restarted.embedded == 1  # only the query: stored chunk vectors were reused
    assert hits[0].chunk.document == "cart.md"
    assert kb2.stats().index_kind.startswith("hybrid")


def test_lexical_upload_backfilled_once_when_dense_arrives(
    kb: KnowledgeBase, store: Store, settings: Settings, embedder: DenseEmbedder
) -> None:
    kb.add_files([("webhook.md", WEBHOOK)])
    counting = CountingEmbedder(embedder)
    dense_kb = KnowledgeBase(store, settings, counting)
    dense_kb.search("signature", 1)
    chunks = _counts(store)[1]
    assert counting.embedded == chunks + 1
    again = CountingEmbedder(embedder)
    KnowledgeBase(store, settings, again).search("signature", 1)
    assert again.embedded == 1


def test_coarse_lists_find_the_exact_neighbours() -> None:
    import numpy as np

    from selfheal.knowledge.index import CoarseLists

    rng = np.random.default_rng(3)
    centers = rng.standard_normal((60, 32)).astype(np.float32)
    vectors = centers[rng.integers(0, 60, 6000)] + 0.3 * rng.standard_normal((6000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    lists = CoarseLists.build(vectors)
    assert lists.grouped.shape == vectors.shape
    assert sorted(lists.order.tolist()) == list(range(6000))
    recalls = []
    for i in range(50):
        q = vectors[i * 97] + 0.1 * rng.standard_normal(32).astype(np.float32)
        q /= np.linalg.norm(q)
        exact = set(np.argsort(-(vectors @ q))[:10].tolist())
        approx = set(np.argsort(-lists.scores(q))[:10].tolist())
        recalls.append(len(exact & approx) / 10)
    assert float(np.mean(recalls)) >= 0.95


class _VectorLookup:
    """Maps each query text to a given unit vector, so the index's dense arithmetic can be checked on
    vectors with known neighbours (the model itself is covered by the tests above)."""

    name = "lookup"

    def __init__(self, vectors: dict[str, object], dim: int) -> None:
        self.vectors = vectors
        self.dim = dim

    def embed(self, texts: list[str], batch_size: int = 64):  # type: ignore[no-untyped-def]
        import numpy as np

        return np.vstack([self.vectors[t] for t in texts]).astype(np.float32)


def test_large_index_fuses_exact_cosines_of_its_candidates() -> None:
    """Above `ivf_min_chunks` the dense side scans coarse lists only, but every fused candidate carries its
    exact cosine, and the dense top 10 matches an exact scan."""
    import numpy as np

    from selfheal.knowledge.index import HybridIndex
    from selfheal.knowledge.model import IndexedChunk

    rng = np.random.default_rng(5)
    n, dim = 6000, 32
    centers = rng.standard_normal((60, dim)).astype(np.float32)
    vectors = centers[rng.integers(0, 60, n)] + 0.3 * rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = ["webhook", "cart", "checkout", "latency", "payment", "signing", "secret", "replay"]
    chunks = [
        IndexedChunk(
            f"c{i}",
            f"d{i // 10}",
            f"d{i // 10}.md",
            f"Doc{i // 10}",
            i % 10,
            " ".join(words[(i + k) % len(words)] for k in range(3)),
            (f"Doc{i // 10}",),
            0,
            1,
            None,
        )
        for i in range(n)
    ]
    queries = {f"q{i} webhook replay": vectors[i * 101] for i in range(30)}
    lookup = _VectorLookup(queries, dim)
    approx = HybridIndex(chunks, vectors, lookup, ivf_min_chunks=1000)
    exact = HybridIndex(chunks, vectors, lookup, ivf_min_chunks=n + 1)
    assert approx.ivf is not None and exact.ivf is None
    recalls = []
    for text, q in queries.items():
        for hit in approx.search(text, 50, SearchMode.hybrid):
            index = int(hit.chunk.chunk_id[1:])
            assert hit.parts["dense"] == pytest.approx(float(vectors[index] @ q), abs=1e-5)
        got = {h.chunk.chunk_id for h in approx.search(text, 10, SearchMode.dense)}
        want = {h.chunk.chunk_id for h in exact.search(text, 10, SearchMode.dense)}
        recalls.append(len(got & want) / 10)
    assert float(np.mean(recalls)) >= 0.95
