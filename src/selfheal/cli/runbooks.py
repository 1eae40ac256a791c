"""`selfheal runbooks ...` (alias `kb`): add runbooks to the knowledge base and query it.

Through the API by default (`--api`, `--api-key`, or SELFHEAL_API_URL / SELFHEAL_API_KEY): uploads need an
operator key, `clear` an admin key. `--database URL` works on a database directly instead (bootstrap, e.g.
before the API runs); exit code 1 when the API or the knowledge base refuses, 2 for wrong usage only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from selfheal.cli.remote import ApiKeyOption, ApiOption, api_client, report
from selfheal.errors import SelfhealError

if TYPE_CHECKING:
    from selfheal.knowledge.base import KnowledgeBase

RUNBOOK_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text", ".pdf", ".html", ".htm", ".rst"})
SEARCH_MODES = ("hybrid", "lexical", "dense")
CONTENT_TYPES = {".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html", ".md": "text/markdown"}

runbooks_app = typer.Typer(
    help="Runbook knowledge base: add, search, list, delete, clear, starter.", no_args_is_help=True
)
_err = Console(stderr=True)
DbOption = Annotated[
    str | None,
    typer.Option(
        "--database", "--db", help="Work on this database URL directly instead of through the API (bootstrap)"
    ),
]


def register(app: typer.Typer) -> None:
    """Mount the `runbooks` commands on the main CLI; `kb` stays as a hidden alias for existing scripts."""
    app.add_typer(runbooks_app, name="runbooks")
    app.add_typer(runbooks_app, name="kb", hidden=True)


def _open(db: str) -> KnowledgeBase:
    from selfheal.knowledge.base import knowledge_base
    from selfheal.settings import Settings
    from selfheal.store import Store

    settings = Settings(database_url=db)
    return knowledge_base(Store.open(settings.resolved_database_url()), settings)


def _content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix.lower(), "text/plain")


def collect_files(paths: list[Path]) -> list[Path]:
    """Files named directly, plus runbook-like files (by suffix) found under folders, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in RUNBOOK_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise typer.BadParameter(f"{path} does not exist", param_hint="PATH")
    return found


def _fail(exc: SelfhealError) -> None:
    report(exc)
    raise typer.Exit(1)


def _read(files: list[Path]) -> list[tuple[str, bytes]]:
    batch: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for path in files:
        if path.name in seen:
            _err.print(f"[yellow]skipped[/yellow] {path}: another file named {path.name} comes first")
            continue
        seen.add(path.name)
        batch.append((path.name, path.read_bytes()))
    return batch


def _add_direct(db: str, batch: list[tuple[str, bytes]], skip_bad: bool) -> dict[str, Any]:
    from selfheal.knowledge.base import pdf_budget
    from selfheal.knowledge.loaders import load_document

    kb = _open(db)
    if skip_bad:
        kept = []
        for name, data in batch:
            try:
                load_document(name, data, kb.settings.kb_max_file_bytes, pdf_budget(kb.settings))
            except SelfhealError as exc:
                _err.print(f"[yellow]skipped[/yellow] {name}: {exc.message}")
                continue
            kept.append((name, data))
        batch = kept
    if not batch:
        raise typer.Exit(1)
    files: list[tuple[str | None, bytes]] = list(batch)
    try:
        result = kb.add_files(files, actor="cli")
    except SelfhealError as exc:
        _fail(exc)
        raise
    return {
        "documents": [vars(d) for d in result.documents],
        "chunks": result.chunks,
        "embedded": result.embedded,
    }


def _add_remote(
    api: str | None, api_key: str | None, batch: list[tuple[str, bytes]], skip_bad: bool
) -> dict[str, Any]:
    from selfheal.client import ApiError

    with api_client(api, api_key) as client:
        if not skip_bad:
            return client.runbook_upload((n, d, _content_type(n)) for n, d in batch)
        answers = []
        for name, data in batch:  # one by one: a refused file does not refuse the others
            try:
                answers.append(client.runbook_upload([(name, data, _content_type(name))]))
            except ApiError as exc:
                if exc.status is None or exc.status >= 500 or exc.status in (401, 403):
                    raise
                _err.print(f"[yellow]skipped[/yellow] {name}: {exc.message}")
    if not answers:
        raise typer.Exit(1)
    return {
        "documents": [d for a in answers for d in a["documents"]],
        "chunks": sum(a["chunks"] for a in answers),
        "embedded": all(a["embedded"] for a in answers),
    }


