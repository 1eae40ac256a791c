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
    # The other rows have no reason, except the first ones, where the detector says it is not confident yet.
    quiet = scored["reason"][~scored["is_anomaly"]].fillna("")
    assert quiet[:100].str.startswith("not confident yet").all()
    assert ((quiet == "") | quiet.str.startswith("not confident yet")).all()


def test_detect_reports_a_missing_column(tmp_path: Path) -> None:
    src = tmp_path / "kpi.csv"
    src.write_text("timestamp,value\n2024-01-01,1\n")
    res = CliRunner().invoke(
        app, ["detect", str(src), "--value-column", "nope", "--out", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == 2
    assert "nope" in res.output


def _messy_kpi(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """A per-minute KPI with every kind of mess real exports carry, each at a known row."""
    n = 600
    stamps = pd.date_range("2024-01-01", periods=n, freq="min")
    values = 50 + np.random.default_rng(2).normal(0, 1, n)
    frame = pd.DataFrame({"timestamp": stamps.astype(str), "value": values.round(3).astype(str)})
    frame.loc[100, "value"] = ""  # empty
    frame.loc[101, "value"] = "n/a"  # non-numeric
    frame.loc[102, "timestamp"] = "not a date"
    frame = frame.drop(index=range(300, 320))  # a 20-minute gap
    repeated = frame.loc[[200]].assign(value="52.0")  # the same minute written twice
    back = frame.loc[[400, 401]]  # the clock steps back: two rows again after row 450
    frame = pd.concat([frame.loc[:450], repeated, back, frame.loc[451:]], ignore_index=True)
    src = tmp_path / "messy.csv"
    frame.to_csv(src, index=False)
    return src, frame


def test_detect_repairs_messy_rows_counts_them_and_keeps_one_row_per_row(tmp_path: Path) -> None:
    src, frame = _messy_kpi(tmp_path)
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(app, ["detect", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 rows skipped: unreadable time" in res.output
    assert "2 rows skipped: empty or non-numeric value" in res.output
    assert "3 rows out of time order: sorted" in res.output
    assert "3 rows repeat an earlier timestamp: merged (mean value)" in res.output
    assert "2 gaps" in res.output  # the 20 dropped minutes, and the 3 skipped rows
    scored = pd.read_csv(out, keep_default_na=False, dtype={"timestamp": str, "value": str})
    assert len(scored) == len(frame)
    assert scored["timestamp"].tolist() == frame["timestamp"].tolist()  # the input order, untouched
    skipped = scored["reason"].str.startswith("skipped")
    assert skipped.sum() == 3 and (scored["anomaly_score"][skipped] == "").all()
    assert (scored["anomaly_score"][~skipped] != "").all()
    # Rows merged into one point share its score.
    same = scored[scored["timestamp"] == frame.loc[200, "timestamp"]]
    assert len(same) == 2 and same["anomaly_score"].nunique() == 1


def test_detect_strict_refuses_what_it_would_otherwise_repair(tmp_path: Path) -> None:
    src, _ = _messy_kpi(tmp_path)
    res = CliRunner().invoke(app, ["detect", str(src), "--strict", "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2
    assert "unreadable" in res.output
    ordered = tmp_path / "back.csv"
    ordered.write_text("timestamp,value\n2024-01-01 00:01,1\n2024-01-01 00:00,2\n")
    res = CliRunner().invoke(app, ["detect", str(ordered), "--strict", "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "time order" in res.output
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:00,2\n")
    res = CliRunner().invoke(app, ["detect", str(repeated), "--strict", "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "repeat" in res.output
