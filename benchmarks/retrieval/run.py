"""Runbook retrieval benchmark: quality on a labelled runbook set, speed on a synthetic corpus.

    python benchmarks/retrieval/run.py quality --dataset PATH   # PATH has docs/ and queries.jsonl
    python benchmarks/retrieval/run.py speed --dataset PATH --chunks 100000 --docs 1000
    python benchmarks/retrieval/run.py query-speed --dataset PATH --chunks 100000   # latency part only
    python benchmarks/retrieval/run.py all --dataset PATH
    python benchmarks/retrieval/run.py quality --dataset PATH --document-share 0   # chunks scored alone

Everything goes through the product path (loaders, chunking, SQLite storage, KnowledgeBase.search).
Quality is doc-level: a query's ranking is its chunk ranking with repeated documents dropped. Besides all
queries, quality reports the odd and even queries (1st, 3rd, ... and 2nd, 4th, ...) on their own, and a
check that uses no query of the set ("sections"): each runbook's first section under its title is the
query, that section is left out of the index, and the rest of its runbook must be found.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from selfheal.embedding import load_dense_embedder
from selfheal.knowledge.base import KnowledgeBase, document_id
from selfheal.knowledge.index import HybridIndex, SearchMode, dense_text
from selfheal.knowledge.model import IndexedChunk
from selfheal.settings import Settings
from selfheal.store import Store, knowledge_repo


def _kb(db_dir: Path, dense: bool, document_share: float | None = None) -> KnowledgeBase:
    overrides = {} if document_share is None else {"kb_document_share": document_share}
    settings = Settings(
        data_dir=db_dir,
        database_url=f"sqlite:///{db_dir / 'bench.db'}",
        dense_embeddings=dense,
        **overrides,
    )
    store = Store.open(settings.resolved_database_url())
    return KnowledgeBase(store, settings, load_dense_embedder(True) if dense else None)


def doc_ranking(kb: KnowledgeBase | HybridIndex, query: str, mode: SearchMode, depth: int = 100) -> list[str]:
    seen: list[str] = []
    for hit in kb.search(query, depth, mode):
        if hit.chunk.document not in seen:
            seen.append(hit.chunk.document)
    return seen


def metrics(rankings: list[list[str]], golds: list[set[str]]) -> dict[str, float]:
    r1 = r5 = mrr = 0.0
    for ranking, gold in zip(rankings, golds, strict=True):
        rank = next((i for i, d in enumerate(ranking, start=1) if d in gold), None)
        if rank is not None:
            r1 += rank == 1
            r5 += rank <= 5
            mrr += 1 / rank if rank <= 10 else 0
    n = len(golds)
    return {"R@1": round(r1 / n, 3), "R@5": round(r5 / n, 3), "MRR@10": round(mrr / n, 3), "queries": n}


def _with_halves(rankings: list[list[str]], golds: list[set[str]]) -> dict[str, Any]:
    out: dict[str, Any] = metrics(rankings, golds)
    for name, start in (("odd", 0), ("even", 1)):
        out[name] = metrics(rankings[start::2], golds[start::2])
    return out


def _first_sections(chunks: list[IndexedChunk]) -> list[int]:
    """Per document, the index of its first chunk under a heading below the title (e.g. "Meaning")."""
    first: dict[str, int] = {}
    for i, chunk in enumerate(chunks):
        below_title = [h for h in chunk.heading_path if h != chunk.title]
        if below_title and chunk.text.strip() and chunk.document_id not in first:
            first[chunk.document_id] = i
    return sorted(first.values())


def sections_check(kb: KnowledgeBase) -> dict[str, Any]:
    """Each runbook's first section is the query; the index without that section must find its runbook."""
    full = kb.index()
    probes = _first_sections(full.chunks)
    rankings: dict[SearchMode, list[list[str]]] = {mode: [] for mode in SearchMode}
    golds: list[set[str]] = []
    for i in probes:
        keep = [j for j in range(len(full.chunks)) if j != i]
        index = HybridIndex(
            [full.chunks[j] for j in keep],
            full.vectors[keep] if full.vectors is not None else None,
            full.embedder,
            weights=full.weights,
            dense_weight=full.dense_weight,
            document_share=full.document_share,
            candidates=full.candidates,
        )
        golds.append({full.chunks[i].document})
        for mode in SearchMode:
            rankings[mode].append(doc_ranking(index, full.chunks[i].text, mode))
    return {mode.value: _with_halves(rankings[mode], golds) for mode in SearchMode}


