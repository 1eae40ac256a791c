"""Richer ticket representations for themes, measured (issue #19, fourth pass).

    PYTHONPATH=src python benchmarks/clustering/views.py --banking77 /path/to/banking77 \\
        --bitext /path/to/bitext-support --cache-dir /tmp/selfheal-bench [--test]

Two families of representation, each scored with the default `ClusterParams()` (theme NMI on assigned
tickets, unassigned share, themes; Bitext also group NMI against its 11 categories) and with the
nearest-centroid ceiling (true intents' centres on the same vectors: how far any centroid clustering of them
could go):

1. **lexical view**: the MiniLM vector (centred) concatenated with `weight` x a TF-IDF view reduced by LSA
   (TruncatedSVD, 128 dimensions) fitted on the batch being clustered: words and word pairs (`word`), or words,
   word pairs and character 3-5-grams (`word+char`). The seconds of the SVD for the batch are printed: they
   are paid on every clustering.
2. **IDF-weighted pooling**: the same MiniLM token vectors averaged with each token weighted by its inverse
   document frequency in the batch (`log((1+n)/(1+df)) + 1`, [CLS]/[SEP] weight 0) instead of the plain mean;
   and with the IDF taken from another set or from the tokenizer's vocabulary order (Zipf), to see whether
   the weights have to come from the tickets' own domain.

Everything is chosen on Banking77 **train** and **Bitext** only. `--test` scores the candidate chosen there
(highest mean theme NMI over the two sets with <= 5 % unassigned on both) once on Banking77 test, and prints
the leave-one-set-out figures. Token vectors are cached under --cache-dir (never committed).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

from selfheal.embedding import load_dense_embedder
from selfheal.reason.cluster import ClusterParams, cluster_vectors
from selfheal.reason.cluster.algorithms import centre, normalise_rows

LSA_DIMENSIONS = 128
MAX_UNASSIGNED = 0.05
SPECIAL_TOKENS = (0, 100, 101, 102, 103)  # [PAD] [UNK] [CLS] [SEP] [MASK] of the MiniLM (BERT) vocabulary
FIRST_WORD_ID = 1996  # "the": the vocabulary's words are in frequency order from here


@dataclass(frozen=True)
class TokenSet:
    """One set's texts, labels and MiniLM token vectors (flat: `lengths[i]` rows per text)."""

    name: str
    texts: list[str]
    fine: np.ndarray
    coarse: np.ndarray | None
    vectors: np.ndarray
    ids: np.ndarray
    lengths: np.ndarray

    def pooled(self, weight: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        w = weight(self.ids).astype(np.float64)
        rows = np.repeat(np.arange(self.lengths.size), self.lengths)
        sums = np.zeros((self.lengths.size, self.vectors.shape[1]), dtype=np.float64)
        np.add.at(sums, rows, self.vectors * w[:, None])
        return normalise_rows(sums)

    def document_frequency(self) -> np.ndarray:
        rows = np.repeat(np.arange(self.lengths.size), self.lengths)
        pairs = np.unique(np.stack([rows, self.ids]), axis=1)
        return np.bincount(pairs[1], minlength=int(self.ids.max()) + 1)


def mean_weight(ids: np.ndarray) -> np.ndarray:
    return np.ones(ids.size)


def idf_weight(df: np.ndarray, n: int) -> Callable[[np.ndarray], np.ndarray]:
    """Token weight log((1+n)/(1+df)) + 1, special tokens 0; a token the table has not seen counts as df 0."""
    table = np.log((1 + n) / (1 + df.astype(np.float64))) + 1

    def weight(ids: np.ndarray) -> np.ndarray:
        seen = ids < table.size
        out = np.full(ids.size, np.log(1 + n) + 1)
        out[seen] = table[ids[seen]]
        out[np.isin(ids, SPECIAL_TOKENS)] = 0
        return out

    return weight


def zipf_weight(ids: np.ndarray) -> np.ndarray:
    """Weight log(1 + vocabulary rank): the vocabulary's order as a generic (not domain) frequency prior."""
    out = np.log1p(np.maximum(ids - FIRST_WORD_ID + 1, 1).astype(np.float64))
    out[np.isin(ids, SPECIAL_TOKENS)] = 0
    return out


def token_vectors(embedder: Any, texts: list[str], cache_dir: Path | None) -> tuple[np.ndarray, ...]:
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cached = cache_dir / f"tokens-{embedder.name}-{digest}.npz" if cache_dir else None
    if cached and cached.is_file():
        data = np.load(cached)
        return data["vectors"], data["ids"], data["lengths"]
    model = embedder._model  # the benchmark reads the transformer's token outputs directly
    encoded = model.encode(texts, output_value="token_embeddings", batch_size=64, show_progress_bar=False)
    tokenizer = model.tokenizer
    ids = [tokenizer(t, truncation=True, max_length=model.max_seq_length)["input_ids"] for t in texts]
    lengths = np.array([e.shape[0] for e in encoded])
    if any(len(i) != n for i, n in zip(ids, lengths, strict=True)):
        sys.exit("token ids and token vectors disagree in length")
    vectors = np.concatenate([np.asarray(e, dtype=np.float32) for e in encoded])
    flat_ids = np.concatenate([np.asarray(i, dtype=np.int64) for i in ids])
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, vectors=vectors, ids=flat_ids, lengths=lengths)
    return vectors, flat_ids, lengths


