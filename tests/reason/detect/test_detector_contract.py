"""One contract for every registered detector: scikit-learn style parameters, fit returns self, learned state
ends in `_` and is dropped by reset, scores in [0, 1] one per point, causal and chunk-invariant, and `fit` forgets what came before."""

from __future__ import annotations

import numpy as np
import pytest

from selfheal.reason.detect import REGISTRY, Detector, make_detector

N_POINTS = 2_600


def _series(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A per-minute daily pattern of counts out of trials, with a level shift near the end."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(N_POINTS)
    trials = rng.poisson(200 + 100 * np.sin(2 * np.pi * minutes / 1440)).astype(float) + 1
    failures = rng.binomial(trials.astype(int), 0.02).astype(float)
    failures[-100:] = rng.binomial(trials[-100:].astype(int), 0.3)
    stamps = np.datetime64("2026-11-01T00:00", "ms") + minutes.astype("timedelta64[m]")
    return failures, trials, stamps


def _score(
    det: Detector, values: np.ndarray, trials: np.ndarray, stamps: np.ndarray, chunks: int
) -> np.ndarray:
    pieces = np.array_split(np.arange(len(values)), chunks)
    out = []
    for idx in pieces:
        kwargs = {"timestamps": stamps[idx]}
        if det.needs_trials:
            kwargs["trials"] = trials[idx]
        out.append(det.score(values[idx], **kwargs))
    return np.concatenate(out)


@pytest.fixture(params=sorted(REGISTRY))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_parameters_only_in_init_and_learned_state_ends_in_underscore(name: str) -> None:
    det = make_detector(name)
    params = det.get_params()
    assert all(not k.endswith("_") for k in params)
    assert type(det)(**params).get_params() == params
    values, trials, stamps = _series(1)
    kwargs = {"timestamps": stamps[:500], **({"trials": trials[:500]} if det.needs_trials else {})}
    assert det.fit(values[:500], **kwargs) is det
    assert det.get_params() == params
    det.reset()
    assert det.get_params() == params


def test_scores_are_bounded_one_per_point_causal_and_chunk_invariant(name: str) -> None:
    values, trials, stamps = _series(2)
    whole = _score(make_detector(name), values, trials, stamps, chunks=1)
    assert whole.shape == values.shape
    assert np.all((whole >= 0) & (whole <= 1)) and np.all(np.isfinite(whole))
    assert np.allclose(_score(make_detector(name), values, trials, stamps, chunks=7), whole, atol=1e-9)
    prefix = _score(make_detector(name), values[:1_800], trials[:1_800], stamps[:1_800], chunks=1)
    assert np.allclose(prefix, whole[:1_800], atol=1e-9), "a score changed when later points arrived"


def test_fit_forgets_the_previous_state(name: str) -> None:
    values, trials, stamps = _series(3)
    extra = {"trials": trials[:800]} if make_detector(name).needs_trials else {}
    fresh = make_detector(name).fit(values[:800], timestamps=stamps[:800], **extra)
    reused = make_detector(name)
    _score(reused, values[::-1].copy(), trials[::-1].copy(), stamps, chunks=1)
    reused.fit(values[:800], timestamps=stamps[:800], **extra)
    tail_extra = {"trials": trials[800:1200]} if fresh.needs_trials else {}
    assert np.allclose(
        fresh.score(values[800:1200], timestamps=stamps[800:1200], **tail_extra),
        reused.score(values[800:1200], timestamps=stamps[800:1200], **tail_extra),
        atol=1e-9,
    )
