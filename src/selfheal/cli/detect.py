"""`selfheal detect FILE.csv`: score any exported KPI series with a selfheal detector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from selfheal.errors import InvalidInput


def score_csv(
    path: Path,
    out: Path,
    time_column: str = "timestamp",
    value_column: str = "value",
    detector: str = "context",
    params: str = "{}",
) -> int:
    """Write `path`'s rows plus `anomaly_score`, `is_anomaly`, `expected` and `reason` to `out`; returns the
    anomaly count.

    Scores are causal (each row uses only itself and the rows before it); `is_anomaly` uses the
    detector's own default threshold; `expected` is the detector's baseline for the row and `reason` says, on
    anomalous rows, which of the detector's checks spoke (blank when the detector does not say).
    """
    import numpy as np
    import pandas as pd

    from selfheal.reason.detect import make_detector

    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", {"field": "file"}) from exc
    for column in (time_column, value_column):
        if column not in frame.columns:
            raise InvalidInput(
                f"column {column!r} not in {path}", {"field": column, "columns": list(frame.columns)}
            )
    times = pd.to_datetime(frame[time_column], errors="coerce", utc=True)
    values = pd.to_numeric(frame[value_column], errors="coerce")
    bad = frame.index[times.isna() | values.isna()]
    if len(bad):
        raise InvalidInput(
            f"{len(bad)} rows have an unreadable time or value (first: row {int(bad[0]) + 2})",
            {"field": value_column if values.isna().any() else time_column, "row": int(bad[0]) + 2},
        )
    if not times.is_monotonic_increasing:
        raise InvalidInput("rows must be in time order", {"field": time_column})
    try:
        options = json.loads(params)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--params is not JSON: {exc}", {"field": "params"}) from exc
    det = make_detector(detector, **options)
    stamps = times.dt.tz_localize(None).to_numpy().astype("datetime64[ms]")
    scores = det.score(values.to_numpy(dtype=float), timestamps=stamps)
    frame["anomaly_score"] = np.round(scores, 6)
    frame["is_anomaly"] = scores >= det.default_threshold
    expected = det.expected()
    frame["expected"] = np.round(expected, 6) if len(expected) == len(frame) else np.nan
    reasons = det.reasons()
    frame["reason"] = reasons if len(reasons) == len(frame) else ""
    frame.to_csv(out, index=False)
    return int(frame["is_anomaly"].sum())


def register(app: typer.Typer) -> None:
    @app.command()
    def detect(
        file: Annotated[Path, typer.Argument(help="CSV with a time column and a value column")],
        out: Annotated[Path, typer.Option(help="Where to write the scored CSV")],
        time_column: Annotated[str, typer.Option(help="Name of the time column")] = "timestamp",
        value_column: Annotated[str, typer.Option(help="Name of the value column")] = "value",
        detector: Annotated[str, typer.Option(help="Registered detector name")] = "context",
        params: Annotated[str, typer.Option(help="Detector parameters as a JSON object")] = "{}",
    ) -> None:
        """Score a KPI series: one row in, one row out with `anomaly_score`, `is_anomaly`, `expected`, `reason`."""
        try:
            found = score_csv(file, out, time_column, value_column, detector, params)
        except InvalidInput as exc:
            typer.echo(f"error: {exc.message} {json.dumps(exc.details)}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"wrote {out} ({found} anomalous rows)")
