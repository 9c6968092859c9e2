"""The adaptive default fusion: per-query min-max scores, combined with a dense weight that follows how
much of the query the embedding model actually read. No judgments needed.

Why the share read: the embedding model reads the first `max_tokens` word pieces of a query (256
for MiniLM) and BM25 reads all of it. For a 900-word fact description the dense vector stands for a
quarter of the query, so its weight is scaled by that share: dense weight = alpha x read. Short
queries (every query of SciFact, NFCorpus, CoSQA, the sample) are read whole and keep alpha.

Measured against the alternatives on the shared sets' lists (bench/fusion_eval.py, README "Fusion
defaults"): the convex combination over theoretical bounds of Bruch, Gai & Ingber (TOIS 2023, TM2C2:
BM25 / the query's best, cosine over [-1, 1]) lost 0.15 NDCG@10 to dense on CoSQA at alpha 0.6 and
still 0.04 at 0.9: fixed bounds squeeze a dense list's spread (cosines 0.3-0.7 become 0.65-0.85)
while BM25 keeps its full range, so BM25 decides the order, which is wrong wherever BM25 is the
weak retriever. Per-query min-max gives both lists the same range; the price is that a flat list
for a nonsense query is stretched too, so fused scores are relative (labelled so) and whether
anything matched is judged on raw evidence instead (`search.match`).

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
ADAPTIVE_ALPHA = 0.8

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
        limit = read_limit(embedder)
        if len(query) <= limit or not hasattr(embedder, "count_tokens"):
            return cls(None, limit)
        return cls(int(embedder.count_tokens(query)), limit)  # type: ignore[attr-defined]

    @property
    def read(self) -> float:
        """Share of the query the embedder read, in (0, 1]."""
        if not self.wordpieces or self.wordpieces <= self.limit:
            return 1.0
        return self.limit / self.wordpieces


def read_limit(embedder: object) -> int:
    """Word pieces of a query the embedder reads: its `max_tokens` less [CLS] and [SEP]."""
    return max(1, int(getattr(embedder, "max_tokens", 512)) - SPECIAL_TOKENS)


WHOLE = QueryShape(None, 254)


def dense_weight(params: FusionParams, shape: QueryShape = WHOLE) -> float:
    """The dense list's weight for this query: alpha x the share of the query the embedder read."""
    return float(params.alpha) * shape.read


def fuse_adaptive(
    bm25: Sequence[Scored], dense: Sequence[Scored], params: FusionParams, shape: QueryShape = WHOLE
) -> list[Scored]:
    """(1 - w) * minmax(bm25) + w * minmax(dense) with w = `dense_weight`; a chunk absent from a
    list gets 0 from it; a flat list (all scores equal) counts 1 for each of its chunks. Ties: best
    rank in either list, then id."""
    w = dense_weight(params, shape)
    scores: dict[str, float] = {}
    best: dict[str, int] = {}
    for weight, ranked in ((1.0 - w, bm25), (w, dense)):
        if not ranked:
            continue
        values = _minmax(np.asarray([s for _, s in ranked], dtype=np.float64))
        for rank, ((doc, _), value) in enumerate(zip(ranked, values.tolist(), strict=True), start=1):
            scores[doc] = scores.get(doc, 0.0) + weight * value
            if rank < best.get(doc, rank + 1):
                best[doc] = rank
    return sorted(scores.items(), key=lambda item: (-item[1], best[item[0]], item[0]))


def _minmax(scores: np.ndarray) -> np.ndarray:
    lo, hi = float(scores.min()), float(scores.max())
    return np.ones_like(scores) if hi - lo <= 1e-12 else (scores - lo) / (hi - lo)


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
