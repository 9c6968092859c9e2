"""Backend selection: the only place that names a concrete retrieval engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from search.backends.base import DocumentInfo, DocumentUpdate, IndexBackend, IndexWriter, Scored
from search.errors import SearchError
from search.settings import Settings

#: The engines an index can live in (the `backend` setting).
BACKENDS = ("local", "milvus")

__all__ = [
    "DocumentInfo",
    "DocumentUpdate",
    "IndexBackend",
    "IndexWriter",
    "Scored",
    "open_backend",
    "open_writer",
]


def open_backend(settings: Settings) -> IndexBackend:
    """The live index for reading, on the engine `settings.backend` names."""
    if _backend(settings) == "milvus":
        from search.backends.milvus import MilvusBackend

        return MilvusBackend.open(
            Path(settings.index_dir),
            uri=settings.milvus_uri,
            token=settings.milvus_token,
            collection=settings.milvus_collection,
            ef_search=settings.hnsw_ef_search,
        )
    from search.backends.local import LocalBackend

    return LocalBackend.open(Path(settings.index_dir), ef_search=settings.hnsw_ef_search)


def open_writer(settings: Settings) -> IndexWriter:
    if _backend(settings) == "milvus":
        from search.backends.milvus import MilvusWriter

        return MilvusWriter(
            Path(settings.index_dir),
            uri=settings.milvus_uri,
            token=settings.milvus_token,
            collection=settings.milvus_collection,
            **_index_params(settings),
        )
    from search.backends.local import LocalWriter

    return LocalWriter(
        Path(settings.index_dir), hnsw_ef_search=settings.hnsw_ef_search, **_index_params(settings)
    )


def _index_params(settings: Settings) -> dict[str, Any]:
    """What every engine's writer builds an index with: the vector index and the BM25 parameters."""
    return {
        "vector_index": settings.vector_index,
        "hnsw_m": settings.hnsw_m,
        "bm25_k1": settings.bm25_k1,
        "bm25_b": settings.bm25_b,
        "bm25_stemmer": settings.bm25_stemmer,
        "bm25_stopwords": settings.bm25_stopwords,
    }


def _backend(settings: Settings) -> str:
    if settings.backend not in BACKENDS:
        raise SearchError(f"backend {settings.backend!r} is unknown: use {' or '.join(BACKENDS)}")
    return settings.backend
