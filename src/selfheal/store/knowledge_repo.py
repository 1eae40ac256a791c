"""Repository of the runbook knowledge base.

Writers call `lock_for_write` first and `bump_generation` last, in one transaction: the lock on the single
`kb_state` row serialises knowledge-base writers on PostgreSQL (SQLite's `BEGIN IMMEDIATE` already does), so
a replace-by-name never races another upload of the same name into a unique-key error, and no generation
bump is lost to a concurrent writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from selfheal.records import dt_to_ms, utcnow
from selfheal.store.knowledge_tables import KbChunkRow, KbDocumentRow, KbStateRow
from selfheal.store.rows import KbChunkRecord, KbDocumentRecord
from selfheal.store.tables import table

DOCS = table(KbDocumentRow)
CHUNKS = table(KbChunkRow)
STATE = table(KbStateRow)

DOCUMENT_COLUMNS = tuple(KbDocumentRecord.model_fields)


def generation(conn: Connection) -> int:
    value = conn.execute(select(STATE.c.generation).where(STATE.c.id == 1)).scalar()
    return int(value or 0)


def lock_for_write(conn: Connection) -> int:
    """Take the knowledge base's write lock for the rest of the transaction; returns the current generation.

    Creates the state row if needed (a concurrent creator is not an error), then locks it (`FOR UPDATE`, a
    no-op on SQLite, whose writers are serialised by `BEGIN IMMEDIATE`).
    """
    values = {"id": 1, "generation": 0, "updated_ms": dt_to_ms(utcnow())}
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(STATE).values(values).on_conflict_do_nothing(index_elements=["id"]))
    elif conn.dialect.name == "sqlite":
        conn.execute(sqlite.insert(STATE).values(values).on_conflict_do_nothing(index_elements=["id"]))
    elif conn.execute(select(STATE.c.id).where(STATE.c.id == 1)).first() is None:
        conn.execute(insert(STATE).values(values))
    current = conn.execute(select(STATE.c.generation).where(STATE.c.id == 1).with_for_update()).scalar()
    return int(current or 0)


def bump_generation(conn: Connection) -> int:
    """Advance the generation (atomically, in SQL); call after `lock_for_write` in the same transaction."""
    now = dt_to_ms(utcnow())
    conn.execute(
        update(STATE).where(STATE.c.id == 1).values(generation=STATE.c.generation + 1, updated_ms=now)
    )
    return generation(conn)


def find_document_by_name(conn: Connection, name: str) -> KbDocumentRecord | None:
    row = conn.execute(select(*[DOCS.c[c] for c in DOCUMENT_COLUMNS]).where(DOCS.c.name == name)).first()
    return KbDocumentRecord.model_validate(row._mapping) if row else None


def get_document(conn: Connection, document_id: str) -> KbDocumentRecord | None:
    row = conn.execute(select(*[DOCS.c[c] for c in DOCUMENT_COLUMNS]).where(DOCS.c.id == document_id)).first()
    return KbDocumentRecord.model_validate(row._mapping) if row else None


def list_documents(conn: Connection) -> list[KbDocumentRecord]:
    rows = conn.execute(select(*[DOCS.c[c] for c in DOCUMENT_COLUMNS]).order_by(DOCS.c.name))
    return [KbDocumentRecord.model_validate(r._mapping) for r in rows]


def replace_document(conn: Connection, document: dict[str, Any], chunks: Sequence[dict[str, Any]]) -> bool:
    """Insert `document` with `chunks`, replacing any document of the same name and its chunks.

    Returns True when a document was replaced. The caller owns the transaction.
    """
    existing = find_document_by_name(conn, document["name"])
    if existing is not None:
        conn.execute(delete(CHUNKS).where(CHUNKS.c.document_id == existing.id))
        conn.execute(delete(DOCS).where(DOCS.c.id == existing.id))
        document = {**document, "created_ms": existing.created_ms}
    conn.execute(insert(DOCS), [document])
    for start in range(0, len(chunks), 1000):
        conn.execute(insert(CHUNKS), list(chunks[start : start + 1000]))
    return existing is not None


def delete_document(conn: Connection, document_id: str) -> int:
    """Delete a document and its chunks; returns the number of chunks removed (-1 if there was none)."""
    if get_document(conn, document_id) is None:
        return -1
    removed = conn.execute(delete(CHUNKS).where(CHUNKS.c.document_id == document_id)).rowcount
    conn.execute(delete(DOCS).where(DOCS.c.id == document_id))
    return int(removed or 0)


def clear(conn: Connection) -> tuple[int, int]:
    """Delete everything; returns (documents, chunks) removed."""
    docs, chunks = counts(conn)
    conn.execute(delete(CHUNKS))
    conn.execute(delete(DOCS))
    return docs, chunks


def counts(conn: Connection) -> tuple[int, int]:
    docs = conn.execute(select(func.count()).select_from(DOCS)).scalar() or 0
    chunks = conn.execute(select(func.count()).select_from(CHUNKS)).scalar() or 0
    return int(docs), int(chunks)


def embedding_models(conn: Connection) -> dict[str | None, int]:
    """How many chunks carry vectors of each model (None: no vector)."""
    rows = conn.execute(select(CHUNKS.c.embedding_model, func.count()).group_by(CHUNKS.c.embedding_model))
    return {r[0]: int(r[1]) for r in rows}


def iter_chunks(conn: Connection, batch: int = 5000) -> Iterator[KbChunkRecord]:
    """Every chunk joined with its document's name and title, in (document name, ordinal) order.

    Built with `model_construct` (no per-row validation): an index rebuild reads every chunk of the knowledge
    base, and the columns are typed by the tables. Vectors come back as `bytes` (PostgreSQL may hand out a
    memoryview)."""
    query = (
        select(
            CHUNKS.c.id,
            CHUNKS.c.document_id,
            DOCS.c.name,
            DOCS.c.title,
            CHUNKS.c.ordinal,
            CHUNKS.c.text,
            CHUNKS.c.heading_path,
            CHUNKS.c.page,
            CHUNKS.c.start_char,
            CHUNKS.c.end_char,
            CHUNKS.c.embedding,
            CHUNKS.c.embedding_model,
        )
        .join(DOCS, DOCS.c.id == CHUNKS.c.document_id)
        .order_by(DOCS.c.name, CHUNKS.c.ordinal)
    )
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    for row in result:
        blob = row.embedding
        yield KbChunkRecord.model_construct(
            id=row.id,
            document_id=row.document_id,
            name=row.name,
            title=row.title,
            ordinal=row.ordinal,
            text=row.text,
            heading_path=tuple(row.heading_path or ()),
            page=row.page,
            start_char=row.start_char,
            end_char=row.end_char,
            embedding=None if blob is None else bytes(blob),
            embedding_model=row.embedding_model,
        )


def set_embeddings(conn: Connection, vectors: Sequence[tuple[str, bytes, str]]) -> None:
    """Store (chunk id, float32 bytes, model) for existing chunks (ids no longer stored are skipped)."""
    if not vectors:
        return
    statement = (
        update(CHUNKS)
        .where(CHUNKS.c.id == bindparam("chunk_id"))
        .values(embedding=bindparam("blob"), embedding_model=bindparam("model"))
    )
    params = [{"chunk_id": c, "blob": b, "model": m} for c, b, m in vectors]
    for start in range(0, len(params), 1000):
        conn.execute(statement, params[start : start + 1000])


def pgvector_available(conn: Connection) -> bool:
    """Whether the PostgreSQL server offers the `vector` extension (always False elsewhere)."""
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first()
    return found is not None
