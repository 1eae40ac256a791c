"""Ticket-theme benchmark on Banking77 (k unknown): NMI, ARI, unassigned share, clustering speed, embedding speed.

    PYTHONPATH=src python benchmarks/clustering/run.py /path/to/banking77 --cache-dir /tmp/selfheal-bench

Parameters are the engine defaults (`ClusterParams()`), chosen on train.csv and on Bitext (`--tune` prints the
former Ward-height grid on train; `levels.py --grid` the current one); the reported figures are on test.csv. Dense vectors are cached under --cache-dir (keyed by model and text
hash) so reruns skip the embedding; embedding throughput is always measured on a fresh 512-text sample.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from selfheal.embedding import DenseEmbedder, load_dense_embedder
from selfheal.reason.cluster import UNASSIGNED, Clustering, ClusterParams, cluster_vectors, lexical_vectors

THROUGHPUT_SAMPLE = 512


def load_split(root: Path, split: str) -> pd.DataFrame:
    path = root / f"{split}.csv"
    if not path.is_file():
        sys.exit(f"missing {path}: pass the Banking77 directory holding train.csv and test.csv")
    frame = pd.read_csv(path)
    if not {"text", "category"} <= set(frame.columns):
        sys.exit(f"{path} needs the columns text and category")
    return frame


def dense_vectors(embedder: DenseEmbedder, texts: list[str], cache_dir: Path | None) -> np.ndarray:
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cached = cache_dir / f"banking77-{embedder.name}-{digest}.npy" if cache_dir else None
    if cached and cached.is_file():
        return np.load(cached)
    vectors = embedder.embed(texts)
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, vectors)
    return vectors


def scores(truth: np.ndarray, clustering: Clustering) -> dict[str, float]:
    labels = clustering.labels
    assigned = labels != UNASSIGNED
    return {
        "nmi": normalized_mutual_info_score(truth[assigned], labels[assigned]),
        "ari": adjusted_rand_score(truth[assigned], labels[assigned]),
        "nmi_all": normalized_mutual_info_score(truth, labels),
        "ari_all": adjusted_rand_score(truth, labels),
        "unassigned": 1 - assigned.mean(),
        "themes": clustering.n_themes,
    }


def timed_cluster(vectors: np.ndarray, params: ClusterParams) -> tuple[Clustering, float]:
    started = time.perf_counter()
    result = cluster_vectors(vectors, params)
    return result, time.perf_counter() - started


def row(name: str, s: dict[str, float], seconds: float) -> str:
    return (
        f"| {name} | {s['themes']:.0f} | {s['nmi']:.3f} | {s['ari']:.3f} | {s['unassigned']:.1%} "
        f"| {s['nmi_all']:.3f} | {s['ari_all']:.3f} | {seconds:.2f} |"
    )


def tune(train: pd.DataFrame, dense: np.ndarray | None) -> None:
    """The grid the defaults were picked from (train split only, full and a 3,000-ticket sample)."""
    truth = train["category"].to_numpy()
    texts = train["text"].tolist()
    sample = np.random.default_rng(0).choice(len(train), 3000, replace=False)
    sources: list[tuple[str, np.ndarray]] = [("lexical", lexical_vectors(texts))]
    if dense is not None:
        sources.insert(0, ("dense", dense))
    print("| vectors | n | ward_tau | ratio | themes | NMI | ARI | unassigned | NMI all | ARI all |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, vectors in sources:
        for subset in (np.arange(len(train)), sample):
            for tau in (0.045, 0.05, 0.055, 0.06, 0.065):
                for ratio in (0.0, 0.7, 0.75, 0.8, 0.85):
                    clustering = cluster_vectors(
                        vectors[subset], ClusterParams(ward_tau=tau, min_similarity_ratio=ratio)
                    )
                    s = scores(truth[subset], clustering)
                    print(
                        f"| {name} | {len(subset)} | {tau} | {ratio} | {s['themes']:.0f} | {s['nmi']:.3f} "
                        f"| {s['ari']:.3f} | {s['unassigned']:.1%} | {s['nmi_all']:.3f} | {s['ari_all']:.3f} |",
                        flush=True,
                    )
    if dense is not None:
        print(
            "\n| dbscan on dense, n | eps | min_samples | themes | NMI | ARI | unassigned | NMI all | ARI all |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for eps in (0.2, 0.25, 0.3, 0.35):
            for min_samples in (5, 10):
                params = ClusterParams(method="dbscan", dbscan_eps=eps, dbscan_min_samples=min_samples)
                s = scores(truth, cluster_vectors(dense, params))
                print(
                    f"| {len(train)} | {eps} | {min_samples} | {s['themes']:.0f} | {s['nmi']:.3f} | {s['ari']:.3f} "
                    f"| {s['unassigned']:.1%} | {s['nmi_all']:.3f} | {s['ari_all']:.3f} |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path, help="Banking77 directory with train.csv and test.csv")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where dense vectors are cached")
    parser.add_argument("--tune", action="store_true", help="print the train-split grid instead")
    parser.add_argument("--no-dense", action="store_true", help="skip the dense model (fallback only)")
    args = parser.parse_args()

    train, test = load_split(args.data, "train"), load_split(args.data, "test")
    embedder = None if args.no_dense else load_dense_embedder()
    if args.tune:
        tune(train, dense_vectors(embedder, train["text"].tolist(), args.cache_dir) if embedder else None)
        return

    defaults = ClusterParams()
    truth = test["category"].to_numpy()
    texts = test["text"].tolist()
    print(f"load average (1/5/15 min) at start: {os.getloadavg()}")
    print(f"Banking77 test: {len(test)} texts, {test['category'].nunique()} intents; defaults {defaults}\n")
    print(
        "| vectors / method | themes | NMI | ARI | unassigned | NMI (all, unassigned as one group) | ARI (all) | cluster s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    lexical = lexical_vectors(texts)
    for name, vectors in [("tfidf-lsa / ward", lexical)]:
        result, seconds = timed_cluster(vectors, defaults)
        print(row(name, scores(truth, result), seconds), flush=True)
    dense_train = None
    if embedder is not None:
        dense = dense_vectors(embedder, texts, args.cache_dir)
        for name, params in [
            (f"{embedder.name} / ward (default)", defaults),
            (f"{embedder.name} / ward, nothing unassigned", replace(defaults, min_similarity_ratio=0.0)),
            (f"{embedder.name} / dbscan", replace(defaults, method="dbscan")),
        ]:
            result, seconds = timed_cluster(dense, params)
            print(row(name, scores(truth, result), seconds), flush=True)
        print("\nBatch size (random subsets of test, default parameters, dense):\n")
        print("| tickets | themes | NMI | ARI | unassigned |")
        print("|---|---|---|---|---|")
        for size in (300, 1000, 2000):
            subset = np.random.default_rng(size).choice(len(test), size, replace=False)
            s = scores(truth[subset], cluster_vectors(dense[subset], defaults))
            print(f"| {size} | {s['themes']:.0f} | {s['nmi']:.3f} | {s['ari']:.3f} | {s['unassigned']:.1%} |")
        dense_train = dense_vectors(embedder, train["text"].tolist(), args.cache_dir)

    print("\nSpeed (once embedded), 10,000 train tickets, default parameters:")
    big = (
        dense_train[:10_000] if dense_train is not None else lexical_vectors(train["text"].tolist()[:10_000])
    )
    cpu_started = time.process_time()
    _, seconds = timed_cluster(big, defaults)
    cpu = time.process_time() - cpu_started
    print(
        f"- cluster 10,000 {'dense' if dense_train is not None else 'lexical'} vectors: {seconds:.2f} s wall, "
        f"{cpu:.2f} s CPU (all threads; load average now {os.getloadavg()[0]:.1f})"
    )
    started = time.perf_counter()
    lexical_vectors(train["text"].tolist()[:10_000])
    print(f"- tfidf-lsa vectors for 10,000 texts: {time.perf_counter() - started:.2f} s")
    if embedder is not None:
        sample = train["text"].tolist()[-THROUGHPUT_SAMPLE:]
        started = time.perf_counter()
        embedder.embed(sample)
        rate = THROUGHPUT_SAMPLE / (time.perf_counter() - started)
        print(
            f"- {embedder.name} embedding throughput: {rate:.0f} texts/s ({THROUGHPUT_SAMPLE} texts, batch 64, CPU)"
        )


if __name__ == "__main__":
    main()
