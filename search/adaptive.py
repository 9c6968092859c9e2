"""The adaptive default fusion: a convex combination over theoretical score bounds whose dense
weight follows how much of the query the embedding model actually read. No judgments needed.

Why not per-query min-max (the old default): it stretches every list to [0, 1] whatever its scores,
so a flat dense list for a nonsense query looks as confident as a sharp one, and the two lists'
weights mean different things on every query. Bruch, Gai & Ingber ("An Analysis of Fusion Functions
for Hybrid Retrieval", TOIS 2023) find the convex combination over theoretical bounds (TM2C2) more
robust: BM25 is scaled by its theoretical minimum (0) and the query's best score, cosine by its fixed
range [-1, 1], so a dense list whose scores are close together moves the fused order little.

Why the share read: the embedding model reads the first `max_tokens` word pieces of a query (256
for MiniLM) and BM25 reads all of it. For a 900-word fact description the dense vector stands for a
quarter of the query, so its weight is scaled by that share: dense weight = alpha x read.

Pure functions; the query's length in word pieces is counted by the caller (`QueryShape`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from search.models import FusionParams

Scored = tuple[str, float]

#: The adaptive default's dense weight for a query the embedder read whole (see the README's fusion
#: table: chosen on the tuning splits, reported on the test splits).
ADAPTIVE_ALPHA = 0.6

#: The special tokens ([CLS], [SEP]) a BERT-style embedder adds inside its `max_tokens`.
SPECIAL_TOKENS = 2


@dataclass(frozen=True, slots=True)
class QueryShape:
    """How much of a query the embedding model read: `wordpieces` (None: not counted, because the
    query is too short to be cut) out of the `limit` it reads."""

    wordpieces: int | None
    limit: int

    @classmethod
    def of(cls, query: str, embedder: object) -> QueryShape:
        """Count only when the query could pass the limit: a word piece is at least one character,
        so a query no longer than the limit in characters is read whole (no tokenizer call)."""
        limit = max(1, int(getattr(embedder, "max_tokens", 512)) - SPECIAL_TOKENS)
        if len(query) <= limit or not hasattr(embedder, "count_tokens"):
            return cls(None, limit)
        return cls(int(embedder.count_tokens(query)), limit)  # type: ignore[attr-defined]

    @property
    def read(self) -> float:
        """Share of the query the embedder read, in (0, 1]."""
        if not self.wordpieces or self.wordpieces <= self.limit:
            return 1.0
        return self.limit / self.wordpieces


WHOLE = QueryShape(None, 254)


def dense_weight(params: FusionParams, shape: QueryShape = WHOLE) -> float:
    """The dense list's weight for this query: alpha x the share of the query the embedder read."""
    return float(params.alpha) * shape.read


def bm25_scaled(scores: np.ndarray) -> np.ndarray:
    """BM25 over its theoretical bounds: 0 (no query term) to the query's best score."""
    if scores.size == 0:
        return scores
    top = float(scores.max())
    return scores / top if top > 0 else np.zeros_like(scores)


def cosine_scaled(scores: np.ndarray) -> np.ndarray:
    """Cosine over its fixed range [-1, 1] mapped to [0, 1]: never stretched per query."""
    return np.clip((scores + 1.0) / 2.0, 0.0, 1.0)


def fuse_adaptive(
    bm25: Sequence[Scored], dense: Sequence[Scored], params: FusionParams, shape: QueryShape = WHOLE
) -> list[Scored]:
    """(1 - w) * bm25_scaled + w * cosine_scaled with w = `dense_weight`; a chunk absent from a list
    gets that list's theoretical minimum (0). Ties: best rank in either list, then id."""
    w = dense_weight(params, shape)
    scores: dict[str, float] = {}
    best: dict[str, int] = {}
    for weight, ranked, scale in ((1.0 - w, bm25, bm25_scaled), (w, dense, cosine_scaled)):
        if not ranked:
            continue
        values = scale(np.asarray([s for _, s in ranked], dtype=np.float64))
        for rank, ((doc, _), value) in enumerate(zip(ranked, values.tolist(), strict=True), start=1):
            scores[doc] = scores.get(doc, 0.0) + weight * value
            if rank < best.get(doc, rank + 1):
                best[doc] = rank
    return sorted(scores.items(), key=lambda item: (-item[1], best[item[0]], item[0]))


def explain(params: FusionParams, shape: QueryShape = WHOLE, *, bm25_matched: bool = True) -> str:
    """Which fusion ran on this query and why, in one line for the settings panel, CLI and API."""
    if params.mode != "adaptive":
        why = "tuned on judgments" if params.source == "tuned" else f"{params.source} setting"
        return f"{params.describe()} ({why})"
    w = dense_weight(params, shape)
    if not bm25_matched:
        return f"adaptive fusion: BM25 matched nothing, so the dense list (weight {w:.2f}) orders the results"
    if shape.read < 1.0:
        return (
            f"adaptive fusion: dense weight {w:.2f} ({params.alpha:.2f} × {shape.read:.0%}): long query, "
            f"the embedder read {shape.limit} of {shape.wordpieces} word pieces; BM25 read all"
        )
    return f"adaptive fusion: dense weight {w:.2f}: the embedder read the whole query"
