"""The in-memory retrieval index: BM25F over (title, heading, body) fused with dense cosine similarity.

Lexical side: each chunk has three fields (its document's title, its heading path, its text). Term
frequencies are length-normalised per field, weighted and summed before BM25 saturation (BM25F), so a query
word in a title counts more than one in the body. Weights per (term, chunk) are precomputed into a sparse
matrix: a query is a column slice and a row sum.

Dense side: one L2-normalised vector per chunk (title and section prefixed to the text); a query is one
matrix-vector product (exact search), or on large indexes a scan of the closest coarse lists (IVF).

Fusion: each side proposes its top candidates; both sides score their union (the dense side exactly),
and both score lists are min-max normalised over it. Before mixing, each side's score of a chunk takes a
share (`document_share`) of the best score that side gives any chunk of the same document: a runbook is
about one problem, and the two sides often find it in different sections (the words of an alert in
"Meaning", its sense in "Mitigation"), which plain per-chunk mixing splits and loses to a runbook whose one
section is second best on both. The two sides are then mixed with a fixed weight (`dense_weight`); with
no embedder the ranking is lexical only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy import sparse

from selfheal.embedding import DenseEmbedder
from selfheal.knowledge.model import IndexedChunk, SearchHit
from selfheal.knowledge.tokenize import tokenize


class SearchMode(StrEnum):
    hybrid = "hybrid"
    lexical = "lexical"
    dense = "dense"


@dataclass(frozen=True)
class FieldWeights:
    """BM25F parameters: a weight and a length-normalisation strength per field."""

    title: float = 2.0
    heading: float = 1.5
    body: float = 1.0
    b_title: float = 0.3
    b_heading: float = 0.3
    b_body: float = 0.75
    k1: float = 1.2


_PLACEHOLDER = re.compile(r"<[^<>\s]{1,64}>|\{\{.*?\}\}|\$\{[^}]*\}")


def clean_query(query: str) -> str:
    """Drop template placeholders (`<pod>`, `{{ $labels.job }}`, `${VAR}`): alert texts rendered from rules
    carry them, and they name a slot, not the problem."""
    return " ".join(_PLACEHOLDER.sub(" ", query).split())


_IDENTIFIER_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def humanize(identifier: str) -> str:
    """`KubeAPIDown` -> `Kube API Down`, `order_created` -> `order created`: the dense model reads words."""
    return _IDENTIFIER_BREAK.sub(" ", identifier).replace("_", " ")


def dense_text(chunk: IndexedChunk) -> str:
    """What the dense model reads for a chunk: its (humanised) title and section give it context."""
    section = " > ".join(humanize(h) for h in chunk.heading_path if h != chunk.title)
    title = humanize(chunk.title)
    head = f"{title}. {section}." if section else f"{title}."
    return f"{head}\n{chunk.text}"


def title_text(chunk: IndexedChunk) -> str:
    stem = chunk.document.rsplit(".", 1)[0]
    return chunk.title if stem.lower() == chunk.title.lower() else f"{chunk.title} {stem}"


def heading_text(chunk: IndexedChunk) -> str:
    return " ".join(h for h in chunk.heading_path if h != chunk.title)


class HybridIndex:
    """Immutable once built; rebuild (cheaply, no re-embedding) when the knowledge base changes."""

    def __init__(
        self,
        chunks: Sequence[IndexedChunk],
        vectors: npt.NDArray[np.float32] | None = None,
        embedder: DenseEmbedder | None = None,
        weights: FieldWeights = FieldWeights(),
        dense_weight: float = 0.5,
        document_share: float = 0.3,
        candidates: int = 200,
        ivf_min_chunks: int = 20_000,
    ) -> None:
        self.chunks = list(chunks)
        self.weights = weights
        self.dense_weight = dense_weight
        self.document_share = document_share
        self.candidates = candidates
        self.embedder = embedder if vectors is not None and len(vectors) == len(self.chunks) else None
        self.vectors = vectors if self.embedder is not None else None
        self._vocab: dict[str, int] = {}
        self._document_of = _document_numbers(self.chunks)
        self._matrix = self._build_lexical()
        self.ivf = (
            CoarseLists.build(self.vectors)
            if self.vectors is not None and len(self.vectors) >= ivf_min_chunks
            else None
        )

    @property
    def dense(self) -> bool:
        return self.embedder is not None

    def __len__(self) -> int:
        return len(self.chunks)

    # --- building -----------------------------------------------------------------------------

    def _build_lexical(self) -> sparse.csc_matrix:
        w = self.weights
        n = len(self.chunks)
        fields = (
            (title_text, w.title, w.b_title),
            (heading_text, w.heading, w.b_heading),
            (lambda c: c.text, w.body, w.b_body),
        )
        per_field: list[list[Counter[str]]] = []
        lengths = np.zeros((len(fields), max(n, 1)), dtype=np.float64)
        title_cache: dict[str, Counter[str]] = {}
        for f, (extract, _, _) in enumerate(fields):
            counts: list[Counter[str]] = []
            for i, chunk in enumerate(self.chunks):
                if f == 0:
                    key = chunk.document_id
                    if key not in title_cache:
                        title_cache[key] = Counter(tokenize(extract(chunk)))
                    counter = title_cache[key]
                else:
                    counter = Counter(tokenize(extract(chunk)))
                counts.append(counter)
                lengths[f, i] = sum(counter.values())
            per_field.append(counts)
        avg = np.maximum(lengths[:, :n].mean(axis=1) if n else np.ones(len(fields)), 1e-9)
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        df: Counter[int] = Counter()
        vocab = self._vocab
        for i in range(n):
            combined: dict[int, float] = {}
            for f, (_, weight, b) in enumerate(fields):
                norm = 1.0 - b + b * lengths[f, i] / avg[f]
                for term, tf in per_field[f][i].items():
                    tid = vocab.setdefault(term, len(vocab))
                    combined[tid] = combined.get(tid, 0.0) + weight * tf / norm
            for tid, tf_tilde in combined.items():
                rows.append(i)
                cols.append(tid)
                vals.append(tf_tilde * (w.k1 + 1.0) / (tf_tilde + w.k1))
                df[tid] += 1
        idf = np.zeros(len(vocab), dtype=np.float64)
        for tid, count in df.items():
            idf[tid] = math.log(1.0 + (n - count + 0.5) / (count + 0.5))
        col_idx = np.asarray(cols, dtype=np.int64)
        data = np.asarray(vals, dtype=np.float64) * idf[col_idx] if vals else np.zeros(0)
        return sparse.csc_matrix(
            (data.astype(np.float32), (np.asarray(rows, dtype=np.int64), col_idx)),
            shape=(n, max(len(vocab), 1)),
        )

    # --- scoring ------------------------------------------------------------------------------

    def lexical_scores(self, query: str) -> npt.NDArray[np.float32]:
        terms = Counter(t for t in tokenize(query) if t in self._vocab)
        if not terms or not self.chunks:
            return np.zeros(len(self.chunks), dtype=np.float32)
        ids = np.fromiter((self._vocab[t] for t in terms), dtype=np.int64)
        qtf = np.fromiter(terms.values(), dtype=np.float32)
        scores = self._matrix[:, ids] @ qtf
        return np.asarray(scores, dtype=np.float32).ravel()

    def dense_candidates(self, q: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
        """The (about) `k` chunks closest to the unit vector `q`: an exact scan, or on large indexes a scan
        of the coarse lists closest to `q` only."""
        assert self.vectors is not None
        if self.ivf is not None:
            ids, scores = self.ivf.probe_scores(q)
            return ids[_top_ids(scores, k)]
        return _top_ids(np.asarray(self.vectors @ q, dtype=np.float32), k)

    def search(self, query: str, top: int = 10, mode: SearchMode = SearchMode.hybrid) -> list[SearchHit]:
        """The `top` best chunks for `query`, best first.

        Each side proposes its best `candidates` chunks; the union is scored on both sides (lexical from the
        precomputed scores, dense as the exact cosine of just those chunks' vectors), min-max normalised
        over the union and mixed. Nothing is scored or sorted per chunk of the whole index beyond the
        lexical sparse product and the dense scan (exact, or of the probed coarse lists).
        """
        query = clean_query(query)
        if not self.chunks or not query or top <= 0:
            return []
        use_dense = self.dense and mode is not SearchMode.lexical
        use_lexical = mode is not SearchMode.dense or not self.dense
        pool = min(len(self.chunks), max(self.candidates, top))
        proposed: list[npt.NDArray[np.int64]] = []
        lex: npt.NDArray[np.float32] | None = None
        q: npt.NDArray[np.float32] | None = None
        if use_lexical:
            lex = self.lexical_scores(query)
            if not use_dense and not np.any(lex > 0):
                return []
            proposed.append(_top_ids(lex, pool))
        if use_dense:
            assert self.embedder is not None
            q = self.embedder.embed([query])[0]
            proposed.append(self.dense_candidates(q, pool))
        candidate_ids = np.unique(np.concatenate(proposed)) if len(proposed) > 1 else np.sort(proposed[0])
        parts: dict[str, npt.NDArray[np.float64]] = {}
        if lex is not None:
            parts["lexical"] = lex[candidate_ids].astype(np.float64)
        if q is not None:
            assert self.vectors is not None
            parts["dense"] = (self.vectors[candidate_ids] @ q).astype(np.float64)
        if lex is not None and q is not None:
            fused = fuse(
                parts["lexical"],
                parts["dense"],
                self._document_of[candidate_ids],
                self.dense_weight,
                self.document_share,
            )
        else:
            fused = next(iter(parts.values()))
        order = np.argsort(-fused, kind="stable")[:top]
        return [
            SearchHit(
                chunk=self.chunks[int(candidate_ids[j])],
                score=float(fused[j]),
                rank=rank,
                parts={name: float(values[j]) for name, values in parts.items()},
            )
            for rank, j in enumerate(order, start=1)
        ]


@dataclass(frozen=True)
class CoarseLists:
    """An inverted-file (IVF) layout for large indexes: vectors grouped by their nearest of ~sqrt(N)
    spherical k-means centroids, stored contiguously per list; a query scans only the `probe` closest lists.
    """

    centroids: npt.NDArray[np.float32]
    order: npt.NDArray[np.int64]  # chunk index of each row of `grouped`
    bounds: npt.NDArray[np.int64]  # rows of list i: bounds[i]:bounds[i + 1]
    grouped: npt.NDArray[np.float32]
    probe: int

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], iterations: int = 6, seed: int = 0) -> CoarseLists:
        n = len(vectors)
        n_lists = max(1, int(math.sqrt(n)))
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(n, size=min(n, 50 * n_lists), replace=False)]
        centroids = sample[rng.choice(len(sample), size=n_lists, replace=False)].copy()
        for _ in range(iterations):
            assign = np.argmax(sample @ centroids.T, axis=1)
            for k in range(n_lists):
                members = sample[assign == k]
                if len(members):
                    mean = members.sum(axis=0)
                    centroids[k] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        labels = np.concatenate(
            [np.argmax(vectors[i : i + 8192] @ centroids.T, axis=1) for i in range(0, n, 8192)]
        )
        order = np.argsort(labels, kind="stable").astype(np.int64)
        counts = np.bincount(labels, minlength=n_lists)
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        probe = max(8, n_lists // 8)
        return cls(centroids, order, bounds, np.ascontiguousarray(vectors[order]), min(probe, n_lists))

    def probe_scores(
        self, q: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """(chunk indexes, cosines) of the chunks in the `probe` lists whose centroids are closest to `q`."""
        nearest = np.argpartition(-(self.centroids @ q), self.probe - 1)[: self.probe]
        sizes = self.bounds[nearest + 1] - self.bounds[nearest]
        ids = np.empty(int(sizes.sum()), dtype=np.int64)
        scores = np.empty(len(ids), dtype=np.float32)
        at = 0
        for k, size in zip(nearest.tolist(), sizes.tolist(), strict=True):
            a = int(self.bounds[k])
            ids[at : at + size] = self.order[a : a + size]
            np.matmul(self.grouped[a : a + size], q, out=scores[at : at + size])
            at += size
        return ids, scores

    def scores(self, q: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Cosine of every chunk with `q`; chunks in lists not probed score 0."""
        out = np.zeros(len(self.order), dtype=np.float32)
        ids, scores = self.probe_scores(q)
        out[ids] = scores
        return out


def _top_ids(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    if k >= len(scores):
        return np.arange(len(scores), dtype=np.int64)
    return np.argpartition(-scores, k - 1)[:k].astype(np.int64)


def _document_numbers(chunks: Sequence[IndexedChunk]) -> npt.NDArray[np.int64]:
    """A small integer per chunk naming its document (0, 1, ... in order of first appearance)."""
    numbers: dict[str, int] = {}
    return np.fromiter(
        (numbers.setdefault(c.document_id, len(numbers)) for c in chunks), dtype=np.int64, count=len(chunks)
    )


def fuse(
    lexical: npt.NDArray[np.float64],
    dense: npt.NDArray[np.float64],
    documents: npt.NDArray[np.int64],
    dense_weight: float,
    document_share: float,
) -> npt.NDArray[np.float64]:
    """The hybrid score of each candidate chunk from its two raw scores: each side min-max normalised over
    the candidates, moved `document_share` of the way to that side's best score in the chunk's document
    (`documents` numbers each candidate's document), then mixed with `dense_weight`."""
    lexical_part, dense_part = (
        _with_document_share(_minmax(side), documents, document_share) for side in (lexical, dense)
    )
    return (1 - dense_weight) * lexical_part + dense_weight * dense_part


def _with_document_share(
    scores: npt.NDArray[np.float64], documents: npt.NDArray[np.int64], share: float
) -> npt.NDArray[np.float64]:
    """Each score moved `share` of the way to the best score among the chunks of its document (`documents`
    numbers each score's document). A document's best chunk keeps its score; its other chunks rise towards
    it, so evidence one side finds in one section counts for the document's other sections too."""
    if share <= 0 or len(scores) == 0:
        return scores
    _, dense_ids = np.unique(documents, return_inverse=True)
    best = np.full(int(dense_ids.max()) + 1, -np.inf)
    np.maximum.at(best, dense_ids, scores)
    return (1 - share) * scores + share * best[dense_ids]


def _minmax(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.zeros_like(values) if high <= 0 else np.ones_like(values)
    return (values - low) / (high - low)