def lexical_view(texts: list[str], kind: str) -> tuple[np.ndarray, float]:
    """TF-IDF (sublinear, min_df 2) of words+pairs, optionally + char 3-5-grams, LSA to 128 dims; seconds."""
    from scipy.sparse import hstack
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    started = time.perf_counter()
    parts = [
        TfidfVectorizer(
            sublinear_tf=True, ngram_range=(1, 2), min_df=2, strip_accents="unicode"
        ).fit_transform(texts)
    ]
    if kind == "word+char":
        parts.append(
            TfidfVectorizer(
                sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 5), min_df=2, strip_accents="unicode"
            ).fit_transform(texts)
        )
    matrix = hstack(parts).tocsr() if len(parts) > 1 else parts[0]
    reduced = TruncatedSVD(n_components=LSA_DIMENSIONS, random_state=0).fit_transform(matrix)
    return normalise_rows(reduced), time.perf_counter() - started


def ceiling(vectors: np.ndarray, truth: np.ndarray) -> float:
    """NMI of the nearest true-intent centre (supervised: the best a centroid clustering could do)."""
    z = centre(vectors)
    _, codes = np.unique(truth, return_inverse=True)
    centres = normalise_rows(np.stack([z[codes == c].mean(axis=0) for c in range(int(codes.max()) + 1)]))
    return float(normalized_mutual_info_score(codes, np.argmax(z @ centres.T, axis=1)))


@dataclass(frozen=True)
class Score:
    nmi: float
    unassigned: float
    themes: int
    group_nmi: float | None
    ceiling: float

    def cell(self) -> str:
        group = f" (group {self.group_nmi:.3f})" if self.group_nmi is not None else ""
        return f"{self.nmi:.3f} / {self.unassigned:.1%} / {self.themes}{group}; ceiling {self.ceiling:.3f}"


def score(vectors: np.ndarray, data: TokenSet, params: ClusterParams) -> Score:
    result = cluster_vectors(vectors, params)
    assigned = result.labels >= 0
    group = (
        float(normalized_mutual_info_score(data.coarse[assigned], result.group_labels[assigned]))
        if data.coarse is not None
        else None
    )
    return Score(
        float(normalized_mutual_info_score(data.fine[assigned], result.labels[assigned])),
        float(1 - assigned.mean()),
        result.n_themes,
        group,
        ceiling(vectors, data.fine),
    )


def representations(data: TokenSet, other: TokenSet | None) -> dict[str, Callable[[], np.ndarray]]:
    """Each candidate's vectors for `data` (built lazily)."""
    mean = data.pooled(mean_weight)
    out: dict[str, Callable[[], np.ndarray]] = {"MiniLM mean pooling (current)": lambda: mean}
    views: dict[str, tuple[np.ndarray, float]] = {}

    def concat(kind: str, weight: float) -> Callable[[], np.ndarray]:
        def build() -> np.ndarray:
            if kind not in views:
                views[kind] = lexical_view(data.texts, kind)
                print(f"  ({data.name}: {kind} TF-IDF + LSA took {views[kind][1]:.1f} s)", flush=True)
            return np.hstack([centre(mean), weight * centre(views[kind][0])])

        return build

    for kind in ("word", "word+char"):
        for weight in (0.15, 0.3, 0.5):
            out[f"+ {kind} LSA view x {weight}"] = concat(kind, weight)
    df = data.document_frequency()
    out["IDF pooling (the batch's IDF)"] = lambda: data.pooled(idf_weight(df, data.lengths.size))
    if other is not None:
        out[f"IDF pooling (IDF of {other.name})"] = lambda: data.pooled(
            idf_weight(other.document_frequency(), other.lengths.size)
        )
    out["Zipf pooling (vocabulary order)"] = lambda: data.pooled(zipf_weight)
    return out


RATIOS = (0.5, 0.55, 0.6)


def subset(data: TokenSet, rows: np.ndarray) -> TokenSet:
    starts = np.concatenate([[0], np.cumsum(data.lengths)[:-1]])
    flat = np.concatenate([np.arange(starts[r], starts[r] + data.lengths[r]) for r in rows])
    return TokenSet(
        f"{data.name} half",
        [data.texts[int(r)] for r in rows],
        data.fine[rows],
        data.coarse[rows] if data.coarse is not None else None,
        data.vectors[flat],
        data.ids[flat],
        data.lengths[rows],
    )


