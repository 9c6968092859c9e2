"""Fusion of the BM25 and dense candidate lists: pure functions over (id, score) lists.

Both modes take lists ordered best first. Ties in the fused score are broken by the best rank the
item reached in any list, then by id, so the output is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from search.adaptive import WHOLE, QueryShape, fuse_adaptive
from search.models import FusionParams

Scored = tuple[str, float]


def rrf(
    lists: Sequence[Sequence[Scored]], k: int = 60, weights: Sequence[float] | None = None
) -> list[Scored]:
    """Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009):
    score(d) = Σ_i w_i / (k + rank_i(d)), rank 1-based, lists where d is absent contribute 0."""
    if k < 0:
        raise ValueError(f"RRF k must be >= 0, got {k}")
    weights = [1.0] * len(lists) if weights is None else list(weights)
    scores: dict[str, float] = {}
    best: dict[str, int] = {}
    for weight, ranked in zip(weights, lists, strict=True):
        for rank, (doc, _) in enumerate(ranked, start=1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
            best[doc] = min(best.get(doc, rank), rank)
    return _sorted(scores, best)


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a list whose scores are all equal maps to 1 (every item equally best)."""
    if scores.size == 0:
        return scores
    lo, hi = float(scores.min()), float(scores.max())
    if hi - lo <= 1e-12:
        return np.ones_like(scores)
    return (scores - lo) / (hi - lo)


def dbsf(scores: np.ndarray) -> np.ndarray:
    """Distribution-based score fusion normalisation (as Qdrant's DBSF): map mean ± 3 std to [0, 1],
    clipped, so one outlier score does not squash the rest as min-max does."""
    if scores.size == 0:
        return scores
    mean, std = float(scores.mean()), float(scores.std())
    if std <= 1e-12:
        return np.ones_like(scores)
    lo, hi = mean - 3 * std, mean + 3 * std
    return np.clip((scores - lo) / (hi - lo), 0.0, 1.0)


NORMALIZERS = {"minmax": minmax, "dbsf": dbsf}


def weighted(
    lists: Sequence[Sequence[Scored]], weights: Sequence[float], normalization: str = "minmax"
) -> list[Scored]:
    """Convex combination of per-list normalised scores; absent from a list counts as 0."""
    try:
        norm = NORMALIZERS[normalization]
    except KeyError:
        raise ValueError(
            f"unknown normalization {normalization!r}; use one of {sorted(NORMALIZERS)}"
        ) from None
    scores: dict[str, float] = {}
    best: dict[str, int] = {}
    for weight, ranked in zip(weights, lists, strict=True):
        if not ranked:
            continue
        normed = norm(np.asarray([s for _, s in ranked], dtype=np.float64))
        for rank, ((doc, _), value) in enumerate(zip(ranked, normed, strict=True), start=1):
            scores[doc] = scores.get(doc, 0.0) + weight * float(value)
            best[doc] = min(best.get(doc, rank), rank)
    for doc in best:
        scores.setdefault(doc, 0.0)
    return _sorted(scores, best)


def fuse(
    bm25: Sequence[Scored], dense: Sequence[Scored], params: FusionParams, shape: QueryShape = WHOLE
) -> list[Scored]:
    """Fuse a BM25 and a dense list as `params` says (alpha is the dense weight); `shape` (how much
    of the query the embedder read) matters to the adaptive mode only."""
    if not 0.0 <= params.alpha <= 1.0:
        raise ValueError(f"fusion alpha must be within [0, 1], got {params.alpha}")
    lists = (bm25, dense)
    if params.mode == "rrf":
        w = (1.0 - params.alpha, params.alpha) if params.weighted_rrf else None
        return rrf(lists, k=params.k, weights=w)
    if params.mode == "weighted":
        return weighted(lists, (1.0 - params.alpha, params.alpha), params.normalization)
    if params.mode == "adaptive":
        return fuse_adaptive(bm25, dense, params, shape)
    raise ValueError(f"unknown fusion mode {params.mode!r}; use 'rrf', 'weighted' or 'adaptive'")


def _sorted(scores: dict[str, float], best: dict[str, int]) -> list[Scored]:
    return sorted(scores.items(), key=lambda item: (-item[1], best[item[0]], item[0]))
