"""`selfheal detect FILE.csv`: score any exported KPI series with a selfheal detector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    import pandas as pd

    from selfheal.reason.detect import make_detector
    from selfheal.reason.detect.series import clean_series

    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", {"field": "file"}) from exc
    for column in (time_column, value_column):
        if column not in frame.columns:
            raise InvalidInput(
                f"column {column!r} not in {path}", {"field": column, "columns": list(frame.columns)}
            )
    series = clean_series(
        frame[time_column],
        frame[value_column],
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
    scored = series.row_point >= 0
    at = np.where(scored, series.row_point, 0)
    flagged = scores >= det.default_threshold
    frame["anomaly_score"] = np.where(scored, np.round(scores[at], 6) if len(scores) else 0.0, np.nan)
    frame["is_anomaly"] = scored & (flagged[at] if len(scores) else False)
    expected = det.expected()
    frame["expected"] = (
        np.where(scored, np.round(expected[at], 6), np.nan) if len(expected) == len(scores) > 0 else np.nan
    )
    frame["reason"] = _reasons(det.reasons(), series.row_point, len(scores))
    frame.to_csv(out, index=False)
    return int(frame["is_anomaly"].sum()), series.warnings()


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
