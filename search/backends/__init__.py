"""Backend selection: the only place that names a concrete retrieval engine."""

from __future__ import annotations

from pathlib import Path

from search.backends.base import DocumentInfo, DocumentUpdate, IndexBackend, IndexWriter, Scored
from search.settings import Settings

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
    """The live index for reading (only the local FAISS + bm25s backend exists today)."""
    from search.backends.local import LocalBackend

    return LocalBackend.open(Path(settings.index_dir), ef_search=settings.hnsw_ef_search)


def open_writer(settings: Settings) -> IndexWriter:
    from search.backends.local import LocalWriter

    return LocalWriter(
        Path(settings.index_dir),
        vector_index=settings.vector_index,
        hnsw_m=settings.hnsw_m,
        hnsw_ef_search=settings.hnsw_ef_search,
        bm25_k1=settings.bm25_k1,
        bm25_b=settings.bm25_b,
        bm25_stemmer=settings.bm25_stemmer,
        bm25_stopwords=settings.bm25_stopwords,
    )
