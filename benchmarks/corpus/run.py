"""Score a selfheal detector and NAB's windowed-Gaussian baseline side by side on any NAB-layout corpus.

    python -m benchmarks.corpus.run --corpus /path/to/ms-cloud-monitoring-dev [--corpus /path/to/nab] \
        [--detector context] [--params '{}'] [--jobs 2]

A corpus is a directory with `data/<category>/<file>.csv` (timestamp, value) and
`labels/combined_windows.json` (NAB's layout; NAB itself and the cloud-monitoring corpus both qualify). Each
corpus is reported on its own: the three NAB profiles at the detector's threshold fixed in code and at the
Gaussian's published 1.0, the number of false-alarm rows (alarms after the probation, outside every window),
and how many anomaly-free series (no window) raise any alarm at all.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.corpus.gaussian import THRESHOLD as GAUSSIAN_THRESHOLD
from benchmarks.corpus.gaussian import windowed_gaussian_scores
from benchmarks.nab.run import run as run_detector
from benchmarks.nab.scorer import PROFILES, CorpusFile, probation_rows, score_at, window_index_bounds
from selfheal.reason.detect import DEFAULT_DETECTOR, make_detector


def corpus_files(corpus: Path, scores_of: dict[str, np.ndarray] | None = None) -> list[CorpusFile]:
    """The corpus' files with their window bounds, scored by the Gaussian baseline unless scores are given."""
    windows = json.loads((corpus / "labels" / "combined_windows.json").read_text())
    files = []
    for name in sorted(windows):
        frame = pd.read_csv(corpus / "data" / name)
        ts = pd.to_datetime(frame["timestamp"]).to_numpy()
        spans = [(np.datetime64(pd.Timestamp(a)), np.datetime64(pd.Timestamp(b))) for a, b in windows[name]]
        scores = (
            scores_of[name]
            if scores_of is not None
            else windowed_gaussian_scores(frame["value"].to_numpy(dtype=float))
        )
        files.append(CorpusFile(name, scores, window_index_bounds(ts, spans)))
    return files


def alarm_counts(files: list[CorpusFile], threshold: float) -> dict[str, int]:
    """False-alarm rows (after the probation, outside every window) and anomaly-free series that alarm."""
    false_rows = 0
    quiet_series = 0
    alarmed_quiet = 0
    for f in files:
        alarm = f.scores >= threshold
        alarm[: probation_rows(len(f.scores))] = False
        inside = np.zeros(len(f.scores), dtype=bool)
        for left, right in f.bounds:
            inside[left : right + 1] = True
        false_rows += int(np.sum(alarm & ~inside))
        if not f.bounds:
            quiet_series += 1
            alarmed_quiet += int(alarm.any())
    return {"false_alarm_rows": false_rows, "anomaly_free_series": quiet_series, "alarmed": alarmed_quiet}


def measure(files: list[CorpusFile], threshold: float) -> dict[str, Any]:
    scores = {p.name: round(score_at(files, p, threshold).normalised, 2) for p in PROFILES}
    return {"threshold": threshold, "scores": scores, **alarm_counts(files, threshold)}


def evaluate(corpus: Path, detector: str, params: dict[str, Any], jobs: int) -> dict[str, Any]:
    with _TemporaryResults() as out:
        run_detector(corpus, detector, params, out, jobs)
        scores_of = {}
        for path in (out / detector).glob("*/*.csv"):
            name = f"{path.parent.name}/{path.name.removeprefix(detector + '_')}"
            scores_of[name] = pd.read_csv(path)["anomaly_score"].to_numpy(dtype=float)
    threshold = make_detector(detector, **params).default_threshold
    return {
        "corpus": str(corpus),
        "selfheal": measure(corpus_files(corpus, scores_of), threshold),
        "gaussian": measure(corpus_files(corpus), GAUSSIAN_THRESHOLD),
    }


class _TemporaryResults:
    def __enter__(self) -> Path:
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        return Path(self._dir.name)

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


def render(report: dict[str, Any], detector: str) -> str:
    lines = [
        f"corpus {report['corpus']}",
        "",
        "| detector | threshold | standard | reward_low_FP | reward_low_FN | false-alarm rows | "
        "anomaly-free series alarmed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, key in ((f"selfheal {detector}", "selfheal"), ("NAB windowed Gaussian", "gaussian")):
        row = report[key]
        cells = " | ".join(f"{row['scores'][p.name]:.1f}" for p in PROFILES)
        lines.append(
            f"| {label} | {row['threshold']} | {cells} | {row['false_alarm_rows']} | "
            f"{row['alarmed']} of {row['anomaly_free_series']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, action="append", required=True, help="NAB-layout corpus dir")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR)
    parser.add_argument("--params", default="{}", help="JSON object of detector parameters")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    params = json.loads(args.params)
    reports = [evaluate(corpus, args.detector, params, args.jobs) for corpus in args.corpus]
    for report in reports:
        print(render(report, args.detector))
        print()
    if args.json is not None:
        args.json.write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
