"""What reranking changed: rank moves and agreement between the fused and reranked lists (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from search.models import FUSED, RERANKED, Hit, SearchResult


def format_score(score: float | None) -> str:
    """One format for every score, in the app and the CLI: 4 decimals (RRF scores are around 0.016,
    reranker scores 0-1, BM25 scores tens), never a percentage, never "1" beside "0.9894"."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "—"
    return f"{score:.4f}"


def movement(hit: Hit, top_k: int, before: str = FUSED, after: str = RERANKED) -> str:
    """`▲3` (moved up 3), `▼2`, `=`, or `from #37` when it came from beyond the shown top-k."""
    old, new = hit.rank(before), hit.rank(after)
    if new is None:
        return ""
    if old is None:
        return "new"
    if old > top_k:
        return f"from #{old}"
    if old == new:
        return "="
    return f"▲{old - new}" if old > new else f"▼{new - old}"


def overlap_at_k(a: Sequence[str], b: Sequence[str], k: int) -> float:
    """Share of the top-k of `a` that is also in the top-k of `b`."""
    if k <= 0:
        return 0.0
    top_a, top_b = set(a[:k]), set(b[:k])
    return len(top_a & top_b) / max(1, min(k, max(len(a[:k]), len(b[:k]))))


def kendall_tau(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Kendall's tau-b between the orders of the items both lists share (None with fewer than 2)."""
    from scipy.stats import kendalltau

    common = [x for x in a if x in set(b)]
    if len(common) < 2:
        return None
    pos_b = {x: i for i, x in enumerate(b)}
    tau = kendalltau(list(range(len(common))), [pos_b[x] for x in common]).statistic
    return None if tau != tau else float(tau)


def movement_text(hit: Hit, top_k: int) -> str:
    """`▲5 (was #9)`, `▼2 (was #3)`, `=`, `from #37`: where a reranked hit stood in the fused list."""
    move = movement(hit, top_k)
    old = hit.rank(FUSED)
    if move.startswith(("▲", "▼")) and old is not None:
        return f"{move} (was #{old})"
    return move


@dataclass(frozen=True, slots=True)
class Agreement:
    """How much the fused and reranked top-k agree: shared results and order among them."""

    k: int
    shared: int
    overlap: float
    tau: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "shared": self.shared,
            f"overlap@{self.k}": self.overlap,
            "kendall_tau": self.tau,
        }


def agreement(result: SearchResult, top_k: int) -> Agreement | None:
    """overlap@k and Kendall tau between the two shown lists; None when reranking did not run."""
    reranked = result.stages.get(RERANKED)
    if not reranked:
        return None
    fused = [h.chunk.id for h in result.stages.get(FUSED, [])[:top_k]]
    after = [h.chunk.id for h in reranked[:top_k]]
    shared = len(set(fused) & set(after))
    return Agreement(top_k, shared, overlap_at_k(fused, after, top_k), kendall_tau(fused, after))


def went_text(hit: Hit, top_k: int) -> str:
    """Where a hybrid hit went after reranking: `▲ to #2`, `▼ to #9`, `= #4`, `▼ to #31 (out of the
    top 10)`; empty when reranking did not reach it."""
    old, new = hit.rank(FUSED), hit.rank(RERANKED)
    if new is None or old is None:
        return ""
    if new == old:
        return f"= #{new}"
    out = f"{'▲' if new < old else '▼'} to #{new}"
    return out + (f" (out of the top {top_k})" if new > top_k else "")


def gain_line(
    result: SearchResult, top_k: int, ndcg_before: float | None = None, ndcg_after: float | None = None
) -> str:
    """One line on what reranking did to this query: the NDCG@10 change when the query is judged,
    else how many of the top k changed place and the biggest move; empty when it did not run."""
    reranked = result.stages.get(RERANKED, [])[:top_k]
    if not reranked:
        return ""
    if ndcg_before is not None and ndcg_after is not None:
        delta = ndcg_after - ndcg_before
        return f"Reranking: NDCG@10 {ndcg_before:.2f} → {ndcg_after:.2f} ({delta:+.2f}) on this query"
    moved = [h for h in reranked if h.rank(FUSED) != h.rank(RERANKED)]
    if not moved:
        return f"Reranking kept the top {len(reranked)} in the same order (this query has no judgments)"
    big = max(moved, key=lambda h: abs((h.rank(FUSED) or 10**9) - (h.rank(RERANKED) or 0)))
    old, new = big.rank(FUSED), big.rank(RERANKED)
    return (
        f"Reranking changed the place of {len(moved)} of the top {len(reranked)}; biggest move: "
        f"{big.chunk.citation()} from #{old} to #{new} (this query has no judgments, so no NDCG)"
    )
