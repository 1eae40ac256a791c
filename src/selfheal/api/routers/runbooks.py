"""Runbook knowledge base: upload, list, delete, clear, stats and search."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from selfheal.api.body import read_limited
from selfheal.api.deps import Services, require, services
from selfheal.auth import Principal, Role
from selfheal.errors import Cancelled, InvalidInput, PayloadTooLarge
from selfheal.knowledge.base import KnowledgeBase, KnowledgeStats, UploadResult, knowledge_base
from selfheal.knowledge.index import SearchMode
from selfheal.knowledge.model import SearchHit
from selfheal.records import ms_to_dt
from selfheal.settings import Settings
from selfheal.store.rows import KbDocumentRecord

router = APIRouter(tags=["runbooks"])
"""Mounted at `/runbooks` and, as a deprecated alias kept for existing clients, at `/rag`."""


class StoredDocumentView(BaseModel):
    id: str
    name: str
    title: str
    kind: str
    chunks: int
    replaced: bool


class UploadResponse(BaseModel):
    documents: list[StoredDocumentView]
    chunks: int
    embedded: bool


class DocumentView(BaseModel):
    """A stored runbook (`chunks`: how many chunks it was cut into)."""

    id: str
    name: str
    title: str
    kind: str
    size_bytes: int
    sha256: str
    pages: int | None
    uploaded_by: str
    created_at: datetime
    updated_at: datetime
    chunks: int


class DeletedDocument(BaseModel):
    deleted: str
    """The id of the removed document."""
    chunks: int


class ClearedKnowledge(BaseModel):
    documents: int
    chunks: int


class SearchHitView(BaseModel):
    rank: int
    score: float
    scores: dict[str, float]
    chunk_id: str
    document_id: str
    document: str
    title: str
    section: str
    page: int | None
    start: int
    end: int
    text: str


class SearchResponse(BaseModel):
    query: str
    mode: SearchMode
    hits: list[SearchHitView]


def _kb(svc: Services) -> KnowledgeBase:
    return knowledge_base(svc.store, svc.settings)


def document_view(row: KbDocumentRecord) -> DocumentView:
    return DocumentView(
        id=row.id,
        name=row.name,
        title=row.title,
        kind=row.kind,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        pages=row.pages,
        uploaded_by=row.uploaded_by,
        created_at=ms_to_dt(row.created_ms),
        updated_at=ms_to_dt(row.updated_ms),
        chunks=row.chunk_count,
    )


def hit_view(hit: SearchHit) -> SearchHitView:
    c = hit.chunk
    return SearchHitView(
        rank=hit.rank,
        score=round(hit.score, 6),
        scores={k: round(v, 6) for k, v in hit.parts.items()},
        chunk_id=c.chunk_id,
        document_id=c.document_id,
        document=c.document,
        title=c.title,
        section=c.section or c.title,
        page=c.page,
        start=c.start,
        end=c.end,
        text=c.text,
    )


MAX_UPLOAD_FILES = 100
"""Files in one upload request (a folder of runbooks; more is a second request)."""


def upload_limit(settings: Settings) -> int:
    """Largest upload body: every file at its limit, plus multipart framing; never above max_body_bytes."""
    return min(settings.max_body_bytes, MAX_UPLOAD_FILES * (settings.kb_max_file_bytes + 4096))


async def _read_files(request: Request, svc: Services) -> list[tuple[str | None, bytes]]:
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise InvalidInput(
            "upload files as multipart/form-data in the field `files`",
            {"field": "files", "reason": "not_multipart"},
        )
    # Counted as it streams (chunked bodies declare no length): past the limit the read stops with a 413
    # before anything is spooled; the multipart parser then reads the bytes already in memory.
    request._body = await read_limited(request, upload_limit(svc.settings))
    try:
        form = await request.form(max_files=MAX_UPLOAD_FILES)
    except Exception as exc:  # starlette raises its own parse errors for malformed multipart
        raise InvalidInput(f"malformed multipart body: {exc}", {"field": "files"}) from exc
    uploads = [v for v in form.getlist("files") if isinstance(v, UploadFile)]
    if not uploads:
        raise InvalidInput("no files in the field `files`", {"field": "files", "reason": "empty"})
    limit = svc.settings.kb_max_file_bytes
    files: list[tuple[str | None, bytes]] = []
    try:
        for upload in uploads:
            data = await upload.read(limit + 1)
            if len(data) > limit:
                raise PayloadTooLarge(
                    f"{upload.filename}: file exceeds the per-file limit of {limit} bytes",
                    {"file": upload.filename, "limit": limit},
                )
            files.append((upload.filename, data))
    finally:
        await form.close()
    return files


DISCONNECT_POLL_SECONDS = 0.2
"""How often an upload's request is asked whether its client is still there."""
log = logging.getLogger(__name__)


