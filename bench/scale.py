"""The first stage at scale (default 1M chunks): FAISS exact vs HNSW vs IVF, and bm25s, built from
the real pool tiled with noise, in one fresh process (`python -m bench.run --scale 1000000`).

Not through `LocalWriter.commit` (chunks.jsonl and a second copy of 1M vectors would only add disk
and minutes): the vector indexes are the product's own `vectors.build` kinds plus IVF, the lexical
index is the product's `LexicalIndex` over the real chunks' tokens repeated per tile, and the first
stage is the product's query embedding + `LexicalIndex.search` + FAISS search + `fuse`. Runtime on
the 2-core machine: see the README (HNSW construction dominates).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import WARMUP, du_mb, pct, rss_mb
from bench.indexes import tiled_vectors
from search.settings import Settings

K = 100
BLOCK = 50_000


def tiled_matrix(pool: np.ndarray, size: int) -> np.ndarray:
    """`size` vectors: the pool, then noisy copies of it (tile t uses seed SEED + t)."""
    out = np.empty((size, pool.shape[1]), dtype=np.float32)
    n = len(pool)
    for start in range(0, size, n):
        tile = start // n
        rows = np.arange(min(n, size - start))
        out[start : start + len(rows)] = tiled_vectors(pool, rows, tile)
    return out


def build_vectors(matrix: np.ndarray, kind: str, folder: Path, m: int) -> tuple[Any, dict[str, Any]]:
    """A FAISS index of `kind` (flat | hnsw | ivf) over `matrix`, written to `folder`; build figures."""
    import faiss

    dim, n = matrix.shape[1], len(matrix)
    rss0, t0 = rss_mb(), time.perf_counter()
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
    else:
        nlist = int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = matrix[np.random.default_rng(0).choice(n, size=min(n, 40 * nlist), replace=False)]
        index.train(sample)
    for start in range(0, n, BLOCK):
        index.add(matrix[start : start + BLOCK])
    build_s = time.perf_counter() - t0
    path = folder / f"{kind}.faiss"
    faiss.write_index(index, str(path))
    return index, {"build_s": build_s, "disk_mb": du_mb(path), "rss_mb": rss_mb() - rss0}


def build_lexical(chunks: list[Any], size: int, settings: Settings, folder: Path, mmap: bool) -> Any:
    """The product's LexicalIndex over `size` chunks (real chunk tokens repeated per tile), saved and
    loaded again (memory-mapped with `mmap`)."""
    import bm25s

    from search.backends.local.lexical import LexicalIndex, tokenize

    stemmer, stop = settings.bm25_stemmer, settings.bm25_stopwords
    tokens = tokenize([c.indexed_text() for c in chunks], stemmer, stop)
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in tokens]
    corpus = [ids[i % len(ids)] for i in range(size)]
    model = bm25s.BM25(k1=settings.bm25_k1, b=settings.bm25_b, method="robertson")
    model.index(bm25s.tokenization.Tokenized(ids=corpus, vocab=vocab), show_progress=False)
    LexicalIndex(model, stemmer, stop).save(folder / "bm25")
    del model, corpus
    loaded = bm25s.BM25.load(str(folder / "bm25"), allow_pickle=False, mmap=mmap)
    return LexicalIndex(loaded, stemmer, stop)


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact, strict=True)]))


def time_search(index: Any, vectors: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Single-query search latency (ms) over `vectors` after a warm-up, and the ids found."""
    found = np.empty((len(vectors), K), dtype=np.int64)
    times = []
    for i, v in enumerate(vectors):
        t0 = time.perf_counter()
        _, ids = index.search(v[None, :], K)
        times.append((time.perf_counter() - t0) * 1000)
        found[i] = ids[0]
    return pct(times[WARMUP:] or times), found


