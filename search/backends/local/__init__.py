"""The single-machine backend: FAISS for vectors, bm25s for BM25, JSON/NumPy files on disk."""

from search.backends.local.backend import LocalBackend
from search.backends.local.writer import LocalWriter

__all__ = ["LocalBackend", "LocalWriter"]
