"""The second-corpus benchmark's pieces: NAB's windowed Gaussian and the false-alarm counts."""

from __future__ import annotations

import numpy as np
from benchmarks.corpus.gaussian import windowed_gaussian_scores
from benchmarks.corpus.run import alarm_counts
from benchmarks.nab.scorer import CorpusFile


def test_windowed_gaussian_scores_the_tail_of_each_value_against_the_values_before_it() -> None:
    values = np.array([0.0, 1.0, -1.0, 0.0, 100.0])
    scores = windowed_gaussian_scores(values)
    assert scores[0] == 0.0  # nothing seen yet
    assert scores[1] == 1.0  # one value seen: its spread is the 1e-6 floor, anything else is far
    assert 0.5 <= scores[3] < 0.9  # at the mean of (0, 1, -1)
    assert scores[4] == 1.0


def test_alarm_counts_count_rows_outside_windows_after_probation_and_anomaly_free_series() -> None:
    scores = np.zeros(100)
    scores[[5, 50, 60, 90]] = 1.0  # 5 is in the probation (15 rows), 50 in the window
    labelled = CorpusFile("a.csv", scores, [(45, 55)])
    quiet = CorpusFile("b.csv", scores.copy(), [])
    silent = CorpusFile("c.csv", np.zeros(100), [])
    counts = alarm_counts([labelled, quiet, silent], 0.5)
    assert counts == {"false_alarm_rows": 2 + 3, "anomaly_free_series": 2, "alarmed": 1}