def history(data: TokenSet, ratio: float) -> None:
    """Can the IDF come from earlier tickets (what a cycle with stored vectors would need)? A random half B
    is clustered with IDF weights from 300, 1,000 or all tickets of the other half A."""
    order = np.random.default_rng(1).permutation(data.lengths.size)
    half = data.lengths.size // 2
    later = subset(data, np.sort(order[half:]))
    params = ClusterParams(min_similarity_ratio=ratio)
    rows = [
        ("mean pooling", later.pooled(mean_weight), 0.6),
        (
            "IDF of half B itself",
            later.pooled(idf_weight(later.document_frequency(), later.lengths.size)),
            ratio,
        ),
    ]
    for m in (300, 1000, half):
        part = subset(data, np.sort(order[:m]))  # a random m of half A
        rows.append(
            (f"IDF of {m} tickets of half A", later.pooled(idf_weight(part.document_frequency(), m)), ratio)
        )
    for label, vectors, r in rows:
        s = score(vectors, later, ClusterParams(min_similarity_ratio=r) if r != ratio else params)
        print(f"| {data.name}, half B | {label} | {r} | {s.cell()} |", flush=True)


def load(embedder: Any, name: str, path: Path, fine: str, coarse: str | None, cache: Path | None) -> TokenSet:
    frame = pd.read_csv(path)
    texts = frame["text"].astype(str).tolist()
    vectors, ids, lengths = token_vectors(embedder, texts, cache)
    return TokenSet(
        name,
        texts,
        frame[fine].to_numpy(),
        frame[coarse].to_numpy() if coarse else None,
        vectors,
        ids,
        lengths,
    )


def tuning_arguments(description: str | None, extra: tuple[str, ...] = ()) -> argparse.Namespace:
    """The two tuning sets, the embedding cache and `--test` (score the chosen candidate on Banking77 test once):
    the arguments shared by the clustering experiments that choose on Banking77 train and Bitext."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--banking77", type=Path, required=True)
    parser.add_argument("--bitext", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--test", action="store_true", help="score the chosen candidate on Banking77 test")
    for flag in extra:  # a script's own switches
        parser.add_argument(flag, action="store_true")
    return parser.parse_args()


def main() -> None:
    args = tuning_arguments(__doc__)
    embedder = load_dense_embedder()
    if embedder is None:
        sys.exit("the dense model is not installed (pip install -e .[embed])")
    train = load(embedder, "Banking77 train", args.banking77 / "train.csv", "category", None, args.cache_dir)
    bitext = load(embedder, "Bitext", args.bitext / "tickets.csv", "intent", "category", args.cache_dir)
    tuning = (train, bitext)
    print(
        "| representation | ratio | "
        + " | ".join(f"{d.name} NMI / unassigned / themes" for d in tuning)
        + " |"
    )
    print("|---|---|" + "---|" * len(tuning))
    results: dict[tuple[str, float], list[Score]] = {}
    built = {d.name: representations(d, bitext if d is train else train) for d in tuning}
    for label in built[train.name]:
        key_label = label.replace(f"IDF of {bitext.name}", "IDF of the other set")
        other_label = {d.name: label for d in tuning}
        if label.startswith("IDF pooling (IDF of"):
            other_label[bitext.name] = f"IDF pooling (IDF of {train.name})"
        vectors = {d.name: built[d.name][other_label[d.name]]() for d in tuning}
        for ratio in RATIOS if "pooling" in label else (0.6,):
            params = ClusterParams(min_similarity_ratio=ratio)
            scores = [score(vectors[d.name], d, params) for d in tuning]
            results[(key_label, ratio)] = scores
            print(f"| {key_label} | {ratio} | " + " | ".join(s.cell() for s in scores) + " |", flush=True)
    print("\n| set | IDF from | ratio | NMI / unassigned / themes |\n|---|---|---|---|")
    for data in tuning:
        history(data, 0.55)
    if not args.test:
        return
    allowed = {k: v for k, v in results.items() if all(s.unassigned <= MAX_UNASSIGNED for s in v)}
    chosen = max(allowed, key=lambda k: float(np.mean([s.nmi for s in allowed[k]])))
    print(f"\nchosen on Banking77 train + Bitext (mean theme NMI, <= 5 % unassigned on both): {chosen}")
    test = load(embedder, "Banking77 test", args.banking77 / "test.csv", "category", None, args.cache_dir)
    for label, ratio in (("MiniLM mean pooling (current)", 0.6), chosen):
        vectors = representations(test, None)[label]()
        print(
            f"- Banking77 test, {label}, ratio {ratio}: "
            + score(vectors, test, ClusterParams(min_similarity_ratio=ratio)).cell()
        )
    print("\nleave one set out (best on one tuning set with <= 5 % unassigned there, scored on the other):")
    for chosen_on, scored_on in ((train, bitext), (bitext, test)):
        index = 0 if chosen_on is train else 1
        there = {k: v[index] for k, v in results.items() if v[index].unassigned <= MAX_UNASSIGNED}
        best = max(there, key=lambda k: there[k].nmi)
        label, ratio = best
        if label == "IDF pooling (IDF of the other set)":
            other_label = f"IDF pooling (IDF of {chosen_on.name})"
            vectors = representations(scored_on, chosen_on)[other_label]()
        else:
            vectors = representations(scored_on, None)[label]()
        s = score(vectors, scored_on, ClusterParams(min_similarity_ratio=ratio))
        print(
            f"- chosen on {chosen_on.name}: {label}, ratio {ratio} ({there[best].nmi:.3f} there) -> {scored_on.name}: {s.cell()}"
        )


if __name__ == "__main__":
    main()
