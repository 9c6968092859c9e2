"""The one small interface every reranker backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

#: Called as progress(done, total) while a long rerank runs (the app turns it into a progress bar).
Progress = Callable[[int, int], None]


@runtime_checkable
class Reranker(Protocol):
    """Scores (query, document) pairs; higher is more relevant. Loaded once, reused for every query."""

    name: str  # model id or path, as shown to users
    backend: str  # "zerank" | "cross-encoder" | "api"
    device: str  # "cuda" | "cpu" | "hosted API"

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> list[float]:
        """One score per document, in input order."""
        ...