async def _until_disconnect(
    request: Request,
    add_files: Callable[..., UploadResult],
    files: list[tuple[str | None, bytes]],
    actor: str,
) -> UploadResult:
    """Run the upload's parse, embed and store in a worker thread while watching the connection: when the
    client goes away the worker is told to stop (it checks between files, PDF reading steps and embedding
    batches) and stops with `Cancelled`, nothing stored."""
    gone = threading.Event()

    async def watch() -> None:
        while not gone.is_set():
            if await request.is_disconnected():
                gone.set()
                return
            await asyncio.sleep(DISCONNECT_POLL_SECONDS)

    watcher = asyncio.create_task(watch())
    try:
        return await run_in_threadpool(add_files, files, actor, cancelled=gone.is_set)
    except Cancelled:
        log.info("upload of %d file(s) by %s stopped: the client disconnected", len(files), actor)
        raise
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


@router.post(
    "/upload",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                        },
                        "required": ["files"],
                    }
                }
            },
        }
    },
)
async def upload(
    request: Request, svc: Services = Depends(services), who: Principal = Depends(require(Role.operator))
) -> UploadResponse:
    """Add runbooks (Markdown, text, PDF, HTML; type sniffed from content) as one atomic batch.

    A file with a name already stored replaces that document. Any bad file (empty, too large, broken or
    encrypted PDF, unsupported type) refuses the whole batch with a 4xx naming the file."""
    files = await _read_files(request, svc)
    result = await _until_disconnect(request, _kb(svc).add_files, files, who.name)
    return UploadResponse(
        documents=[StoredDocumentView(**vars(d)) for d in result.documents],
        chunks=result.chunks,
        embedded=result.embedded,
    )


@router.get("/stats")
async def stats(
    svc: Services = Depends(services), _: Principal = Depends(require(Role.viewer))
) -> KnowledgeStats:
    """Documents, chunks, index kind and embedding model."""
    return await run_in_threadpool(_kb(svc).stats)


@router.get("/documents")
async def documents(
    svc: Services = Depends(services), _: Principal = Depends(require(Role.viewer))
) -> list[DocumentView]:
    """Stored runbooks, by name."""
    rows = await run_in_threadpool(_kb(svc).documents)
    return [document_view(r) for r in rows]


@router.delete("/documents/{document_id}")
async def delete_document(
    document_id: str, svc: Services = Depends(services), who: Principal = Depends(require(Role.operator))
) -> DeletedDocument:
    """Remove one runbook and its chunks (audited)."""
    removed = await run_in_threadpool(_kb(svc).delete, document_id, who.name)
    return DeletedDocument(deleted=document_id, chunks=removed)


@router.post("/clear")
async def clear(
    svc: Services = Depends(services), who: Principal = Depends(require(Role.admin))
) -> ClearedKnowledge:
    """Remove every runbook (audited)."""
    docs, chunks = await run_in_threadpool(_kb(svc).clear, who.name)
    return ClearedKnowledge(documents=docs, chunks=chunks)


@router.get("/search")
async def search(
    q: str = Query(..., min_length=1, max_length=4000, description="What to look for"),
    top: int = Query(10, ge=1, le=100),
    mode: SearchMode = Query(SearchMode.hybrid, description="hybrid, lexical or dense"),
    svc: Services = Depends(services),
    _: Principal = Depends(require(Role.viewer)),
) -> SearchResponse:
    """Ranked runbook chunks with their document, section, page, offsets and scores."""
    hits = await run_in_threadpool(_kb(svc).search, q, top, mode)
    return SearchResponse(query=q, mode=mode, hits=[hit_view(h) for h in hits])
