"""`selfheal cluster`: cluster any ticket export (CSV) into themes with the cycle's engine and defaults."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from selfheal.settings import Settings

if TYPE_CHECKING:
    from selfheal.reason.cluster import TextClustering

METHODS = ("ward", "dbscan")
"""The clustering methods (`selfheal.reason.cluster.METHODS`; a test keeps the two equal). Named here so that
the command line starts without loading the clustering stack."""

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


LEVELS = ("theme", "group")


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]], result: TextClustering) -> None:
    """Input columns plus the theme (`cluster_id`, `cluster_label`) and its group (`group_id`,
    `group_label`); -1 = unassigned, -2 = part of a flood of copies."""
    labels = {t.id: t.label for t in result.themes}
    group_names = {g.id: g.label for g in result.groups}
    names = ("cluster_id", "cluster_label", "group_id", "group_label")
    extra = [c for c in names if c not in header]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header + extra, extrasaction="ignore")
        writer.writeheader()
        for i, (row, label) in enumerate(zip(rows, result.labels.tolist(), strict=True)):
            group = int(result.group_labels[i]) if result.group_labels.size else -1
            writer.writerow(
                {
                    **row,
                    "cluster_id": label,
                    "cluster_label": labels.get(label, "flood" if label == -2 else ""),
                    "group_id": group,
                    "group_label": group_names.get(group, "flood" if group == -2 else ""),
                }
            )


def summary(result: TextClustering, texts: list[str], limit: int, level: str = "theme") -> str:
    n = len(result.labels)
    shown = result.groups if level == "group" else result.themes
    floods = (
        f"; {len(result.flood_sizes)} floods of copied text ({result.flooded} texts, kept out of the themes)"
        if result.flood_sizes
        else ""
    )
    lines = [
        f"{n} texts -> {len(result.themes)} themes in {len(result.groups)} groups, {result.unassigned} "
        f"unassigned ({result.unassigned / max(n, 1):.1%}){floods}; embedding: {result.embedding_model}",
        "",
        f"{level}s:",
        f"{'id':>4} {'size':>6}  label / example",
    ]
    for theme in shown[:limit]:
        example = texts[theme.representatives[0]] if theme.representatives else ""
        lines.append(f"{theme.id:>4} {theme.size:>6}  {theme.label[:MAX_LABEL_WIDTH]}")
        lines.append(f"{'':>12}  e.g. {example[:100]!r}")
    if len(shown) > limit:
        lines.append(f"... and {len(shown) - limit} more {level}s (see the output file)")
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
    level: str = typer.Option("theme", "--level", help="Level listed in the summary: theme (fine) or group"),
    granularity: str = typer.Option(
        "auto",
        "--granularity",
        help="auto (the most stable cut; the cycle's default) or fixed (one Ward height tuned on Banking77)",
    ),
) -> None:
    """Cluster a ticket export into themes: one output row per input row, in input order (-1 = unassigned)."""
    if method not in METHODS:
        raise typer.BadParameter(
            f"unknown method {method!r}; choose one of {', '.join(METHODS)}", param_hint="--method"
        )
    if level not in LEVELS:
        raise typer.BadParameter(f"unknown level {level!r}; choose theme or group", param_hint="--level")
    if granularity not in ("fixed", "auto"):
        raise typer.BadParameter(
            f"unknown granularity {granularity!r}; choose fixed or auto", param_hint="--granularity"
        )
    from selfheal.observe.themes import active_embedder
    from selfheal.reason.cluster import LEXICAL_MODEL, ClusterParams, cluster_texts

    header, rows = read_rows(file, text_column)
    texts = [(r.get(text_column) or "").strip() for r in rows]
    embedder = None if lexical else active_embedder(Settings())
    vectors = embedder.embed(texts) if embedder is not None and texts else None
    result = cluster_texts(
        texts,
        vectors,
        model=embedder.name if embedder is not None and vectors is not None else LEXICAL_MODEL,
        params=ClusterParams(
            method="dbscan" if method == "dbscan" else "ward",
            granularity="auto" if granularity == "auto" else "fixed",
        ),
    )
    write_rows(out, header, rows, result)
    typer.echo(summary(result, texts, show, level))
    typer.echo(f"\nwrote {len(rows)} rows to {out}")


def register(app: typer.Typer) -> None:
    """Add `selfheal cluster` to the main CLI."""
    app.command("cluster")(cluster_command)
