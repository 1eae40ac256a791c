"""The knowledge base service: upload, list, delete, clear and search runbooks stored in the database.

The database is the source of truth (documents, chunks, vectors). Each process keeps an in-memory
`HybridIndex` and rebuilds it, without re-embedding, when the stored generation moves on.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from selfheal import audit
from selfheal.embedding import DenseEmbedder, load_dense_embedder
from selfheal.errors import Cancelled, InvalidInput, NotFound
from selfheal.knowledge.budget import CancelCheck
from selfheal.knowledge.chunking import chunk_document
from selfheal.knowledge.index import HybridIndex, SearchMode, dense_text
from selfheal.knowledge.loaders import PdfBudget, load_document
from selfheal.knowledge.model import IndexedChunk, LoadedDocument, SearchHit
from selfheal.reason.model import RunbookPassage
from selfheal.records import Record, dt_to_ms, utcnow
from selfheal.settings import Settings
from selfheal.store import Store, knowledge_repo
from selfheal.store.rows import KbChunkRecord, KbDocumentRecord

ProgressCallback = Callable[[int, int], None]


def document_id(name: str) -> str:
    """Stable id of a document name: re-uploading a name replaces the same document."""
    return "doc_" + hashlib.sha256(name.encode()).hexdigest()[:20]


def clean_name(raw: str | None) -> str:
    """The stored name of an uploaded file: its relative path with `/` separators, so `ops/deploy.md` and
    `payments/deploy.md` stay two documents; a path leaving its folder (`..`) or starting at the root is
    refused rather than silently cut to its last part."""
    parts = [p.strip() for p in (raw or "").replace("\\", "/").split("/")]
    if ".." in parts or (raw or "").startswith(("/", "\\")):
        raise InvalidInput(
            f"file name {raw!r} leaves its folder; name files by a relative path",
            {"field": "files", "reason": "path_traversal"},
        )
    name = "/".join(p for p in parts if p and p != ".")
    if not name:
        raise InvalidInput("every file needs a file name", {"field": "files", "reason": "missing_name"})
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidInput(
            "file names cannot hold control characters", {"field": "files", "reason": "control_character"}
        )
    if len(name) > 255:
        raise InvalidInput(f"file name too long: {name[:40]}...", {"field": "files", "file": name[:255]})
    return name


INDEX_KINDS = {
    "none": "lexical: BM25F",
    "exact": "hybrid: BM25F + dense (exact)",
    "ivf": "hybrid: BM25F + dense (ivf, approximate)",
}
VECTOR_SEARCH = {
    "none": "none (lexical only)",
    "exact": "exact (in-process matrix-vector product)",
    "ivf": "ivf (in-process coarse lists, approximate)",
}
"""What `/runbooks/stats` reports for each vector index. Vectors are searched in process on every database: the
server's pgvector extension, when present, is reported (`pgvector_available`) but not used."""


class KnowledgeStats(Record):
    """What the knowledge base holds and how it is searched (`GET /runbooks/stats`, `selfheal runbooks stats`)."""

    documents: int
    chunks: int
    index_kind: str
    embedding_model: str | None
    embedded_chunks: int
    vector_index: str
    vector_search: str
    pgvector_available: bool
    pgvector_used: bool
    database: str
    generation: int
    """The stored generation this process's index was built from (-1 before the first build)."""


@dataclass(frozen=True)
class StoredDocument:
    id: str
    name: str
    title: str
    kind: str
    chunks: int
    replaced: bool


@dataclass(frozen=True)
class UploadResult:
    documents: tuple[StoredDocument, ...]
    chunks: int
    embedded: bool


@dataclass
class _Prepared:
    doc: LoadedDocument
    rows: list[dict[str, Any]] = field(default_factory=list)
    indexed: list[IndexedChunk] = field(default_factory=list)


