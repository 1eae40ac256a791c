"""The detector interface and its registry.

A detector is scikit-learn style: parameters only in `__init__`, `fit` learns from history and returns self,
learned state ends in `_`. `score` rates new points causally (a point's score uses only that point and the ones
before it), absorbs them into the state, and returns scores in [0, 1], higher = more anomalous. Deciding what
counts as an alarm is a separate step; `default_threshold` is the detector's own suggestion.

A new detector is one subclass plus `@register`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from selfheal.errors import InvalidInput

FloatArray = NDArray[np.float64]


class Detector(ABC):
    """Fit on history, then score new points as they arrive."""

    name: ClassVar[str]
    default_threshold: ClassVar[float] = 0.5
    needs_trials: ClassVar[bool] = False
    """True for rate detectors: `values` are failures (or successes) out of `trials`."""

    def fit(
        self, values: ArrayLike, *, timestamps: ArrayLike | None = None, trials: ArrayLike | None = None
    ) -> Detector:
        """Forget any previous state and learn from `values` (oldest first)."""
        self.reset()
        v, t, n = self._check(values, timestamps, trials)
        if len(v):
            self._update(v, t, n)
        return self

    def score(
        self, values: ArrayLike, *, timestamps: ArrayLike | None = None, trials: ArrayLike | None = None
    ) -> FloatArray:
        """Scores in [0, 1] for the new points, each using only itself and earlier points."""
        v, t, n = self._check(values, timestamps, trials)
        if not len(v):
            return np.zeros(0)
        out = np.clip(self._update(v, t, n), 0.0, 1.0)
        return np.where(np.isfinite(out), out, 0.0)

    def expected(self) -> FloatArray:
        """Expected values (the baseline) of the points scored last, for explaining a finding."""
        return getattr(self, "expected_", np.zeros(0))

    def reasons(self) -> list[str]:
        """Why each point scored last raised an alarm, in words ('' where it did not); empty if not told."""
        return list(getattr(self, "reasons_", []))

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    @abstractmethod
    def reset(self) -> None:
        """Drop the learned state (attributes ending in `_`)."""

    @abstractmethod
    def _update(
        self, values: FloatArray, timestamps: NDArray[np.int64] | None, trials: FloatArray | None
    ) -> FloatArray:
        """Score `values` causally and fold them into the state. Returns one raw score per value."""

    def _check(
        self, values: ArrayLike, timestamps: ArrayLike | None, trials: ArrayLike | None
    ) -> tuple[FloatArray, NDArray[np.int64] | None, FloatArray | None]:
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        t = None if timestamps is None else np.asarray(timestamps).astype("datetime64[ms]").astype(np.int64)
        n = None if trials is None else np.asarray(trials, dtype=np.float64).reshape(-1)
        if t is not None and len(t) != len(v):
            raise InvalidInput("timestamps and values differ in length", {"field": "timestamps"})
        if self.needs_trials:
            if n is None or len(n) != len(v):
                raise InvalidInput(
                    f"detector {self.name!r} needs one trial count per value", {"field": "trials"}
                )
            if np.any(n < 0) or np.any(v < 0) or np.any(v > n):
                raise InvalidInput("counts must satisfy 0 <= value <= trials", {"field": "values"})
        return v, t, n


DEFAULT_DETECTOR = "context"
"""The detector used by the cycle's streaming checks, `selfheal detect` and the NAB benchmark by default."""

D = TypeVar("D", bound=type[Detector])
REGISTRY: dict[str, type[Detector]] = {}


def register(cls: D) -> D:
    """Class decorator: make a detector available by its `name`."""
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise ValueError(f"detector name {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls
    return cls


def make_detector(name: str, **params: Any) -> Detector:
    """A new detector by registered name; unknown names and parameters are InvalidInput."""
    cls = REGISTRY.get(name)
    if cls is None:
        raise InvalidInput(f"unknown detector {name!r}", {"field": "detector", "known": sorted(REGISTRY)})
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidInput(f"bad parameters for detector {name!r}: {exc}", {"field": "params"}) from exc
