"""Fitted streaming detectors kept between cycles, so a cycle folds in only the minutes it has not seen.

A cycle's streaming checks need a detector that has read weeks of per-minute history. Fitting it from scratch
every cycle costs far more than the cycle itself, so the fitted state is kept per series and advanced with the
new history minutes. Scoring the window happens on a copy: the window is not history yet.

The cache trusts an entry only when the new history still contains the last minute the entry read, with the
same values wherever the two overlap (a different database, or history rewritten by late data that any
process ingested, refits from scratch, so a warm worker and a fresh process read the same history), and time
moves forward.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from selfheal.reason.detect.base import Detector, make_detector


@dataclass
class _Entry:
    detector: Detector
    last_ms: int
    seen: NDArray[np.float64]
    """The history values the detector has read (the latest history it was given, whole)."""


class DetectorStateCache:
    """Per-series fitted detectors, advanced incrementally; at most `max_entries` series (least recent out)."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.refits = 0
        self.advances = 0

    def fitted(
        self, series: str, detector: str, values: NDArray[np.float64], stamps_ms: NDArray[np.int64]
    ) -> Detector:
        """A detector that has read `values` (oldest first, at `stamps_ms`): a private copy, free to score."""
        key = (series, detector)
        with self._lock:
            entry = self._entries.get(key)
            start = self._resume_at(entry, values, stamps_ms) if entry is not None else None
            if entry is None or start is None:
                det = make_detector(detector).fit(values, timestamps=stamps_ms.astype("datetime64[ms]"))
                entry = _Entry(det, int(stamps_ms[-1]) if len(stamps_ms) else -1, values.copy())
                self.refits += 1
            elif start < len(values):
                entry.detector.score(values[start:], timestamps=stamps_ms[start:].astype("datetime64[ms]"))
                entry.last_ms = int(stamps_ms[-1])
                entry.seen = values.copy()
                self.advances += 1
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return copy.deepcopy(entry.detector)

    @staticmethod
    def _resume_at(entry: _Entry, values: NDArray[np.float64], stamps_ms: NDArray[np.int64]) -> int | None:
        """Index of the first history value the entry has not read, or None when it must be refitted."""
        if not len(stamps_ms) or entry.last_ms > int(stamps_ms[-1]):
            return None
        at = int(np.searchsorted(stamps_ms, entry.last_ms, side="left"))
        if at >= len(stamps_ms) or int(stamps_ms[at]) != entry.last_ms:
            return None
        overlap = min(at + 1, len(entry.seen))
        if not np.array_equal(values[at + 1 - overlap : at + 1], entry.seen[len(entry.seen) - overlap :]):
            return None
        return at + 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


STREAMING_STATE = DetectorStateCache()
"""The process-wide cache used by the cycle's streaming checks."""
