"""Discriminative re-clustering (self-training) for themes, measured (issue #19, fifth pass).

    PYTHONPATH=src python benchmarks/clustering/selftrain.py --banking77 /path/to/banking77 \\
        --bitext /path/to/bitext-support --cache-dir /tmp/selfheal-bench [--test]

1. cluster with the default `ClusterParams()` -> pseudo-labels (themes; unassigned tickets left out);
2. fit a projection on the assigned tickets' (centred vector, pseudo-label) pairs:
   - `lda`: sklearn LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto"), k-1 discriminant axes;
   - `white p`: the pooled within-theme covariance C (Ledoit-Wolf shrunk), all 384 axes, x -> x C^-p
     (p = 0.5 is full whitening, smaller p a partial one);
3. project every ticket and cluster again with the same pipeline (Ward, `auto` cut, k-means), the unassigned
   rule applied in the projected space (`ratio`) or on the original vectors (`orig`); `x2`: steps 2-3 twice.

Diagnostics (not candidates): the default with the number of themes forced to 77 on Banking77 train (is the
gap granularity or representation?), and the same whitening fitted on the TRUE intents (supervised: what a
perfect pseudo-labelling would give).

The candidate is chosen on Banking77 **train** and **Bitext** only, by the rule of `views.py`: the highest
mean theme NMI over the two sets with <= 5 % unassigned on both. `--test` scores it (and the default) once on
Banking77 test. Dense vectors are cached under --cache-dir (the cache of `run.py`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster
from sklearn.cluster import KMeans
from sklearn.covariance import ledoit_wolf
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import normalized_mutual_info_score

from selfheal.embedding import load_dense_embedder
from selfheal.reason.cluster import ClusterParams, cluster_vectors
from selfheal.reason.cluster import algorithms as alg

MAX_UNASSIGNED = 0.05
MIN_GROUP_NMI = 0.80
RATIOS = (0.5, 0.55, 0.6)
MODES = ("lda", "white 0.25", "white 0.35", "white 0.5")


def project(x: np.ndarray, labels: np.ndarray, mode: str) -> np.ndarray:
    """The centred vectors projected by a transform fitted on the assigned rows' pseudo-labels."""
    z = alg.centre(x).astype(np.float64)
    assigned = labels >= 0
    if mode == "lda":
        lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(z[assigned], labels[assigned])
        return np.asarray(lda.transform(z))
    power = float(mode.split()[1])
    k = int(labels.max()) + 1
    means = np.stack([z[labels == c].mean(axis=0) for c in range(k)])
    covariance, _ = ledoit_wolf(z[assigned] - means[labels[assigned]])
    values, vectors = np.linalg.eigh(covariance)
    return np.asarray(z @ vectors @ np.diag(values**-power) @ vectors.T)


def nmi(a: np.ndarray, b: np.ndarray) -> float:
    return float(normalized_mutual_info_score(a, b))


Cell = tuple[float, float, float | None, str]


def cell(result: alg.Clustering, fine: np.ndarray, coarse: np.ndarray | None) -> Cell:
    """Theme NMI (assigned tickets), unassigned share, group NMI (None without coarse labels), the text."""
    assigned = result.labels >= 0
    theme = nmi(fine[assigned], result.labels[assigned])
    group = nmi(coarse[assigned], result.group_labels[assigned]) if coarse is not None else None
    share = float(1 - assigned.mean())
    text = f" (group {group:.3f})" if group is not None else ""
    return theme, share, group, f"{theme:.3f} / {share:.1%} / {result.n_themes}{text}"


def finish(base: np.ndarray, raw: tuple[np.ndarray, np.ndarray], ratio: float) -> alg.Clustering:
    labels, groups = raw
    params = ClusterParams(min_similarity_ratio=ratio)
    return alg._finish(alg.centre(base), labels, groups, params, np.ones(base.shape[0], dtype=np.int64))


