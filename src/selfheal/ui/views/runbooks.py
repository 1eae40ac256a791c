"""Knowledge: the runbooks the agent cites. Upload, look inside, search, delete, clear."""

from __future__ import annotations

from typing import Any

import streamlit as st

from selfheal.auth import Role
from selfheal.client import ApiError
from selfheal.ui import common as ui
from selfheal.ui import format as fmt

CONTENT_TYPES = {
    "md": "text/markdown",
    "markdown": "text/markdown",
    "txt": "text/plain",
    "pdf": "application/pdf",
}


def _pick(item: dict[str, Any], *names: str, default: Any = None) -> Any:
    """The first field present, so the page reads any of the server's spellings."""
    for name in names:
        if item.get(name) is not None:
            return item[name]
    return default


def _stats() -> bool:
    stats = ui.call(lambda: ui.client().runbook_stats(), "Knowledge base")
    if stats is None:
        return False
    cols = st.columns(3)
    cols[0].metric("Documents", fmt.count(_pick(stats, "documents", "document_count", default=0)))
    cols[1].metric("Chunks", fmt.count(_pick(stats, "chunks", "chunk_count", default=0)))
    cols[2].metric("Embedded chunks", fmt.count(_pick(stats, "embedded_chunks", default=0)))
    st.caption(
        f"Index: {_pick(stats, 'index_kind', 'index', default='n/a')} · embedding model: "
        f"{_pick(stats, 'embedding_model', 'model', default='none (lexical only)')}"
    )
    ui.raw_json("Raw stats (JSON)", stats)
    return True


UPLOAD_TYPES = ["md", "markdown", "txt", "text", "rst", "html", "htm", "pdf"]
"""What the server's loaders read (`selfheal.knowledge.loaders`; `selfheal runbooks add` takes the same)."""


def _max_file_mb() -> int:
    """The server's per-file limit (SELFHEAL_KB_MAX_FILE_BYTES) in whole MB; `selfheal ui` gives Streamlit the
    same limit (server.maxUploadSize), so the uploader refuses a larger file before sending it."""
    from selfheal.settings import Settings

    return max(1, Settings().kb_max_file_bytes // (1024 * 1024))


def _upload(may: bool, why: str) -> None:
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            f"Runbooks (Markdown, text, reStructuredText, HTML or PDF; up to {_max_file_mb()} MB per file)",
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
        )
        sent = st.form_submit_button(
            "Add to knowledge base", disabled=not may, help=why or None, type="primary"
        )
    if not may:
        st.caption(f"Upload is disabled: {why}")
    if sent and files:
        payload = [
            (
                f.name,
                f.getvalue(),
                CONTENT_TYPES.get(f.name.rsplit(".", 1)[-1].lower(), "application/octet-stream"),
            )
            for f in files
        ]
        answer = ui.call(lambda: ui.client().runbook_upload(payload), "Upload")
        if answer is not None:
            docs = answer if isinstance(answer, list) else _pick(answer, "documents", default=[answer])
            st.success(f"Uploaded {len(payload)} file(s).")
            for d in docs if isinstance(docs, list) else []:
                if isinstance(d, dict):
                    st.caption(
                        f"{_pick(d, 'name', 'title', 'document', default='?')}: "
                        f"{fmt.count(_pick(d, 'chunks', 'chunk_count', default=0), 'chunks')}"
                    )
    elif sent:
        st.warning("Choose at least one file first.")


def _search() -> None:
    query = st.text_input("Search the runbooks", key="kb_query", placeholder="e.g. webhook 403 signature")
    if not query.strip():
        return
    hits = ui.call(lambda: ui.client().runbook_search(query.strip()), "Search")
    if hits is None:
        return
    results = hits if isinstance(hits, list) else _pick(hits, "results", "hits", default=[])
    if not results:
        st.info("Nothing matches.")
    for hit in results:
        with st.container(border=True):
            doc = _pick(hit, "document", "document_name", "title", default="?")
            section = _pick(hit, "section", default="")
            page = hit.get("page")
            score = hit.get("score")
            st.markdown(
                f"**{doc}**{' § ' + section if section else ''}{f' · page {page}' if page else ''}"
                + (f" · score {score:.3f}" if isinstance(score, (int, float)) else "")
            )
            text = str(hit.get("text", ""))
            st.write(text[:600] + ("…" if len(text) > 600 else ""))


def _documents(may_delete: bool, why_delete: str) -> None:
    docs = ui.call(lambda: ui.client().runbook_documents(), "Documents")
    if docs is None:
        return
    items = docs if isinstance(docs, list) else _pick(docs, "documents", default=[])
    if not items:
        st.info("No documents yet. Upload runbooks above.")
        return
    for doc in items:
        doc_id = str(_pick(doc, "id", "document_id", default=""))
        name = _pick(doc, "name", "title", default=doc_id)
        c1, c2 = st.columns([5, 1])
        size = _pick(doc, "size_bytes", "bytes")
        c1.markdown(
            f"**{name}** · {_pick(doc, 'kind', default='')} · {fmt.count(_pick(doc, 'chunks', 'chunk_count', default=0), 'chunks')}"
            + (f" · {fmt.count(size / 1024)} KB" if isinstance(size, (int, float)) else "")
            + (
                f" · added {ui.when(_pick(doc, 'uploaded_at', 'created_at'))}"
                if _pick(doc, "uploaded_at", "created_at")
                else ""
            )
        )
        c2.button(
            "Delete",
            key=f"del_{doc_id}",
            disabled=not may_delete,
            help=why_delete or None,
            on_click=_delete,
            args=(doc_id, str(name)),
        )


def _delete(doc_id: str, name: str) -> None:
    try:
        ui.client().runbook_delete(doc_id)
    except ApiError as exc:
        st.session_state["kb_message"] = ("error", f"Delete {name}: {exc.message}", exc.hint)
        return
    st.session_state["kb_message"] = ("success", f"Deleted {name}.", "")


def _do_clear() -> None:
    try:
        ui.client().runbook_clear()
    except ApiError as exc:
        st.session_state["kb_message"] = ("error", f"Clear: {exc.message}", exc.hint)
        return
    st.session_state["kb_clear_sure"] = False
    st.session_state["kb_message"] = ("success", "The knowledge base is empty.", "")


def _clear(may: bool, why: str) -> None:
    with st.expander("Clear the whole knowledge base"):
        st.warning("This removes every document and chunk. Incidents keep the citations they already have.")
        sure = st.checkbox("Yes, remove every document", key="kb_clear_sure", disabled=not may)
        st.button("Clear knowledge base", disabled=not (may and sure), help=why or None, on_click=_do_clear)
        if not may:
            st.caption(f"Disabled: {why}")


def render() -> None:
    st.title("Runbooks")
    message = st.session_state.pop("kb_message", None)
    if message:
        kind, text, hint = message
        (st.success if kind == "success" else st.error)(text)
        if hint:
            st.caption(f"How to fix it: {hint}")
    if not _stats():
        return
    may_upload, why_upload = ui.permission(Role.operator)
    may_clear, why_clear = ui.permission(Role.admin)
    _upload(may_upload, why_upload)
    _search()
    st.subheader("Documents")
    _documents(may_upload, why_upload)
    _clear(may_clear, why_clear)


render()
