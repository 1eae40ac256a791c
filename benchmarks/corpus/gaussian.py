"""NAB's windowed-Gaussian baseline (numenta/NAB, nab/detectors/gaussian/windowedGaussian_detector.py).

Mean and standard deviation of the last `WINDOW` values, refreshed every `STEP` values once the window is full;
a value's score is `1 - tail probability` of its distance from the mean (so 0.5 at the mean, 1.0 far away).
Published threshold: 1.0 (only values whose tail probability rounds to 0 alarm). Causal, like NAB's.
"""

from __future__ import annotations

import math

import numpy as np

WINDOW = 6400
STEP = 100
THRESHOLD = 1.0


def windowed_gaussian_scores(values: np.ndarray) -> np.ndarray:
    window: list[float] = []
    buffer: list[float] = []
    mean, std = 0.0, 1.0
    out = np.zeros(len(values))
    for i, x in enumerate(np.asarray(values, dtype=float).tolist()):
        if window:
            z = abs(x - mean) / std
            out[i] = 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))
        if len(window) < WINDOW:
            window.append(x)
            mean, std = _stats(window)
        else:
            buffer.append(x)
            if len(buffer) == STEP:
                window = window[STEP:] + buffer
                buffer = []
                mean, std = _stats(window)
    return out


def _stats(window: list[float]) -> tuple[float, float]:
    a = np.asarray(window)
    std = float(a.std())
    return float(a.mean()), std if std != 0 else 0.000001
