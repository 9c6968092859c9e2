"""The one exception a reranker raises at query time, so callers can catch it without knowing
which backend (local model or hosted API) is behind the interface (part of `SearchError`)."""

from search.errors import RerankerError

__all__ = ["RerankerError"]
