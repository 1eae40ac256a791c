"""`selfheal detect FILE.csv`: score any exported KPI series with a selfheal detector."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from selfheal.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


def score_csv(
    path: Path,
    out: Path,
    time_column: str = "timestamp",
    value_column: str = "value",
    detector: str = "context",
    params: str = "{}",
    *,
    strict: bool = False,
) -> tuple[int, list[str]]:
    """Write `path`'s rows plus `anomaly_score`, `is_anomaly`, `expected` and `reason` to `out`; returns the
    anomaly count and the warnings about repaired rows.

    Messy rows are repaired by the rules of `selfheal.reason.detect.series` (skipped, sorted, merged, gaps kept)
    and counted; `strict` refuses them instead. One row out per row in, in the input order.

    Scores are causal (each row uses only itself and the rows before it); `is_anomaly` uses the
    detector's own default threshold; `expected` is the detector's baseline for the row and `reason` says, on
    anomalous rows, which of the detector's checks spoke (blank when the detector does not say).
    """
    import numpy as np

    from selfheal.reason.detect import make_detector
    from selfheal.reason.detect.series import clean_series

    header, rows = _read_rows(path)
    columns = {}
    for column in (time_column, value_column):
        if column not in header:
            raise InvalidInput(f"column {column!r} not in {path}", {"field": column, "columns": header})
        columns[column] = header.index(column)
    series = clean_series(
        [_cell(row, columns[time_column]) for row in rows],
        [_cell(row, columns[value_column]) for row in rows],
        strict=strict,
        time_field=time_column,
        value_field=value_column,
    )
    try:
        options = json.loads(params)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--params is not JSON: {exc}", {"field": "params"}) from exc
    det = make_detector(detector, **options)
    scores = det.score(series.values, timestamps=series.timestamps)
    expected = det.expected()
    if len(expected) != len(scores):
        expected = np.full(len(scores), np.nan)
    reasons = _reasons(det.reasons(), series.row_point, len(scores))
    flagged = scores >= det.default_threshold
    found = 0
    with _open_out(out) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*header, "anomaly_score", "is_anomaly", "expected", "reason"])
        for row, point, reason in zip(rows, series.row_point.tolist(), reasons, strict=True):
            cells = [*row, *[""] * (len(header) - len(row))][: len(header)]
            if point < 0:
                writer.writerow([*cells, "", False, "", reason])
                continue
            found += bool(flagged[point])
            writer.writerow(
                [*cells, _number(scores[point]), bool(flagged[point]), _number(expected[point]), reason]
            )
    return found, series.warnings()


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a CSV file (cells as text, as written)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            table = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", {"field": "file"}) from exc
    if not table:
        raise InvalidInput(f"cannot read {path}: the file is empty", {"field": "file"})
    return table[0], [row for row in table[1:] if row]


def _open_out(out: Path) -> TextIO:
    try:
        return out.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {out}: {exc}", {"field": "out"}) from exc


def _cell(row: list[str], index: int) -> str | None:
    return row[index] if index < len(row) else None


def _number(value: float) -> str:
    """A score or baseline rounded to 6 decimals; blank when not a number."""
    return repr(round(float(value), 6)) if math.isfinite(value) else ""


def _reasons(per_point: list[str], row_point: NDArray[np.int64], points: int) -> list[str]:
    """Each row's reason: its point's (rows merged into one point share it); skipped rows say so."""
    if len(per_point) != points:
        per_point = [""] * points
    return [per_point[p] if p >= 0 else "skipped: unreadable time or value" for p in row_point.tolist()]


def register(app: typer.Typer) -> None:
    @app.command()
    def detect(
        file: Annotated[Path, typer.Argument(help="CSV with a time column and a value column")],
        out: Annotated[Path, typer.Option(help="Where to write the scored CSV")],
        time_column: Annotated[str, typer.Option(help="Name of the time column")] = "timestamp",
        value_column: Annotated[str, typer.Option(help="Name of the value column")] = "value",
        detector: Annotated[str, typer.Option(help="Registered detector name")] = "context",
        params: Annotated[str, typer.Option(help="Detector parameters as a JSON object")] = "{}",
        strict: Annotated[
            bool,
            typer.Option(help="Refuse unreadable, out-of-order or repeated rows instead of repairing them"),
        ] = False,
    ) -> None:
        """Score a KPI series: one row in, one row out with `anomaly_score`, `is_anomaly`, `expected`, `reason`."""
        try:
            found, warnings = score_csv(file, out, time_column, value_column, detector, params, strict=strict)
        except InvalidInput as exc:
            typer.echo(f"error: {exc.message} {json.dumps(exc.details)}", err=True)
            raise typer.Exit(2) from exc
        for warning in warnings:
            typer.echo(f"warning: {warning}", err=True)
        typer.echo(f"wrote {out} ({found} anomalous rows)")