def raw_labels(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pipeline up to (not including) the unassigned rule, which only depends on the ratio."""
    return alg._ward_refined(alg.centre(x), ClusterParams())


def forced_k(x: np.ndarray, k: int) -> alg.Clustering:
    """The default pipeline with the Ward tree cut into k themes (k given)."""
    params = ClusterParams()
    z = alg.centre(x)
    n = z.shape[0]
    rng = np.random.default_rng(params.seed)
    chosen = np.sort(rng.choice(n, min(n, params.sample_cap), replace=False))
    averaged = alg.neighbourhood_means(z, z[chosen], alg.effective_neighbours(n, params))
    sample = averaged[chosen]
    cut = fcluster(alg.ward_tree_from_distances(alg.euclidean_distances(sample)), k, criterion="maxclust") - 1
    init = np.stack([sample[cut == c].mean(axis=0) for c in range(k)])
    km = KMeans(n_clusters=k, init=init, n_init=1, max_iter=params.refine_iterations, random_state=0)
    labels = np.asarray(km.fit(averaged).labels_, dtype=np.int64)
    return alg._finish(z, labels, np.arange(k, dtype=np.int64), params, np.ones(n, dtype=np.int64))


def candidates(x: np.ndarray, fine: np.ndarray, coarse: np.ndarray | None) -> dict[str, Cell]:
    out: dict[str, Cell] = {}
    default_raw = raw_labels(x)
    for ratio in RATIOS:
        out[f"default, ratio {ratio}"] = cell(finish(x, default_raw, ratio), fine, coarse)
    pseudo = finish(x, default_raw, 0.6).labels
    for mode in MODES:
        started = time.perf_counter()
        projected = project(x, pseudo, mode)
        raw = raw_labels(projected)
        seconds = time.perf_counter() - started
        for ratio in RATIOS:
            out[f"{mode}, ratio {ratio}"] = cell(finish(projected, raw, ratio), fine, coarse)
        out[f"{mode}, orig 0.6"] = cell(finish(x, raw, 0.6), fine, coarse)
        again = project(x, finish(projected, raw, 0.6).labels, mode)
        raw2 = raw_labels(again)
        for ratio in RATIOS:
            out[f"{mode} x2, ratio {ratio}"] = cell(finish(again, raw2, ratio), fine, coarse)
        print(f"  ({mode}: projection + re-clustering {seconds:.1f} s for {x.shape[0]} tickets)", flush=True)
    return out


def apply(x: np.ndarray, label: str) -> alg.Clustering:
    """One candidate (by its row label) on a new set."""
    name, setting = label.split(", ")
    ratio = float(setting.split()[-1])
    default_raw = raw_labels(x)
    if name == "default":
        return finish(x, default_raw, ratio)
    mode = name.removesuffix(" x2")
    projected = project(x, finish(x, default_raw, 0.6).labels, mode)
    raw = raw_labels(projected)
    if name.endswith(" x2"):
        projected = project(x, finish(projected, raw, 0.6).labels, mode)
        raw = raw_labels(projected)
    return finish(x if setting.startswith("orig") else projected, raw, ratio)


def choose(results: dict[str, dict[str, Cell]]) -> str:
    """The candidate chosen on the tuning sets (printed with its runners-up)."""

    def mean(label: str) -> float:
        return float(np.mean([results[s][label][0] for s in results]))

    def allowed(label: str, bars: bool) -> bool:
        """<= 5 % unassigned on both sets; with `bars`, also no theme NMI below the default's on either set
        and Bitext group NMI >= 0.80 (the issue's bar; the plain rule of views.py does not look at groups)."""
        cells = [results[s][label] for s in results]
        if any(c[1] > MAX_UNASSIGNED for c in cells):
            return False
        if not bars:
            return True
        default = [results[s]["default, ratio 0.6"] for s in results]
        worse = any(c[0] < d[0] for c, d in zip(cells, default, strict=True))
        return not worse and all(c[2] is None or c[2] >= MIN_GROUP_NMI for c in cells)

    ranked = sorted(results["Banking77 train"], key=mean, reverse=True)
    print("\nmean theme NMI of the five best with <= 5 % unassigned on both:")
    for label in [label for label in ranked if allowed(label, False)][:5]:
        print(f"- {label}: {mean(label):.4f}" + ("" if allowed(label, True) else " (fails a bar)"))
    plain = next(label for label in ranked if allowed(label, False))
    chosen = next(label for label in ranked if allowed(label, True))
    print(f"\nviews.py rule alone would take: {plain}")
    print(f"chosen (rule + neither set worse + Bitext group NMI >= 0.80): {chosen} ({mean(chosen):.4f})")
    return chosen


def main() -> None:
    from run import dense_vectors  # benchmarks/clustering/run.py (the script's folder is on sys.path)
    from views import tuning_arguments

    args = tuning_arguments(__doc__)

    embedder = load_dense_embedder()
    if embedder is None:
        sys.exit("the dense model is not installed (pip install -e .[embed])")

    def load(path: Path, fine: str, coarse: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        frame = pd.read_csv(path)
        vectors = dense_vectors(embedder, frame["text"].astype(str).tolist(), args.cache_dir)
        return vectors, frame[fine].to_numpy(), frame[coarse].to_numpy() if coarse else None

    train = load(args.banking77 / "train.csv", "category", None)
    bitext = load(args.bitext / "tickets.csv", "intent", "category")
    x, fine, _ = train
    print(f"diagnostic, Banking77 train, k = 77 given: {cell(forced_k(x, 77), fine, None)[3]}")
    _, truth = np.unique(fine, return_inverse=True)
    for mode in ("white 0.35", "white 0.5"):
        oracle = project(x, truth.astype(np.int64), mode)
        print(
            f"diagnostic, Banking77 train, {mode} fitted on the TRUE intents: "
            f"auto {cell(cluster_vectors(oracle), fine, None)[3]}; k = 77 {cell(forced_k(oracle, 77), fine, None)[3]}",
            flush=True,
        )
    results = {name: candidates(*data) for name, data in (("Banking77 train", train), ("Bitext", bitext))}
    print("\n| candidate | Banking77 train NMI / unassigned / themes | Bitext NMI / unassigned / themes |")
    print("|---|---|---|")
    for label in results["Banking77 train"]:
        print(f"| {label} | {results['Banking77 train'][label][3]} | {results['Bitext'][label][3]} |")
    chosen = choose(results)
    if not args.test:
        return
    xt, ft, _ = load(args.banking77 / "test.csv", "category", None)
    for label in ("default, ratio 0.6", chosen):
        print(f"- Banking77 test, {label}: {cell(apply(xt, label), ft, None)[3]}")


if __name__ == "__main__":
    main()