@runbooks_app.command("add")
def add(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively)")],
    db: DbOption = None,
    skip_bad: Annotated[
        bool, typer.Option(help="Skip files that are refused instead of adding nothing")
    ] = False,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Add runbooks (Markdown, text, PDF, HTML). Re-adding a file name replaces that document."""
    files = collect_files(paths)
    if not files:
        _err.print("no runbook files found")
        raise typer.Exit(1)
    batch = _read(files)
    result = _add_direct(db, batch, skip_bad) if db else _add_remote(api, api_key, batch, skip_bad)
    replaced = sum(bool(d["replaced"]) for d in result["documents"])
    _err.print(
        f"added {len(result['documents'])} documents ({replaced} replaced), {result['chunks']} chunks, "
        f"{'with' if result['embedded'] else 'without'} dense vectors"
    )


def _read_queries(path: Path) -> list[tuple[str, str]]:
    queries: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            queries.append((str(item.get("qid", number)), str(item["query"])))
        except (json.JSONDecodeError, KeyError, AttributeError) as exc:
            raise typer.BadParameter(
                f'line {number}: expected {{"qid", "query"}} ({exc})', param_hint="--queries"
            ) from exc
    return queries


def _hits_direct(db: str, todo: list[tuple[str, str]], top: int, mode: str) -> list[list[dict[str, Any]]]:
    from selfheal.knowledge.index import SearchMode

    def view(h: Any) -> dict[str, Any]:
        c = h.chunk
        return {
            "rank": h.rank,
            "score": round(h.score, 6),
            "chunk_id": c.chunk_id,
            "document": c.document,
            "section": c.section or c.title,
            "page": c.page,
            "text": c.text,
        }

    kb = _open(db)
    try:
        return [[view(h) for h in kb.search(text, top, SearchMode(mode))] for _, text in todo]
    except SelfhealError as exc:
        _fail(exc)
        raise


def _hits_remote(
    api: str | None, api_key: str | None, todo: list[tuple[str, str]], top: int, mode: str
) -> list[list[dict[str, Any]]]:
    with api_client(api, api_key) as client:
        return [list(client.runbook_search(text, top, mode)["hits"]) for _, text in todo]


@runbooks_app.command("search")
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for")] = None,
    top: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per query")] = False,
    queries: Annotated[
        Path | None, typer.Option(help='JSONL file of {"qid", "query"} to answer in turn')
    ] = None,
    mode: Annotated[str, typer.Option(help="hybrid, lexical or dense")] = "hybrid",
    db: DbOption = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Ranked runbook chunks with their document, section and score."""
    if (query is None) == (queries is None):
        raise typer.BadParameter("give either QUERY or --queries FILE.jsonl")
    if mode not in SEARCH_MODES:
        raise typer.BadParameter(f"{mode!r} is not one of {', '.join(SEARCH_MODES)}", param_hint="--mode")
    todo = _read_queries(queries) if queries else [("q1", query or "")]
    answers = _hits_direct(db, todo, top, mode) if db else _hits_remote(api, api_key, todo, top, mode)
    for (qid, text), hits in zip(todo, answers, strict=True):
        if as_json:
            fields = ("rank", "document", "section", "page", "score", "chunk_id")
            line = {"qid": qid, "query": text, "hits": [{k: h.get(k) for k in fields} for h in hits]}
            sys.stdout.write(json.dumps(line) + "\n")
            continue
        from rich.table import Table

        table = Table(title=f"{qid}: {text}")
        for column in ("rank", "score", "document", "section", "text"):
            table.add_column(column)
        for h in hits:
            snippet = " ".join(str(h.get("text", "")).split())[:100]
            table.add_row(str(h["rank"]), f"{h['score']:.3f}", h["document"], h.get("section") or "", snippet)
        Console().print(table)


@runbooks_app.command("stats")
def stats(db: DbOption = None, api: ApiOption = None, api_key: ApiKeyOption = None) -> None:
    """Documents, chunks, index kind and embedding model (JSON)."""
    if db:
        answer: dict[str, Any] = _open(db).stats().model_dump()
    else:
        with api_client(api, api_key) as client:
            answer = client.runbook_stats()
    sys.stdout.write(json.dumps(answer, indent=2, default=str) + "\n")


@runbooks_app.command("list")
def list_documents(
    db: DbOption = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line (the default)")] = True,
) -> None:
    """Stored documents (one JSON line each)."""
    if db:
        rows: list[dict[str, Any]] = [row.model_dump(mode="json") for row in _open(db).documents()]
    else:
        with api_client(api, api_key) as client:
            rows = client.runbook_documents()
    for row in rows:
        sys.stdout.write(json.dumps(row, default=str) + "\n")


@runbooks_app.command("delete")
def delete(
    document_id: str, db: DbOption = None, api: ApiOption = None, api_key: ApiKeyOption = None
) -> None:
    """Remove one document by id."""
    if db:
        try:
            removed = _open(db).delete(document_id, actor="cli")
        except SelfhealError as exc:
            _fail(exc)
            raise
    else:
        with api_client(api, api_key) as client:
            removed = client.runbook_delete(document_id)["chunks"]
    _err.print(f"deleted {document_id} ({removed} chunks)")


@runbooks_app.command("clear")
def clear(
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Remove every document (an admin key)."""
    if not yes:
        typer.confirm("Remove every runbook from the knowledge base?", abort=True)
    if db:
        docs, chunks = _open(db).clear(actor="cli")
    else:
        with api_client(api, api_key) as client:
            answer = client.runbook_clear()
        docs, chunks = answer["documents"], answer["chunks"]
    _err.print(f"removed {docs} documents, {chunks} chunks")


@runbooks_app.command("starter")
def starter(db: DbOption = None, api: ApiOption = None, api_key: ApiKeyOption = None) -> None:
    """Load the runbooks shipped with selfheal (webhooks, API auth, cart sync, checkout latency, payments).

    A fresh instance has no runbooks: incidents cite none until these (or your own) are added."""
    from importlib import resources

    folder = resources.files("selfheal") / "runbooks"
    files = sorted((e.name, e.read_bytes()) for e in folder.iterdir() if e.name.endswith(".md"))
    if db:
        result = _add_direct(db, files, skip_bad=False)
    else:
        with api_client(api, api_key) as client:
            result = client.runbook_upload((n, d, "text/markdown") for n, d in files)
    _err.print(f"loaded {len(result['documents'])} starter runbooks, {result['chunks']} chunks")
