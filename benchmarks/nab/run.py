"""Run a selfheal detector over the Numenta Anomaly Benchmark and score it with our own NAB scorer.

    python -m benchmarks.nab.run --nab /path/to/nab [--detector context] [--out results/nab]

`--nab` is the NAB directory holding `data/`, `labels/combined_windows.json` and `config/profiles.json`.
Per-file detections are written in NAB's results layout (`<out>/<detector>/<category>/<detector>_<file>.csv`
with timestamp, value, anomaly_score, label), so any NAB scorer can check them, plus `<out>/<detector>/scores.json`.

Two figures per profile: the honest one, at the detector's `default_threshold` fixed in code before scoring,
and the corpus-optimised threshold (what NAB itself reports: an upper bound).
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.nab.scorer import (
    PROFILES,
    CorpusFile,
    optimise,
    profiles_from_config,
    score_at,
    window_index_bounds,
)
from selfheal.reason.detect import DEFAULT_DETECTOR, make_detector

SCOREBOARD = {
    "ARTime": (74.9, 65.1, 80.4),
    "Numenta HTM": (70.5, 62.6, 75.2),
    "CAD OSE": (69.9, 67.0, 73.2),
    "earthgecko Skyline": (58.2, 46.2, 63.9),
    "KNN CAD": (58.0, 43.4, 64.8),
    "Relative Entropy": (54.6, 47.6, 58.8),
    "Random Cut Forest": (51.7, 38.4, 59.7),
    "Twitter ADVec": (47.1, 33.6, 53.5),
    "Windowed Gaussian": (39.6, 20.9, 47.4),
    "Null": (0.0, 0.0, 0.0),
}


def score_file(path: Path, detector: str, params: dict[str, Any]) -> tuple[pd.DataFrame, float]:
    """The detector's causal scores for one NAB file (the same code path as the product and the CLI)."""
    frame = pd.read_csv(path)
    ts = pd.to_datetime(frame["timestamp"])
    started = time.perf_counter()
    det = make_detector(detector, **params)
    scores = det.score(frame["value"].to_numpy(dtype=float), timestamps=ts.to_numpy())
    frame["anomaly_score"] = scores
    return frame, time.perf_counter() - started


def _job(args: tuple[Path, str, dict[str, Any]]) -> tuple[Path, pd.DataFrame, float]:
    path, detector, params = args
    frame, seconds = score_file(path, detector, params)
    return path, frame, seconds


def run(
    nab: Path,
    detector: str,
    params: dict[str, Any],
    out: Path | None,
    jobs: int,
    categories: tuple[str, ...] = (),
) -> dict[str, Any]:
    data_dir = nab / "data"
    windows = json.loads((nab / "labels" / "combined_windows.json").read_text())
    profiles_path = nab / "config" / "profiles.json"
    profiles = (
        profiles_from_config(json.loads(profiles_path.read_text())) if profiles_path.exists() else PROFILES
    )
    threshold = make_detector(detector, **params).default_threshold
    names = [n for n in windows if not categories or n.split("/")[0] in categories]
    paths = sorted(data_dir / name for name in names)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else _Serial() as pool:
        results = list(pool.map(_job, [(p, detector, params) for p in paths]))
    wall = time.perf_counter() - started
    files = []
    for path, frame, _ in results:
        rel = path.relative_to(data_dir).as_posix()
        ts = pd.to_datetime(frame["timestamp"]).to_numpy()
        spans = [(np.datetime64(pd.Timestamp(a)), np.datetime64(pd.Timestamp(b))) for a, b in windows[rel]]
        bounds = window_index_bounds(ts, spans)
        files.append(CorpusFile(rel, frame["anomaly_score"].to_numpy(dtype=float), bounds))
        if out is not None:
            label = np.zeros(len(frame), dtype=int)
            for left, right in bounds:
                label[left : right + 1] = 1
            frame["label"] = label
            category, name = rel.split("/")
            target = out / detector / category / f"{detector}_{name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(target, index=False)
    honest = {p.name: score_at(files, p, threshold) for p in profiles}
    best = {p.name: optimise(files, p) for p in profiles}
    report = {
        "detector": detector,
        "categories": list(categories) or "all",
        "params": make_detector(detector, **params).get_params(),
        "files": len(files),
        "rows": int(sum(len(f.scores) for f in files)),
        "windows": int(sum(len(f.bounds) for f in files)),
        "detection_seconds": round(sum(s for _, _, s in results), 2),
        "wall_seconds": round(wall, 2),
        "jobs": jobs,
        "honest": {k: {"threshold": v.threshold, "score": round(v.normalised, 2)} for k, v in honest.items()},
        "optimised": {
            k: {"threshold": v.threshold, "score": round(v.normalised, 2)} for k, v in best.items()
        },
    }
    if out is not None:
        (out / detector).mkdir(parents=True, exist_ok=True)
        (out / detector / "scores.json").write_text(json.dumps(report, indent=2))
    return report


class _Serial:
    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Any, items: Any) -> Any:
        return map(fn, items)


def render(report: dict[str, Any]) -> str:
    names = [p.name for p in PROFILES]
    lines = [
        f"detector `{report['detector']}` over {report['files']} files, {report['rows']} rows, "
        f"{report['windows']} windows; detection {report['detection_seconds']} s, wall {report['wall_seconds']} s",
        "",
        "| detector | standard | reward_low_FP | reward_low_FN |",
        "|---|---:|---:|---:|",
    ]
    for label, key in (("honest (default threshold)", "honest"), ("corpus-optimised threshold", "optimised")):
        cells = " | ".join(f"{report[key][n]['score']:.1f}" for n in names)
        lines.append(f"| selfheal {report['detector']}, {label} | {cells} |")
    for name, row in SCOREBOARD.items():
        lines.append(f"| {name} (published) | {row[0]} | {row[1]} | {row[2]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nab", type=Path, required=True, help="NAB directory (data/, labels/, config/)")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR)
    parser.add_argument("--params", default="{}", help="JSON object of detector parameters")
    parser.add_argument(
        "--out", type=Path, default=None, help="write NAB-layout results and scores.json here"
    )
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--categories", default="", help="comma-separated NAB categories to score (default: all)"
    )
    args = parser.parse_args()
    categories = tuple(c for c in args.categories.split(",") if c)
    report = run(args.nab, args.detector, json.loads(args.params), args.out, args.jobs, categories)
    print(render(report))
    for key in ("honest", "optimised"):
        print(key, {k: v["threshold"] for k, v in report[key].items()})


if __name__ == "__main__":
    main()