def worker_scale(args: argparse.Namespace) -> dict[str, Any]:
    """Build and measure every index at `args.scale` chunks; figures as one dict."""
    import faiss

    from search.embedding import make_embedder

    settings = Settings.from_env()
    folder = Path(args.index)
    folder.mkdir(parents=True, exist_ok=True)
    data = np.load(args.pool, allow_pickle=False)
    chunks = _chunks(Path(args.chunks))
    queries = json.loads(Path(args.queries).read_text(encoding="utf-8"))
    embedder = make_embedder(settings)
    qvec = np.stack([embedder.embed_query(q) for q in queries])
    t0 = time.perf_counter()
    matrix = tiled_matrix(data, args.scale)
    result: dict[str, Any] = {"size": args.scale, "real": len(data), "tile_s": time.perf_counter() - t0}
    threads = faiss.omp_get_max_threads()
    exact_ids = None
    for kind in ("flat", "hnsw", "ivf"):
        faiss.omp_set_num_threads(threads)  # builds use every core
        index, built = build_vectors(matrix, kind, folder, settings.hnsw_m)
        faiss.omp_set_num_threads(1)  # searches run on one, as the product's query path does
        for knob, values in _knobs(kind):
            for value in values:
                _set(index, knob, value)
                latency, ids = time_search(index, qvec)
                if kind == "flat":
                    exact_ids = ids
                recall = recall_at_k(ids, exact_ids) if exact_ids is not None else 1.0
                result[f"{kind}{'' if not knob else f' {knob}={value}'}"] = {
                    **built,
                    "ms": latency,
                    "recall": recall,
                }
        del index
        print(f"scale: {kind} done", flush=True)
    result["bm25"] = _lexical(chunks, args.scale, settings, folder, queries)
    result["first_stage"] = _first_stage(folder, embedder, queries, settings)
    result["rss_end_mb"] = rss_mb()
    return result


def _knobs(kind: str) -> list[tuple[str, list[int]]]:
    return {"flat": [("", [0])], "hnsw": [("efSearch", [64, 128, 256])], "ivf": [("nprobe", [16, 32, 64])]}[
        kind
    ]


def _set(index: Any, knob: str, value: int) -> None:
    if knob == "efSearch":
        index.hnsw.efSearch = value
    elif knob == "nprobe":
        index.nprobe = value


def _lexical(chunks: list[Any], size: int, settings: Settings, folder: Path, queries: list[str]) -> dict:
    """bm25s build time, disk, and query latency loaded in memory and memory-mapped."""
    out: dict[str, Any] = {}
    for mmap in (False, True):
        rss0, t0 = rss_mb(), time.perf_counter()
        lexical = build_lexical(chunks, size, settings, folder, mmap)
        seconds = time.perf_counter() - t0
        times = []
        for q in queries:
            t1 = time.perf_counter()
            lexical.search(q, K)
            times.append((time.perf_counter() - t1) * 1000)
        out["mmap" if mmap else "in memory"] = {
            "build_and_load_s": seconds,
            "rss_mb": rss_mb() - rss0,
            "disk_mb": du_mb(folder / "bm25"),
            "ms": pct(times[WARMUP:] or times),
        }
        del lexical
    return out


def _first_stage(folder: Path, embedder: Any, queries: list[str], settings: Settings) -> dict[str, Any]:
    """The product's first stage pieces at scale: embed + BM25 (in memory) + ANN + fuse, per query."""
    import bm25s
    import faiss

    from search.backends.local.lexical import LexicalIndex
    from search.fusion import fuse
    from search.fusion_config import default_fusion

    fusion = default_fusion(settings)
    model = bm25s.BM25.load(str(folder / "bm25"), allow_pickle=False)
    lexical = LexicalIndex(model, settings.bm25_stemmer, settings.bm25_stopwords)
    out = {}
    for kind, knob, value in (("hnsw", "efSearch", settings.hnsw_ef_search), ("ivf", "nprobe", 32)):
        index = faiss.read_index(str(folder / f"{kind}.faiss"))
        _set(index, knob, value)
        times = []
        for q in queries:
            t0 = time.perf_counter()
            v = embedder.embed_query(q)
            bm25 = [(str(i), s) for i, s in lexical.search(q, K)]
            scores, ids = index.search(v[None, :], K)
            dense = [(str(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
            fuse(bm25, dense, fusion)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{kind} {knob}={value}"] = pct(times[WARMUP:] or times)
        del index
    return out


def _chunks(path: Path) -> list[Any]:
    from search.models import Chunk

    with open(path, encoding="utf-8") as f:
        return [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]