def quality(dataset: Path, field: str, document_share: float | None = None) -> dict[str, Any]:
    queries = [
        json.loads(line) for line in (dataset / "queries.jsonl").read_text().splitlines() if line.strip()
    ]
    files = sorted(p for p in (dataset / "docs").iterdir() if p.is_file())
    with tempfile.TemporaryDirectory() as tmp:
        kb = _kb(Path(tmp), dense=True, document_share=document_share)
        t = time.perf_counter()
        result = kb.add_files([(p.name, p.read_bytes()) for p in files])
        index_s = time.perf_counter() - t
        out: dict[str, Any] = {
            "dataset": str(dataset),
            "documents": len(result.documents),
            "chunks": result.chunks,
            "query_field": field,
            "index_seconds": round(index_s, 2),
            "embedding_model": kb.embedder.name if kb.embedder else None,
            "document_share": kb.settings.kb_document_share,
        }
        golds = [set(q["gold"]) for q in queries]
        for mode in (SearchMode.hybrid, SearchMode.lexical, SearchMode.dense):
            rankings = [doc_ranking(kb, q[field], mode) for q in queries]
            out[mode.value] = _with_halves(rankings, golds)
        out["sections"] = sections_check(kb)
        kb.store.dispose()
    return out


def _vocabulary(dataset: Path) -> list[str]:
    words: list[str] = []
    for p in sorted((dataset / "docs").iterdir()):
        words.extend(w for w in p.read_text(errors="ignore").split() if w.isascii() and len(w) < 30)
    return words


def _synthetic_doc(rng: random.Random, words: list[str], number: int, sections: int, words_per: int) -> bytes:
    parts = [f"# SyntheticRunbook{number}"]
    for s in range(sections):
        parts.append(f"## {rng.choice(['Meaning', 'Impact', 'Diagnosis', 'Mitigation'])} {s}")
        parts.append(" ".join(rng.choices(words, k=words_per)))
    return "\n\n".join(parts).encode()


def _phases(kb: KnowledgeBase, files: list[tuple[str | None, bytes]]) -> dict[str, float]:
    """Where indexing time goes: the KnowledgeBase's own steps timed one by one (load + chunk, embed, the
    whole upload including the store, and the in-memory index build)."""
    t = time.perf_counter()
    prepared = [kb._prepare(name or "x", data) for name, data in files]
    load_s = time.perf_counter() - t
    chunks = [c for p in prepared for c in p.indexed]
    t = time.perf_counter()
    kb._embed(chunks)
    embed_s = time.perf_counter() - t
    assert kb.embedder is not None
    texts = [dense_text(c) for c in chunks]
    t = time.perf_counter()
    for start in range(0, len(texts), 64):  # the former way: batches in document order
        kb.embedder.embed(texts[start : start + 64], batch_size=64)
    unsorted_s = time.perf_counter() - t
    return {
        "chunks": len(chunks),
        "load_chunk_seconds": round(load_s, 2),
        "embed_seconds_length_sorted": round(embed_s, 2),
        "embed_seconds_document_order": round(unsorted_s, 2),
    }


def index_speed(dataset: Path, docs: int) -> dict[str, Any]:
    """Time to load, chunk, embed and store `docs` runbook-sized documents (about 1 KB, 4 sections), and
    the phases for `docs` longer articles (about 5 KB, 8 sections of 100 words, like a help-centre KB)."""
    rng = random.Random(1)
    words = _vocabulary(dataset)
    files: list[tuple[str | None, bytes]] = [
        (f"synthetic-{i:05d}.md", _synthetic_doc(rng, words, i, 4, 40)) for i in range(docs)
    ]
    articles: list[tuple[str | None, bytes]] = [
        (f"article-{i:05d}.md", _synthetic_doc(rng, words, i, 8, 100)) for i in range(docs)
    ]
    out: dict[str, Any] = {"documents": docs}
    with tempfile.TemporaryDirectory() as tmp:
        kb = _kb(Path(tmp) / "phases", True)
        if kb.embedder is not None:
            out["long_articles_phases"] = _phases(kb, articles)
        kb.store.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        for dense in (False, True):
            kb = _kb(Path(tmp) / ("dense" if dense else "lexical"), dense)
            t = time.perf_counter()
            result = kb.add_files(files)
            kb.index()
            out["hybrid" if dense else "lexical"] = {
                "seconds": round(time.perf_counter() - t, 2),
                "chunks": result.chunks,
            }
            kb.store.dispose()
    return out


