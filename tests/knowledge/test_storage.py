"""Storage guarantees of the knowledge base, on SQLite and PostgreSQL: atomic batches, serialised writers,
generations that never lose a bump, and inputs PostgreSQL cannot store refused as 4xx."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.exc import IntegrityError
from tests.knowledge.conftest import store_url

from selfheal.errors import InvalidInput, UnsupportedMediaType
from selfheal.knowledge.base import KnowledgeBase, document_id
from selfheal.settings import Settings
from selfheal.store import Store, knowledge_repo

RUNBOOK = b"# Webhook 403\n\n## Meaning\n\nDeliveries fail with 403: signing secret mismatch.\n"


def _state(store: Store) -> tuple[int, int, int]:
    with store.read() as conn:
        docs, chunks = knowledge_repo.counts(conn)
        return docs, chunks, knowledge_repo.generation(conn)


def _doc_row(name: str) -> dict[str, object]:
    return {
        "id": document_id(name),
        "name": name,
        "title": name,
        "kind": "markdown",
        "size_bytes": 1,
        "sha256": "0" * 64,
        "pages": None,
        "chunk_count": 1,
        "created_ms": 0,
        "updated_ms": 0,
        "uploaded_by": "test",
    }


def _chunk_row(name: str, text: str | None) -> dict[str, object]:
    return {
        "id": f"{document_id(name)}:00000",
        "document_id": document_id(name),
        "ordinal": 0,
        "heading_path": ["Webhook 403"],
        "page": None,
        "start_char": 0,
        "end_char": 10,
        "text": text,
        "embedding": None,
        "embedding_model": None,
    }


def test_database_error_mid_batch_rolls_back_everything(kb: KnowledgeBase, store: Store) -> None:
    kb.add_files([("cart.md", RUNBOOK)])
    before = _state(store)

    def failing_batch() -> None:
        with store.transaction() as conn:
            knowledge_repo.lock_for_write(conn)
            knowledge_repo.replace_document(conn, _doc_row("cart.md"), [_chunk_row("cart.md", "replaced")])
            knowledge_repo.replace_document(conn, _doc_row("b.md"), [_chunk_row("b.md", None)])  # NOT NULL

    with pytest.raises(IntegrityError):
        failing_batch()
    assert _state(store) == before
    assert kb.search("signing secret", 1)[0].chunk.text.startswith("Deliveries")


def test_upload_waits_for_a_concurrent_writer_of_the_same_name(
    kb: KnowledgeBase, store: Store, settings: Settings
) -> None:
    """A writer holding the lock has stored `x.md` but not committed; an upload of `x.md` must wait and then
    replace it (without the lock, PostgreSQL raised a unique-key error on `kb_documents.name`)."""
    other = Store.open(store_url(store))
    outcome: dict[str, object] = {}
    try:
        with other.transaction() as conn:
            start_generation = knowledge_repo.lock_for_write(conn)
            knowledge_repo.replace_document(conn, _doc_row("x.md"), [_chunk_row("x.md", "first")])
            knowledge_repo.bump_generation(conn)

            def upload() -> None:
                try:
                    outcome["result"] = kb.add_files([("x.md", RUNBOOK)])
                except Exception as exc:  # reported below
                    outcome["error"] = exc

            thread = threading.Thread(target=upload)
            thread.start()
            time.sleep(0.5)
            assert thread.is_alive(), "the upload did not wait for the writer holding the lock"
        thread.join(30)
    finally:
        other.dispose()
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result.documents[0].replaced is True  # type: ignore[attr-defined]
    docs, chunks, generation = _state(store)
    assert (docs, chunks) == (1, result.chunks)  # type: ignore[attr-defined]
    assert generation == start_generation + 2
    assert "signing secret" in kb.search("signing secret", 1)[0].chunk.text


def test_concurrent_writers_and_readers(store: Store, settings: Settings) -> None:
    """Threads with their own stores (as separate processes would) upload, replace and delete the same names
    while others search: no error, no duplicate chunks, one generation bump per write, and every reader's
    index ends up equal to the stored state."""
    stores = [Store.open(store_url(store)) for _ in range(4)]
    kbs = [KnowledgeBase(s, settings) for s in stores]
    _, _, start = _state(store)
    errors: list[BaseException] = []
    writes = [0]
    count_lock = threading.Lock()
    stop = threading.Event()

    def writer(kb: KnowledgeBase, seed: int) -> None:
        try:
            for i in range(6):
                name = f"shared-{(seed + i) % 3}.md"
                kb.add_files([(name, RUNBOOK + f"\n## Step {seed}-{i}\n\nReplay batch {i}.\n".encode())])
                done = 1
                if i % 3 == 2:
                    try:
                        kb.delete(document_id(name))
                        done += 1
                    except Exception as exc:  # NotFound when another writer deleted it first
                        if type(exc).__name__ != "NotFound":
                            raise
                with count_lock:
                    writes[0] += done
        except BaseException as exc:
            errors.append(exc)

    def reader(kb: KnowledgeBase) -> None:
        try:
            while not stop.is_set():
                hits = kb.search("replay batch signing secret", 20)
                assert len({h.chunk.chunk_id for h in hits}) == len(hits)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(kbs[i], i)) for i in range(3)]
    readers = [threading.Thread(target=reader, args=(kbs[3],))]
    try:
        for t in threads + readers:
            t.start()
        for t in threads:
            t.join(120)
        stop.set()
        for t in readers:
            t.join(30)
        assert not errors, errors
        docs, chunks, generation = _state(store)
        assert generation == start + writes[0]
        with store.read() as conn:
            listed = knowledge_repo.list_documents(conn)
        assert docs == len(listed) <= 3
        assert chunks == sum(d.chunk_count for d in listed)
        for kb in kbs:
            assert len(kb.index()) == chunks
    finally:
        for s in stores:
            s.dispose()


def test_nul_bytes_anywhere_are_refused(kb: KnowledgeBase, store: Store) -> None:
    """PostgreSQL text cannot hold NUL: a text file with one past the sniffed head is refused as binary."""
    late_nul = b"# Runbook\n\n" + b"word " * 20_000 + b"\x00tail\n"
    with pytest.raises(UnsupportedMediaType) as refused:
        kb.add_files([("ok.md", RUNBOOK), ("late.md", late_nul)])
    assert refused.value.details["file"] == "late.md"
    with pytest.raises(InvalidInput) as bad_name:
        kb.add_files([("bad\x00name.md", RUNBOOK)])
    assert bad_name.value.details["reason"] == "control_character"
    assert _state(store)[:2] == (0, 0)


def test_embeddings_round_trip_as_bytes(store: Store, settings: Settings) -> None:
    """float32 vectors stored as bytes (bytea on PostgreSQL) come back bit for bit."""
    import numpy as np

    kb = KnowledgeBase(store, settings)
    kb.add_files([("w.md", RUNBOOK)])
    with store.read() as conn:
        ids = [r.id for r in knowledge_repo.iter_chunks(conn)]
    vectors = np.random.default_rng(1).standard_normal((len(ids), 384)).astype("<f4")
    with store.transaction() as conn:
        knowledge_repo.set_embeddings(
            conn, [(i, v.tobytes(), "m") for i, v in zip(ids, vectors, strict=True)]
        )
    with store.read() as conn:
        rows = list(knowledge_repo.iter_chunks(conn))
    for row, vector in zip(rows, vectors, strict=True):
        assert row.embedding_model == "m"
        assert np.array_equal(np.frombuffer(row.embedding or b"", dtype="<f4"), vector)
