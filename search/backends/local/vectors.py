"""Dense vectors in FAISS: exact inner product by default, HNSW for large corpora.

Vectors are L2-normalised at embedding time, so inner product is cosine similarity. FAISS is imported
on first use: an unchanged ingest re-run opens the writer but never touches vectors.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import faiss

#: FAISS runs single-threaded: a one-query search is memory-bound and two threads on two cores measured
#: slower; an HNSW graph built by several threads depends on their timing, so a rebuild would differ.
FAISS_THREADS = 1


@cache
def _faiss() -> Any:
    # faiss's loader logs each CPU-specific build it tries and fails to find (AVX512, AVX2) at INFO
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    import faiss

    return faiss


@contextlib.contextmanager
def _faiss_threads(n: int = FAISS_THREADS) -> Iterator[None]:
    """Limit OpenMP to `n` threads for one FAISS call, then restore the caller's setting.

    Not set once at import: FAISS and torch share the OpenMP runtime, so a global
    `omp_set_num_threads(1)` also left torch on one thread in that thread (ingest embedding at half
    speed). The setting is per OS thread, so other threads are not affected meanwhile.
    """
    faiss = _faiss()
    previous = faiss.omp_get_max_threads()
    if previous == n:
        yield
        return
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def build(vectors: np.ndarray, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 128) -> faiss.Index:
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = max(40, 2 * hnsw_m)
        index.hnsw.efSearch = ef_search
    else:
        raise ValueError(f"unknown vector_index {kind!r}; use 'flat' or 'hnsw'")
    if len(vectors):
        with _faiss_threads():
            index.add(vectors)
    return index


def save(index: faiss.Index, path: Path) -> None:
    _faiss().write_index(index, str(path))


def load(path: Path, ef_search: int | None = None) -> faiss.Index:
    faiss = _faiss()
    index = faiss.read_index(str(path))
    if ef_search is not None and isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = ef_search
    return index


def search(index: faiss.Index, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The best k of `index` for one vector. Shared by every request thread without a lock: a FAISS
    CPU index's `search` is const (thread-safe), and a loaded index is never added to or retuned
    (`efSearch` is set once, at load); ingest builds a new index instead."""
    if index.ntotal == 0 or k <= 0:
        return []
    with _faiss_threads():
        scores, ids = index.search(
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, index.ntotal)
        )
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
