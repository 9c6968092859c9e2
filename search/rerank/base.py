"""The one small interface every reranker backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

#: Called as progress(done, total) while a long rerank runs (the app turns it into a progress bar).
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RerankResult:
    """One score per document, in input order, and what the reranker had to cut to read them.

    Returned rather than kept on the reranker, so concurrent searches never see each other's warnings."""

    scores: list[float]
    warnings: list[str] = field(default_factory=list)


@runtime_checkable
class Reranker(Protocol):
    """Scores (query, document) pairs; higher is more relevant. Loaded once, reused for every query."""

    name: str  # model id or path, as shown to users
    backend: str  # "zerank" | "cross-encoder" | "api"
    device: str  # "cuda" | "cpu" | "hosted API"

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> RerankResult:
        """One score per document, in input order, with warnings about clipped input."""
        ...


def clip_pair(
    query: str, documents: Sequence[str], max_query_chars: int, max_doc_chars: int
) -> tuple[str, list[str], list[str]]:
    """Cut the query and each document to what a reranker reads, with a warning when the query was cut
    (documents are cut silently: a chunk is far shorter than the limit, which guards pasted blobs)."""
    warnings = []
    if len(query) > max_query_chars:
        query = query[:max_query_chars]
        warnings.append(f"query clipped to {max_query_chars} characters for reranking")
    return query, [d[:max_doc_chars] for d in documents], warnings