class KnowledgeBase:
    """Runbooks in `store`, searchable with BM25F + (optional) dense vectors."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        embedder: DenseEmbedder | None = None,
        embedder_loader: Callable[[], DenseEmbedder | None] | None = None,
    ) -> None:
        """`embedder_loader`, when given, is called on first need instead of passing `embedder` (so an empty
        knowledge base never loads the model)."""
        self.store = store
        self.settings = settings
        self._embedder = embedder
        self._embedder_loader = embedder_loader
        self._lock = threading.RLock()
        self._index: HybridIndex | None = None
        self._generation = -1

    @property
    def embedder(self) -> DenseEmbedder | None:
        if self._embedder_loader is not None:
            self._embedder = self._embedder_loader()
            self._embedder_loader = None
        return self._embedder

    # --- writing ------------------------------------------------------------------------------

    def add_files(
        self,
        files: Sequence[tuple[str | None, bytes]],
        actor: str = "system",
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
    ) -> UploadResult:
        """Load, chunk, embed and store `files` as one batch: any bad file refuses the whole batch.

        `cancelled` is asked between files, inside a PDF's reading and between embedding batches, and once
        more before anything is written: when it turns true the work stops with `Cancelled`, nothing stored
        (an upload whose client disconnected)."""
        if not files:
            raise InvalidInput("no files given", {"field": "files", "reason": "empty"})
        names = [clean_name(name) for name, _ in files]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidInput(
                f"the batch names the same file twice: {', '.join(duplicates)}",
                {"field": "files", "duplicates": duplicates},
            )
        prepared: list[_Prepared] = []
        for name, (_, data) in zip(names, files, strict=True):
            _stop_if(cancelled)
            prepared.append(self._prepare(name, data, cancelled))
        all_chunks = [c for p in prepared for c in p.indexed]
        vectors = self._embed(all_chunks, progress, cancelled=cancelled)
        _stop_if(cancelled)
        now = dt_to_ms(utcnow())
        offset = 0
        stored: list[StoredDocument] = []
        with self.store.transaction() as conn:
            knowledge_repo.lock_for_write(conn)
            for item in prepared:
                rows = item.rows
                if vectors is not None and self.embedder is not None:
                    for j, row in enumerate(rows):
                        row["embedding"] = vectors[offset + j].astype("<f4").tobytes()
                        row["embedding_model"] = self.embedder.name
                offset += len(rows)
                doc = item.doc
                replaced = knowledge_repo.replace_document(
                    conn,
                    {
                        "id": document_id(doc.name),
                        "name": doc.name,
                        "title": doc.title,
                        "kind": doc.kind.value,
                        "size_bytes": doc.size_bytes,
                        "sha256": doc.sha256,
                        "pages": doc.pages,
                        "chunk_count": len(rows),
                        "created_ms": now,
                        "updated_ms": now,
                        "uploaded_by": actor,
                    },
                    rows,
                )
                audit.record(
                    conn,
                    actor=actor,
                    action="runbook.replace" if replaced else "runbook.upload",
                    target_type="runbook",
                    target_id=document_id(doc.name),
                    after={
                        "name": doc.name,
                        "sha256": doc.sha256,
                        "size_bytes": doc.size_bytes,
                        "chunks": len(rows),
                    },
                )
                stored.append(
                    StoredDocument(
                        document_id(doc.name), doc.name, doc.title, doc.kind.value, len(rows), replaced
                    )
                )
            knowledge_repo.bump_generation(conn)
        return UploadResult(tuple(stored), len(all_chunks), vectors is not None)

    def _prepare(self, name: str, data: bytes, cancelled: CancelCheck | None = None) -> _Prepared:
        doc = load_document(name, data, self.settings.kb_max_file_bytes, pdf_budget(self.settings), cancelled)
        doc_id = document_id(doc.name)
        item = _Prepared(doc)
        for chunk in chunk_document(doc, self.settings.kb_chunk_chars):
            chunk_id = f"{doc_id}:{chunk.ordinal:05d}"
            item.rows.append(
                {
                    "id": chunk_id,
                    "document_id": doc_id,
                    "ordinal": chunk.ordinal,
                    "heading_path": list(chunk.heading_path),
                    "page": chunk.page,
                    "start_char": chunk.start,
                    "end_char": chunk.end,
                    "text": chunk.text,
                    "embedding": None,
                    "embedding_model": None,
                }
            )
            item.indexed.append(
                IndexedChunk(
                    chunk_id,
                    doc_id,
                    doc.name,
                    doc.title,
                    chunk.ordinal,
                    chunk.text,
                    chunk.heading_path,
                    chunk.start,
                    chunk.end,
                    chunk.page,
                )
            )
        return item

    def _embed(
        self,
        chunks: Sequence[IndexedChunk],
        progress: ProgressCallback | None = None,
        batch: int = 64,
        cancelled: CancelCheck | None = None,
    ) -> npt.NDArray[np.float32] | None:
        if self.embedder is None:
            if progress:
                progress(len(chunks), len(chunks))
            return None
        texts = [dense_text(c) for c in chunks]
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        # Batches of similar length across the whole upload: a batch is padded to its longest text, so
        # mixing a heading-only chunk with a 1,200-character one wastes most of the batch's compute.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        deadline = time.monotonic() + self.settings.kb_embed_budget_seconds
        for start in range(0, len(texts), batch):
            _stop_if(cancelled)
            if time.monotonic() > deadline:
                raise InvalidInput(
                    f"embedding this upload's {len(texts)} chunks takes longer than its budget of "
                    f"{self.settings.kb_embed_budget_seconds:g} s; nothing was stored: upload fewer or "
                    "smaller files per request",
                    {"reason": "too_costly", "chunks": len(texts), "embedded": start},
                )
            ids = order[start : start + batch]
            vectors[ids] = self.embedder.embed([texts[i] for i in ids], batch_size=batch)
            if progress:
                progress(min(start + batch, len(texts)), len(texts))
        return vectors

    def delete(self, doc_id: str, actor: str = "system") -> int:
        """Remove one document (audited); returns the number of chunks removed."""
        with self.store.transaction() as conn:
            knowledge_repo.lock_for_write(conn)
            removed = knowledge_repo.delete_document(conn, doc_id)
            if removed < 0:
                raise NotFound(f"no document with id {doc_id!r}", {"field": "id", "id": doc_id})
            audit.record(
                conn,
                actor=actor,
                action="runbook.delete",
                target_type="runbook",
                target_id=doc_id,
                after={"chunks": removed},
            )
            knowledge_repo.bump_generation(conn)
        return removed

    def clear(self, actor: str = "system") -> tuple[int, int]:
        """Remove every document (audited); returns (documents, chunks) removed."""
        with self.store.transaction() as conn:
            knowledge_repo.lock_for_write(conn)
            removed = knowledge_repo.clear(conn)
            audit.record(
                conn,
                actor=actor,
                action="runbook.clear",
                target_type="runbook",
                after={"documents": removed[0], "chunks": removed[1]},
            )
            knowledge_repo.bump_generation(conn)
        return removed

    # --- reading ------------------------------------------------------------------------------

    def documents(self) -> list[KbDocumentRecord]:
        with self.store.read() as conn:
            return knowledge_repo.list_documents(conn)

    def stats(self) -> KnowledgeStats:
        index = self.index()
        embedder = self.embedder
        with self.store.read() as conn:
            docs, chunks = knowledge_repo.counts(conn)
            models = knowledge_repo.embedding_models(conn)
            pgvector = knowledge_repo.pgvector_available(conn)
        vector_index = "none" if embedder is None else ("ivf" if index.ivf is not None else "exact")
        return KnowledgeStats(
            documents=docs,
            chunks=chunks,
            index_kind=INDEX_KINDS[vector_index],
            embedding_model=embedder.name if embedder else None,
            embedded_chunks=sum(n for m, n in models.items() if m is not None),
            vector_index=vector_index,
            vector_search=VECTOR_SEARCH[vector_index],
            pgvector_available=pgvector,
            pgvector_used=False,
            database=self.store.dialect,
            generation=self._generation,
        )

    def index(self) -> HybridIndex:
        """The in-memory index, rebuilt from the database if another write happened since it was built."""
        with self._lock:
            with self.store.snapshot() as conn:
                current = knowledge_repo.generation(conn)
                if self._index is not None and current == self._generation:
                    return self._index
                rows = list(knowledge_repo.iter_chunks(conn))
            self._index = self._build(rows)
            self._generation = current
            return self._index

    def _build(self, rows: list[KbChunkRecord]) -> HybridIndex:
        chunks = [
            IndexedChunk(
                r.id,
                r.document_id,
                r.name,
                r.title,
                r.ordinal,
                r.text,
                r.heading_path,
                r.start_char,
                r.end_char,
                r.page,
            )
            for r in rows
        ]
        vectors: npt.NDArray[np.float32] | None = None
        if rows and self.embedder is not None:
            dim = self.embedder.dim
            vectors = np.zeros((len(rows), dim), dtype=np.float32)
            missing: list[int] = []
            for i, r in enumerate(rows):
                blob = r.embedding
                if r.embedding_model == self.embedder.name and blob and len(blob) == 4 * dim:
                    vectors[i] = np.frombuffer(blob, dtype="<f4")
                else:
                    missing.append(i)
            if missing:
                # Chunks stored without vectors (uploaded lexical-only) or by another model: embed once, keep.
                fresh = self._embed([chunks[i] for i in missing])
                assert fresh is not None
                vectors[missing] = fresh
                with self.store.transaction() as conn:
                    knowledge_repo.set_embeddings(
                        conn,
                        [
                            (chunks[i].chunk_id, fresh[j].astype("<f4").tobytes(), self.embedder.name)
                            for j, i in enumerate(missing)
                        ],
                    )
        return HybridIndex(
            chunks,
            vectors,
            self.embedder if rows else None,
            dense_weight=self.settings.kb_dense_weight,
            document_share=self.settings.kb_document_share,
        )

    def search(self, query: str, top: int = 10, mode: SearchMode = SearchMode.hybrid) -> list[SearchHit]:
        if not query.strip():
            raise InvalidInput("the query is empty", {"field": "q", "reason": "empty"})
        return self.index().search(query, top, mode)

    def passages(self, query: str, top: int) -> tuple[RunbookPassage, ...]:
        """Search results as citable passages (the per-incident retriever interface)."""
        return tuple(to_passage(hit) for hit in self.search(query, top))


def pdf_budget(settings: Settings) -> PdfBudget:
    """The PDF reading budget of `settings` (`kb_pdf_budget_seconds`, `kb_pdf_page_budget_seconds`)."""
    return PdfBudget(settings.kb_pdf_budget_seconds, settings.kb_pdf_page_budget_seconds)


def _stop_if(cancelled: CancelCheck | None) -> None:
    if cancelled is not None and cancelled():
        raise Cancelled(
            "the upload was stopped: its client went away; nothing was stored", {"reason": "cancelled"}
        )


def to_passage(hit: SearchHit) -> RunbookPassage:
    c = hit.chunk
    section = c.section or c.title
    return RunbookPassage(
        chunk_id=c.chunk_id, document=c.document, section=section, page=c.page, text=c.text, score=hit.score
    )


_REGISTRY: weakref.WeakKeyDictionary[Store, KnowledgeBase] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def knowledge_base(store: Store, settings: Settings) -> KnowledgeBase:
    """The process-wide knowledge base of `store` (one in-memory index per store)."""
    with _REGISTRY_LOCK:
        kb = _REGISTRY.get(store)
        if kb is None:
            enabled = settings.dense_embeddings
            kb = KnowledgeBase(store, settings, embedder_loader=lambda: load_dense_embedder(enabled))
            _REGISTRY[store] = kb
        return kb
