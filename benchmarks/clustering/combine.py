"""The two small gains of earlier passes stacked: IDF-weighted pooling + self-training (whitening / LDA fitted on
the first clustering's themes), and IDF pooling + the kNN-graph partition of `graph.py` (issue #19, sixth pass).

    PYTHONPATH=src:/path/to/igraph python benchmarks/clustering/combine.py --banking77 /path/to/banking77 \\
        --bitext /path/to/bitext-support --cache-dir /tmp/selfheal-bench

Scored on Banking77 train and Bitext only (theme NMI / unassigned / themes; Bitext group NMI), vectors from the
per-layer cache of `layers.py`: the batch's own IDF (as the fourth pass), every candidate of `selftrain.py` on
those vectors, and the graph partition (15 neighbours) on them.
"""

from __future__ import annotations

import sys

import numpy as np
from graph import hybrid
from pooling import SPECIAL_IDS, batch_idf, load, pooled_mean
from selftrain import candidates, cell

import selfheal.reason.cluster.algorithms as alg
from selfheal.embedding import load_dense_embedder
from selfheal.reason.cluster import ClusterParams


def main() -> None:
    from views import tuning_arguments

    args = tuning_arguments(__doc__)
    embedder = load_dense_embedder()
    if embedder is None:
        sys.exit("the dense model is not installed")
    model = embedder._model  # type: ignore[attr-defined]
    sets = [
        load(model, "Banking77 train", args.banking77 / "train.csv", "category", None, args.cache_dir),
        load(model, "Bitext", args.bitext / "tickets.csv", "intent", "category", args.cache_dir),
    ]
    rows: dict[str, list[str]] = {}
    for data in sets:
        t = data.tokens
        x = pooled_mean(t, (6,), batch_idf(t, ~np.isin(t.ids, SPECIAL_IDS)))
        for label, c in candidates(x, data.fine, data.coarse).items():
            rows.setdefault(f"IDF pooling + {label}", []).append(c[3])
        labels, groups, _ = hybrid(x, 15, False)
        z = alg.centre(x)
        for ratio in (0.5, 0.55, 0.6):
            params = ClusterParams(min_similarity_ratio=ratio)
            result = alg._finish(z, labels, groups, params, np.ones(z.shape[0], dtype=np.int64))
            rows.setdefault(f"IDF pooling + graph partition (15 neighbours), ratio {ratio}", []).append(
                cell(result, data.fine, data.coarse)[3]
            )
    print("| candidate | Banking77 train | Bitext |\n|---|---|---|")
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
