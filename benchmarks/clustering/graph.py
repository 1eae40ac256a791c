"""Graph communities instead of (or inside) the Ward tree cut, measured (issue #19, sixth pass).

    PYTHONPATH=src:/path/to/igraph python benchmarks/clustering/graph.py --banking77 /path/to/banking77 \\
        --bitext /path/to/bitext-support --cache-dir /tmp/selfheal-bench [--hybrid | --sizes | --propagate | --scaled]

The tickets' k-nearest-neighbour graph (cosine on the centred MiniLM vectors; edge weight the similarity, or
the shared-neighbour overlap for `snn`) split by Leiden (python-igraph, modularity at resolution `gamma`);
the product's unassigned rule (`min_similarity_ratio` x the median similarity to the theme centre) is applied
to the communities. Scored on the two tuning sets only (Banking77 train, Bitext).

- default: a scan over gamma (the best any gamma can do, i.e. gamma picked with the labels), with the
  stability of each gamma under resampling (two Leiden runs on 80 % subsamples of a 3,000-ticket sample,
  adjusted Rand index on the shared tickets) as the label-free criterion;
- `--hybrid`: the product's Ward pipeline decides how many themes (its stability-chosen cut) and the groups;
  Leiden on the kNN graph decides which tickets form each theme (resolution bisected to give as many
  communities as Ward's themes), a community's group being the Ward group most of its tickets are in. The
  graph is built on the whole batch (`full`) or on the Ward sample only, other tickets taking the community of
  most of their nearest sample tickets (`sample`);
- `--sizes`: the same on random 3,000-ticket batches of each tuning set (three seeds), several neighbourhoods;
- `--propagate`: no igraph: label propagation on the kNN graph from the default's themes (numpy only; each
  round a ticket takes the theme holding most of its neighbours' similarity), on the full sets and on random
  3,000-ticket batches;
- `--scaled`: the graph partition with k = round(c * sqrt(n)) neighbours on batches of 1,000 / 3,000 / 6,000
  tickets and the whole sets.

igraph is not a project dependency (and is GPL-2.0-or-later; the product is MIT): install it apart
(`pip install --target DIR igraph`) and put DIR on PYTHONPATH.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
from selftrain import Cell, cell
from sklearn.metrics import normalized_mutual_info_score

import selfheal.reason.cluster.algorithms as alg
from selfheal.reason.cluster import ClusterParams

GAMMAS = (0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0)
BLOCK = 1024


def knn(z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest other rows (indices, cosine similarities), in blocks."""
    n = z.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    sim = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, BLOCK):
        s = z[start : start + BLOCK] @ z.T
        rows = np.arange(s.shape[0])
        s[rows, start + rows] = -np.inf
        part = np.argpartition(s, -k, axis=1)[:, -k:]
        idx[start : start + BLOCK] = part
        sim[start : start + BLOCK] = s[rows[:, None], part]
    return idx, sim


