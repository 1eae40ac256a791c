"""`selfheal detect FILE.csv` on a real CSV file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from selfheal.cli import app


def test_detect_scores_every_row_and_flags_the_jump(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 1500
    values = 50 + rng.normal(0, 1, n)
    values[1400:] += 30
    src = tmp_path / "kpi.csv"
    pd.DataFrame(
        {"ts": pd.date_range("2024-01-01", periods=n, freq="min").astype(str), "orders": values}
    ).to_csv(src, index=False)
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(
        app, ["detect", str(src), "--time-column", "ts", "--value-column", "orders", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(out)
    assert len(scored) == n
    assert {"anomaly_score", "is_anomaly"} <= set(scored.columns)
    assert scored["is_anomaly"][1400:1410].any()
    assert scored["is_anomaly"][:1400].sum() <= 3  # a rare false alarm on pure noise is allowed
    # Each anomalous row says why and what was expected; the others have no reason.
    first = int(scored.index[scored["is_anomaly"] & (scored.index >= 1400)][0])
    assert isinstance(scored["reason"][first], str) and scored["reason"][first]
    assert abs(scored["expected"][first] - 50) < 5
    assert scored["reason"][~scored["is_anomaly"]].isna().all()


def test_detect_reports_a_missing_column(tmp_path: Path) -> None:
    src = tmp_path / "kpi.csv"
    src.write_text("timestamp,value\n2024-01-01,1\n")
    res = CliRunner().invoke(
        app, ["detect", str(src), "--value-column", "nope", "--out", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == 2
    assert "nope" in res.output
