"""`selfheal runbooks ...` (alias `kb`): load runbooks into the knowledge base and query it from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from selfheal.errors import SelfhealError
from selfheal.knowledge.index import SearchMode
from selfheal.settings import Settings

RUNBOOK_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text", ".pdf", ".html", ".htm", ".rst"})

runbooks_app = typer.Typer(
    help="Runbook knowledge base: add, search, list, delete, clear.", no_args_is_help=True
)
_err = Console(stderr=True)
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: SELFHEAL_DATABASE_URL)")]


def register(app: typer.Typer) -> None:
    """Mount the `runbooks` commands on the main CLI; `kb` stays as a hidden alias for existing scripts."""
    app.add_typer(runbooks_app, name="runbooks")
    app.add_typer(runbooks_app, name="kb", hidden=True)


def _open(db: str | None) -> Any:
    from selfheal.knowledge.base import knowledge_base
    from selfheal.store import Store

    settings = Settings(database_url=db) if db else Settings()
    return knowledge_base(Store.open(settings.resolved_database_url()), settings)


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
    _err.print(f"[red]error[/red] ({exc.code}): {exc.message}")
    raise typer.Exit(2)


@runbooks_app.command("add")
def add(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively)")],
    db: DbOption = None,
    skip_bad: Annotated[
        bool, typer.Option(help="Skip files that are refused instead of adding nothing")
    ] = False,
) -> None:
    """Add runbooks (Markdown, text, PDF, HTML). Re-adding a file name replaces that document."""
    from selfheal.knowledge.base import pdf_budget
    from selfheal.knowledge.loaders import load_document

    files = collect_files(paths)
    if not files:
        _err.print("no runbook files found")
        raise typer.Exit(1)
    kb = _open(db)
    batch: list[tuple[str | None, bytes]] = []
    seen: set[str] = set()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=_err
    ) as progress:
        reading = progress.add_task("reading", total=len(files))
        for path in files:
            data = path.read_bytes()
            if skip_bad:
                try:
                    load_document(path.name, data, kb.settings.kb_max_file_bytes, pdf_budget(kb.settings))
                except SelfhealError as exc:
                    _err.print(f"[yellow]skipped[/yellow] {path}: {exc.message}")
                    progress.advance(reading)
                    continue
            if path.name in seen:
                _err.print(f"[yellow]skipped[/yellow] {path}: another file named {path.name} comes first")
            else:
                seen.add(path.name)
                batch.append((path.name, data))
            progress.advance(reading)
        embedding = progress.add_task("indexing", total=None)

        def report(done: int, total: int) -> None:
            progress.update(embedding, completed=done, total=total)

        try:
            result = kb.add_files(batch, actor="cli", progress=report) if batch else None
        except SelfhealError as exc:
            _fail(exc)
            return
    if result is None:
        raise typer.Exit(1)
    replaced = sum(d.replaced for d in result.documents)
    _err.print(
        f"added {len(result.documents)} documents ({replaced} replaced), {result.chunks} chunks, "
        f"{'with' if result.embedded else 'without'} dense vectors"
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


@runbooks_app.command("search")
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for")] = None,
    top: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per query")] = False,
    queries: Annotated[
        Path | None, typer.Option(help='JSONL file of {"qid", "query"} to answer in turn')
    ] = None,
    mode: Annotated[SearchMode, typer.Option(help="hybrid, lexical or dense")] = SearchMode.hybrid,
    db: DbOption = None,
) -> None:
    """Ranked runbook chunks with their document, section and score."""
    if (query is None) == (queries is None):
        raise typer.BadParameter("give either QUERY or --queries FILE.jsonl")
    todo = _read_queries(queries) if queries else [("q1", query or "")]
    kb = _open(db)
    for qid, text in todo:
        try:
            hits = kb.search(text, top, mode)
        except SelfhealError as exc:
            _fail(exc)
            return
        if as_json:
            line = {
                "qid": qid,
                "query": text,
                "hits": [
                    {
                        "rank": h.rank,
                        "document": h.chunk.document,
                        "section": h.chunk.section or h.chunk.title,
                        "page": h.chunk.page,
                        "score": round(h.score, 6),
                        "chunk_id": h.chunk.chunk_id,
                    }
                    for h in hits
                ],
            }
            sys.stdout.write(json.dumps(line) + "\n")
            continue
        table = Table(title=f"{qid}: {text}")
        for column in ("rank", "score", "document", "section", "text"):
            table.add_column(column)
        for h in hits:
            snippet = " ".join(h.chunk.text.split())[:100]
            table.add_row(str(h.rank), f"{h.score:.3f}", h.chunk.document, h.chunk.section, snippet)
        Console().print(table)


@runbooks_app.command("stats")
def stats(db: DbOption = None) -> None:
    """Documents, chunks, index kind and embedding model (JSON)."""
    sys.stdout.write(json.dumps(_open(db).stats().model_dump(), indent=2) + "\n")


@runbooks_app.command("list")
def list_documents(db: DbOption = None) -> None:
    """Stored documents (one JSON line each)."""
    for row in _open(db).documents():
        sys.stdout.write(json.dumps(row.model_dump()) + "\n")


@runbooks_app.command("delete")
def delete(document_id: str, db: DbOption = None) -> None:
    """Remove one document by id."""
    try:
        removed = _open(db).delete(document_id, actor="cli")
    except SelfhealError as exc:
        _fail(exc)
    _err.print(f"deleted {document_id} ({removed} chunks)")


@runbooks_app.command("clear")
def clear(
    db: DbOption = None, yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False
) -> None:
    """Remove every document."""
    if not yes:
        typer.confirm("Remove every runbook from the knowledge base?", abort=True)
    docs, chunks = _open(db).clear(actor="cli")
    _err.print(f"removed {docs} documents, {chunks} chunks")


@runbooks_app.command("starter")
def starter(db: DbOption = None) -> None:
    """Load the runbooks shipped with selfheal (webhooks, API auth, cart sync, checkout latency, payments)."""
    from selfheal.knowledge.starter import load_starter_runbooks

    result = load_starter_runbooks(_open(db))
    _err.print(f"loaded {len(result.documents)} starter runbooks, {result.chunks} chunks")
