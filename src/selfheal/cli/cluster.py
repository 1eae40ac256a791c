"""`selfheal cluster`: cluster any ticket export (CSV) into themes with the cycle's engine and defaults."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

from selfheal.observe.themes import active_embedder
from selfheal.reason.cluster import LEXICAL_MODEL, METHODS, ClusterParams, TextClustering, cluster_texts
from selfheal.settings import Settings

MAX_LABEL_WIDTH = 60


def read_rows(path: Path, text_column: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a CSV file; exits with a readable message on a missing file or column."""
    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist or is not a file", param_hint="FILE")
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = [dict(r) for r in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise typer.BadParameter(
            f"{path} is not a readable UTF-8 CSV file: {exc}", param_hint="FILE"
        ) from exc
    if text_column not in header:
        raise typer.BadParameter(
            f"column {text_column!r} is not in {path.name} (columns: {', '.join(header) or 'none'})",
            param_hint="--text-column",
        )
    return header, rows


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]], result: TextClustering) -> None:
    labels = {t.id: t.label for t in result.themes}
    extra = [c for c in ("cluster_id", "cluster_label") if c not in header]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header + extra, extrasaction="ignore")
        writer.writeheader()
        for row, label in zip(rows, result.labels.tolist(), strict=True):
            writer.writerow({**row, "cluster_id": label, "cluster_label": labels.get(label, "")})


def summary(result: TextClustering, texts: list[str], limit: int) -> str:
    n = len(result.labels)
    lines = [
        f"{n} texts -> {len(result.themes)} themes, {result.unassigned} unassigned "
        f"({result.unassigned / max(n, 1):.1%}); embedding: {result.embedding_model}",
        "",
        f"{'id':>4} {'size':>6}  label / example",
    ]
    for theme in result.themes[:limit]:
        example = texts[theme.representatives[0]] if theme.representatives else ""
        lines.append(f"{theme.id:>4} {theme.size:>6}  {theme.label[:MAX_LABEL_WIDTH]}")
        lines.append(f"{'':>12}  e.g. {example[:100]!r}")
    if len(result.themes) > limit:
        lines.append(f"... and {len(result.themes) - limit} more themes (see the output file)")
    return "\n".join(lines)


def cluster_command(
    file: Path = typer.Argument(..., help="CSV file with one ticket per row"),
    text_column: str = typer.Option("text", "--text-column", help="Column holding the ticket text"),
    out: Path = typer.Option(
        Path("clusters.csv"), "--out", help="Output CSV: input columns + cluster_id, cluster_label"
    ),
    method: str = typer.Option("ward", "--method", help=f"Clustering method: {', '.join(METHODS)}"),
    lexical: bool = typer.Option(
        False, "--lexical", help="Use the TF-IDF/LSA fallback even if the dense model is installed"
    ),
    show: int = typer.Option(20, "--show", min=0, help="Themes listed in the printed summary"),
) -> None:
    """Cluster a ticket export into themes: one output row per input row, in input order (-1 = unassigned)."""
    if method not in METHODS:
        raise typer.BadParameter(
            f"unknown method {method!r}; choose one of {', '.join(METHODS)}", param_hint="--method"
        )
    header, rows = read_rows(file, text_column)
    texts = [(r.get(text_column) or "").strip() for r in rows]
    embedder = None if lexical else active_embedder(Settings())
    vectors = embedder.embed(texts) if embedder is not None and texts else None
    result = cluster_texts(
        texts,
        vectors,
        model=embedder.name if embedder is not None and vectors is not None else LEXICAL_MODEL,
        params=ClusterParams(method="dbscan" if method == "dbscan" else "ward"),
    )
    write_rows(out, header, rows, result)
    typer.echo(summary(result, texts, show))
    typer.echo(f"\nwrote {len(rows)} rows to {out}")


def register(app: typer.Typer) -> None:
    """Add `selfheal cluster` to the main CLI."""
    app.command("cluster")(cluster_command)
