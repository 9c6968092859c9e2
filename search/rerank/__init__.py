"""Reranking: one small interface (`Reranker`), three backends (local zerank, CrossEncoder, hosted
API), and `load_reranker`, which never raises for an unavailable model."""

from search.rerank.base import Progress, Reranker
from search.rerank.errors import RerankerError
from search.rerank.load import load_reranker

__all__ = ["Progress", "Reranker", "RerankerError", "load_reranker"]
