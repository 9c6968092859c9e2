"""The Milvus backend: BM25 (Milvus's built-in BM25 function) and dense search in one collection per
index version, on Milvus Standalone / Distributed, or embedded Milvus Lite for one process.

Needs the optional extra: `pip install -e .[milvus]`. Fusion and reranking stay in our pipeline.
"""

from search.backends.milvus.backend import MilvusBackend
from search.backends.milvus.client import release_embedded
from search.backends.milvus.writer import MilvusWriter

__all__ = ["MilvusBackend", "MilvusWriter", "release_embedded"]