def query_speed(dataset: Path, chunks: int, repeats: int = 2) -> dict[str, Any]:
    """Query latency at `chunks` chunks. Chunk texts are drawn from the runbook vocabulary; their stored
    vectors are random unit vectors (latency does not depend on their values), queries are real alert texts
    embedded by the real model at query time."""
    rng = random.Random(2)
    nprng = np.random.default_rng(2)
    words = _vocabulary(dataset)
    queries = [
        json.loads(line)["query"]
        for line in (dataset / "queries.jsonl").read_text().splitlines()
        if line.strip()
    ]
    embedder = load_dense_embedder(True)
    per_doc = 10
    out: dict[str, Any] = {"chunks": chunks}
    with tempfile.TemporaryDirectory() as tmp:
        kb = _kb(Path(tmp), dense=embedder is not None)
        t = time.perf_counter()
        with kb.store.transaction() as conn:
            for d in range(chunks // per_doc):
                name = f"synthetic-{d:06d}.md"
                doc_id = document_id(name)
                rows = []
                for c in range(per_doc):
                    vec = nprng.standard_normal(embedder.dim if embedder else 1).astype(np.float32)
                    vec /= np.linalg.norm(vec)
                    rows.append(
                        {
                            "id": f"{doc_id}:{c:05d}",
                            "document_id": doc_id,
                            "ordinal": c,
                            "heading_path": [
                                f"SyntheticRunbook{d}",
                                rng.choice(["Meaning", "Diagnosis", "Mitigation"]),
                            ],
                            "page": None,
                            "start_char": 0,
                            "end_char": 0,
                            "text": " ".join(rng.choices(words, k=60)),
                            "embedding": vec.astype("<f4").tobytes() if embedder else None,
                            "embedding_model": embedder.name if embedder else None,
                        }
                    )
                knowledge_repo.replace_document(
                    conn,
                    {
                        "id": doc_id,
                        "name": name,
                        "title": f"SyntheticRunbook{d}",
                        "kind": "markdown",
                        "size_bytes": 0,
                        "sha256": "",
                        "pages": None,
                        "chunk_count": per_doc,
                        "created_ms": 0,
                        "updated_ms": 0,
                        "uploaded_by": "bench",
                    },
                    rows,
                )
            knowledge_repo.bump_generation(conn)
        out["store_seconds"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        kb.index()
        out["load_index_seconds"] = round(time.perf_counter() - t, 1)
        for mode in (SearchMode.hybrid, SearchMode.lexical):
            kb.search(queries[0], 10, mode)  # warm-up
            times: list[float] = []
            for _ in range(repeats):
                for q in queries:
                    t = time.perf_counter()
                    kb.search(q, 10, mode)
                    times.append((time.perf_counter() - t) * 1000)
            times.sort()
            out[mode.value] = {
                "queries": len(times),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
                "max_ms": round(times[-1], 1),
            }
        kb.store.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("quality", "speed", "query-speed", "all"))
    parser.add_argument("--dataset", type=Path, required=True, help="folder with docs/ and queries.jsonl")
    parser.add_argument("--field", default="query", help="query field of queries.jsonl (default: query)")
    parser.add_argument("--chunks", type=int, default=100_000, help="corpus size for query latency")
    parser.add_argument("--docs", type=int, default=1_000, help="documents for the indexing time")
    parser.add_argument(
        "--document-share",
        type=float,
        help="override SELFHEAL_KB_DOCUMENT_SHARE for quality (0: each chunk scored alone, as before)",
    )
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    args = parser.parse_args(argv)
    if not (args.dataset / "queries.jsonl").is_file() or not (args.dataset / "docs").is_dir():
        parser.error(f"{args.dataset} needs docs/ and queries.jsonl")
    report: dict[str, Any] = {}
    if args.what in ("quality", "all"):
        report["quality"] = quality(args.dataset, args.field, args.document_share)
        print(json.dumps({"quality": report["quality"]}), flush=True)
    if args.what in ("speed", "all"):
        report["index_speed"] = index_speed(args.dataset, args.docs)
        print(json.dumps({"index_speed": report["index_speed"]}), flush=True)
    if args.what in ("speed", "query-speed", "all"):
        report["query_speed"] = query_speed(args.dataset, args.chunks)
        print(json.dumps({"query_speed": report["query_speed"]}), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