def graph(z: np.ndarray, k: int, weighting: str) -> Any:
    import igraph as ig

    idx, sim = knn(z, k)
    n = z.shape[0]
    src = np.repeat(np.arange(n), k)
    dst = idx.ravel()
    if weighting == "snn":
        members = [set(row.tolist()) | {i} for i, row in enumerate(idx)]
        w = np.array(
            [
                len(members[a] & members[b]) / (2 * k + 2 - len(members[a] & members[b]))
                for a, b in zip(src, dst, strict=True)
            ]
        )
    else:
        w = np.maximum(sim.ravel(), 0.0).astype(np.float64)
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    key = lo * n + hi
    order = np.argsort(key, kind="stable")
    key, w_sorted = key[order], w[order]
    unique, first = np.unique(key, return_index=True)
    weights = np.maximum.reduceat(w_sorted, first)
    g = ig.Graph(n=n, edges=np.stack([unique // n, unique % n], axis=1).tolist(), directed=False)
    g.es["weight"] = weights.tolist()
    return g


def leiden(g: Any, gamma: float, seed: int = 0) -> np.ndarray:
    import random

    random.seed(seed)
    part = g.community_leiden(
        objective_function="modularity", weights="weight", resolution=gamma, n_iterations=-1
    )
    return np.asarray(part.membership, dtype=np.int64)


def finish(z: np.ndarray, labels: np.ndarray, ratio: float) -> alg.Clustering:
    k = int(labels.max()) + 1
    return alg._finish(
        z,
        labels,
        np.arange(k, dtype=np.int64),
        ClusterParams(min_similarity_ratio=ratio),
        np.ones(z.shape[0], dtype=np.int64),
    )


def stability(z: np.ndarray, k: int, weighting: str, gamma: float, rng: np.random.Generator) -> float:
    n = z.shape[0]
    size = int(0.8 * n)
    a, b = (np.sort(rng.choice(n, size, replace=False)) for _ in range(2))
    la = leiden(graph(z[a], k, weighting), gamma)
    lb = leiden(graph(z[b], k, weighting), gamma)
    _, ia, ib = np.intersect1d(a, b, return_indices=True)
    return alg.adjusted_rand(la[ia], lb[ib])


def scan(name: str, x: np.ndarray, fine: np.ndarray, coarse: np.ndarray | None) -> None:
    z = alg.centre(x)
    for k in (10, 20):
        for weighting in ("cos", "snn"):
            started = time.perf_counter()
            g = graph(z, k, weighting)
            built = time.perf_counter() - started
            for gamma in GAMMAS:
                started = time.perf_counter()
                labels = leiden(g, gamma)
                seconds = time.perf_counter() - started
                raw_nmi = normalized_mutual_info_score(fine, labels)
                c: Cell = cell(finish(z, labels, 0.6), fine, coarse)
                c55 = cell(finish(z, labels, 0.55), fine, coarse)
                rng = np.random.default_rng(0)
                stab = np.mean(
                    [
                        stability(
                            z[np.sort(rng.choice(z.shape[0], min(3000, z.shape[0]), replace=False))],
                            k,
                            weighting,
                            gamma,
                            rng,
                        )
                        for _ in range(2)
                    ]
                )
                print(
                    f"| {name} | k {k} {weighting} | {gamma} | {int(labels.max()) + 1} | {raw_nmi:.3f} | {c[3]} | {c55[3]} | stab {stab:.3f} | graph {built:.1f} s, leiden {seconds:.2f} s |",
                    flush=True,
                )


def main() -> None:
    from pooling import load, pooled_mean
    from views import tuning_arguments

    from selfheal.embedding import load_dense_embedder

    args = tuning_arguments(__doc__, extra=("--hybrid", "--sizes", "--propagate", "--scaled"))
    embedder = load_dense_embedder()
    if embedder is None:
        sys.exit("the dense model is not installed")
    model = embedder._model  # type: ignore[attr-defined]
    for name, path, fine, coarse in (
        ("Banking77 train", args.banking77 / "train.csv", "category", None),
        ("Bitext", args.bitext / "tickets.csv", "intent", "category"),
    ):
        data = load(model, name, path, fine, coarse, args.cache_dir)
        x = pooled_mean(data.tokens, (6,))
        if args.scaled:
            scaled_neighbourhoods(name, x, data.fine, data.coarse)
        elif args.propagate:
            propagation_scan(name, x, data.fine, data.coarse)
            propagation_sizes(name, x, data.fine, data.coarse)
        elif args.sizes:
            batch_sizes(name, x, data.fine, data.coarse)
        elif args.hybrid:
            hybrid_scan(name, x, data.fine, data.coarse)
        else:
            scan(name, x, data.fine, data.coarse)


def communities_near(
    g: Any, target: int, low: float = 0.05, high: float = 40.0, steps: int = 12
) -> np.ndarray:
    """Leiden labels with the resolution bisected (log scale) so the count of communities is nearest `target`."""
    best: tuple[int, np.ndarray] | None = None
    for _ in range(steps):
        gamma = float(np.sqrt(low * high))
        labels = leiden(g, gamma)
        count = int(labels.max()) + 1
        if best is None or abs(count - target) < best[0]:
            best = (abs(count - target), labels)
        if count == target:
            break
        if count < target:
            low = gamma
        else:
            high = gamma
    assert best is not None
    return best[1]


def hybrid(x: np.ndarray, k: int, averaged: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Ward (the product's pipeline) decides how many themes and the groups; Leiden on the kNN graph decides
    which tickets form each theme (as many communities as Ward's themes); a community's group is the Ward group
    most of its tickets are in. Returns raw labels, each community's group, seconds of the graph part."""
    params = ClusterParams()
    z = alg.centre(x)
    ward, theme_groups = alg._ward_refined(z, params)
    started = time.perf_counter()
    space = z
    if averaged:
        n = z.shape[0]
        rng = np.random.default_rng(params.seed)
        chosen = (
            np.arange(n)
            if n <= params.sample_cap
            else np.sort(rng.choice(n, params.sample_cap, replace=False))
        )
        space = alg.neighbourhood_means(z, z[chosen], alg.effective_neighbours(n, params))
    labels = communities_near(graph(space, k, "cos"), int(ward.max()) + 1)
    ward_group = theme_groups[ward]
    groups = np.array([np.bincount(ward_group[labels == c]).argmax() for c in range(int(labels.max()) + 1)])
    return labels, groups, time.perf_counter() - started


RATIOS = (0.5, 0.55, 0.6)


def print_ratio_row(
    label: str,
    z: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    fine: np.ndarray,
    coarse: np.ndarray | None,
    seconds: float,
) -> None:
    """One table row: a partition finished at each unassigned ratio of `RATIOS`, scored, and its time."""
    cells = []
    for ratio in RATIOS:
        params = ClusterParams(min_similarity_ratio=ratio)
        result = alg._finish(z, labels, groups, params, np.ones(z.shape[0], dtype=np.int64))
        cells.append(cell(result, fine, coarse)[3])
    print(f"| {label} | " + " | ".join(cells) + f" | {seconds:.1f} s |", flush=True)


def hybrid_scan(name: str, x: np.ndarray, fine: np.ndarray, coarse: np.ndarray | None) -> None:
    z = alg.centre(x)
    for k, variant in ((10, "sample"), (15, "sample"), (20, "sample"), (15, "full"), (12, "full")):
        labels, groups, seconds = hybrid_sample(x, k) if variant == "sample" else hybrid(x, k, False)
        print_ratio_row(
            f"{name} | Ward k + graph partition, {k} neighbours, graph on {variant}",
            z,
            labels,
            groups,
            fine,
            coarse,
            seconds,
        )


def hybrid_sample(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """As `hybrid`, with the graph on the Ward sample only; every other ticket takes the community most of its
    `k` nearest sample tickets are in."""
    params = ClusterParams()
    z = alg.centre(x)
    ward, theme_groups = alg._ward_refined(z, params)
    started = time.perf_counter()
    n = z.shape[0]
    rng = np.random.default_rng(params.seed)
    chosen = (
        np.arange(n) if n <= params.sample_cap else np.sort(rng.choice(n, params.sample_cap, replace=False))
    )
    sample_labels = communities_near(graph(z[chosen], k, "cos"), int(ward.max()) + 1)
    labels = np.empty(n, dtype=np.int64)
    for start in range(0, n, BLOCK):
        s = z[start : start + BLOCK] @ z[chosen].T
        near = np.argpartition(s, -k, axis=1)[:, -k:]
        votes = sample_labels[near]
        labels[start : start + BLOCK] = [np.bincount(v).argmax() for v in votes]
    labels[chosen] = sample_labels
    ward_group = theme_groups[ward]
    groups = np.array(
        [
            np.bincount(ward_group[labels == c]).argmax() if (labels == c).any() else 0
            for c in range(int(labels.max()) + 1)
        ]
    )
    return labels, groups, time.perf_counter() - started


def batch_sizes(name: str, x: np.ndarray, fine: np.ndarray, coarse: np.ndarray | None) -> None:
    """Random batches of 3,000 tickets of a tuning set (three seeds): the default against the graph partition
    at several neighbourhood sizes (does the gain of the full set hold on a batch the size of the test split?)."""
    for seed in (1, 2, 3):
        rows = np.sort(np.random.default_rng(seed).choice(x.shape[0], 3000, replace=False))
        xs, fs, cs = x[rows], fine[rows], coarse[rows] if coarse is not None else None
        z = alg.centre(xs)
        ward_raw = alg._ward_refined(z, ClusterParams())
        cells = []
        for ratio in (0.55, 0.6):
            params = ClusterParams(min_similarity_ratio=ratio)
            cells.append(
                f"default {ratio}: "
                + cell(alg._finish(z, *ward_raw, params, np.ones(3000, dtype=np.int64)), fs, cs)[3]
            )
        for k in (5, 8, 10, 15):
            labels, groups, _ = hybrid(xs, k, False)
            params = ClusterParams(min_similarity_ratio=0.55)
            cells.append(
                f"graph k {k} 0.55: "
                + cell(alg._finish(z, labels, groups, params, np.ones(3000, dtype=np.int64)), fs, cs)[3]
            )
        print(f"| {name} 3,000 (seed {seed}) | " + " | ".join(cells) + " |", flush=True)


def propagate(
    z: np.ndarray, labels: np.ndarray, k: int, rounds: int, pool: np.ndarray | None = None
) -> np.ndarray:
    """Label propagation on the kNN graph from the default's themes (numpy only): each round every ticket takes
    the theme holding most of the similarity of its k nearest tickets (of `pool`, default all), itself counted."""
    pool = np.arange(z.shape[0]) if pool is None else pool
    n, width = z.shape[0], int(labels.max()) + 1
    idx = np.empty((n, k), dtype=np.int64)
    sim = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, BLOCK):
        s = z[start : start + BLOCK] @ z[pool].T
        part = np.argpartition(s, -k, axis=1)[:, -k:]
        idx[start : start + BLOCK] = pool[part]
        sim[start : start + BLOCK] = np.take_along_axis(s, part, axis=1)
    out = labels.copy()
    rows = np.repeat(np.arange(n), k)
    for _ in range(rounds):
        votes = np.zeros((n, width))
        np.add.at(votes, (rows, out[idx].ravel()), np.maximum(sim.ravel(), 0))
        votes[np.arange(n), out] += 1.0  # the ticket itself
        new = votes.argmax(axis=1)
        if np.array_equal(new, out):
            break
        out = new
    return out


def propagation_scan(name: str, x: np.ndarray, fine: np.ndarray, coarse: np.ndarray | None) -> None:
    params = ClusterParams()
    z = alg.centre(x)
    ward, groups = alg._ward_refined(z, params)
    n = z.shape[0]
    rng = np.random.default_rng(params.seed)
    sample = (
        np.arange(n) if n <= params.sample_cap else np.sort(rng.choice(n, params.sample_cap, replace=False))
    )
    for k, rounds, scope in (
        (0, 0, "-"),
        (10, 1, "sample"),
        (10, 5, "sample"),
        (10, 5, "all"),
        (15, 5, "all"),
        (5, 5, "all"),
        (10, 20, "all"),
    ):
        started = time.perf_counter()
        labels = ward if k == 0 else propagate(z, ward, k, rounds, sample if scope == "sample" else None)
        seconds = time.perf_counter() - started
        print_ratio_row(
            f"{name} | propagation k {k}, {rounds} rounds, neighbours among {scope}",
            z,
            labels,
            groups,
            fine,
            coarse,
            seconds,
        )


def propagation_sizes(name: str, x: np.ndarray, fine: np.ndarray, coarse: np.ndarray | None) -> None:
    """Label propagation (10 neighbours among all, 5 rounds, ratio 0.6) on random 3,000-ticket batches."""
    for seed in (1, 2, 3):
        rows = np.sort(np.random.default_rng(seed).choice(x.shape[0], 3000, replace=False))
        z = alg.centre(x[rows])
        fs, cs = fine[rows], coarse[rows] if coarse is not None else None
        ward, groups = alg._ward_refined(z, ClusterParams())
        cells = []
        for label, labels in (("default", ward), ("propagated", propagate(z, ward, 10, 5))):
            result = alg._finish(z, labels, groups, ClusterParams(), np.ones(3000, dtype=np.int64))
            cells.append(f"{label}: " + cell(result, fs, cs)[3])
        print(f"| {name} 3,000 (seed {seed}) | " + " | ".join(cells) + " |", flush=True)


def scaled_neighbourhoods(name: str, x: np.ndarray, fine: np.ndarray, coarse: np.ndarray | None) -> None:
    """The graph partition with a neighbourhood that grows with the batch, k = round(c * sqrt(n)), on random
    batches of 1,000 / 3,000 / 6,000 tickets (two seeds) and the whole set; ratio 0.55, default beside."""
    sizes = [m for m in (1000, 3000, 6000) if m < x.shape[0]] + [x.shape[0]]
    for m in sizes:
        for seed in (1, 2) if m < x.shape[0] else (0,):
            rows = np.sort(np.random.default_rng(seed).choice(x.shape[0], m, replace=False))
            z = alg.centre(x[rows])
            fs, cs = fine[rows], coarse[rows] if coarse is not None else None
            params = ClusterParams(min_similarity_ratio=0.55)
            ward_raw = alg._ward_refined(z, ClusterParams())
            cells = [
                "default 0.55: "
                + cell(alg._finish(z, *ward_raw, params, np.ones(m, dtype=np.int64)), fs, cs)[3]
            ]
            for c in (0.1, 0.15, 0.2):
                k = max(3, round(c * np.sqrt(m)))
                labels, groups, _ = hybrid(x[rows], k, False)
                result = alg._finish(z, labels, groups, params, np.ones(m, dtype=np.int64))
                cells.append(f"c {c} (k {k}): " + cell(result, fs, cs)[3])
            print(f"| {name} {m} (seed {seed}) | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
