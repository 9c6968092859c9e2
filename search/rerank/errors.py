"""The one exception a reranker raises at query time, so callers can catch it without knowing
which backend (local model or hosted API) is behind the interface."""

from __future__ import annotations


class RerankerError(RuntimeError):
    """A rerank call failed for a reason worth showing a user in one line (bad key, timeout, ...)."""
