"""Dense vectors in FAISS: exact inner product by default, HNSW for large corpora.

Vectors are L2-normalised at embedding time, so inner product is cosine similarity.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

# One thread: at these sizes a search is memory-bound, and two threads on two cores measured slower.
faiss.omp_set_num_threads(1)


def build(vectors: np.ndarray, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 128) -> faiss.Index:
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
        index.add(vectors)
    return index


def save(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path, ef_search: int | None = None) -> faiss.Index:
    index = faiss.read_index(str(path))
    if ef_search is not None and isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = ef_search
    return index


def search(index: faiss.Index, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    if index.ntotal == 0 or k <= 0:
        return []
    scores, ids = index.search(
        np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, index.ntotal)
    )
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
