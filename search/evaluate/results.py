"""What an evaluation returns: the systems' columns, one query's first-stage lists, the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from search.adaptive import WHOLE, QueryShape
from search.metrics import DEFAULT_METRICS, HEADLINE, Scored
from search.models import FusionParams
from search.tuning import TuningResult

# Column names, in table order. "Hybrid" is the default fusion; "Hybrid (tuned)" appears with tuning.
S_BM25 = "BM25"

S_DENSE = "Dense"

S_HYBRID = "Hybrid"

S_TUNED = "Hybrid (tuned)"

#: Comparison columns, shown when "Hybrid" runs another fusion: the adaptive default (issue 19) and
#: the former default (weighted min-max, dense weight 0.6). Not reranked.
S_ADAPTIVE = "Hybrid (adaptive)"

S_MINMAX = "Hybrid (min-max 0.6)"

RERANK_SUFFIX = "+rerank"

FIRST_STAGE = (S_BM25, S_DENSE, S_HYBRID, S_MINMAX, S_ADAPTIVE, S_TUNED)


def reranked(system: str) -> str:
    return system + RERANK_SUFFIX


@dataclass
class QueryLists:
    """One query's first-stage output, kept so every other list can be derived without searching."""

    text: str
    bm25: list[Scored]
    dense: list[Scored]
    hybrid: list[Scored]  # fused with the report's default parameters, by the searcher itself
    timings_ms: dict[str, float]
    shape: QueryShape = WHOLE  # how much of the query the embedder read (adaptive fusion)

    def pair(self) -> tuple[list[Scored], list[Scored], QueryShape]:
        """(BM25, dense, shape): what `fuse` and tuning need to fuse this query again."""
        return self.bm25, self.dense, self.shape


@dataclass
class TuningSummary:
    """How "Hybrid (tuned)" was obtained: on which judged queries, never the evaluated ones."""

    split: str
    result: TuningResult
    saved_to: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"split": self.split, "saved_to": self.saved_to, **self.result.to_dict()}


@dataclass
class DatasetReport:
    """One data set's evaluation: mean metrics per system, per-query NDCG@10, stage latencies."""

    name: str
    split: str
    n_queries: int
    n_documents: int
    n_chunks: int
    systems: list[str]
    scores: dict[str, dict[str, float]]  # system -> metric -> mean over the judged queries
    per_query: dict[str, dict[str, float]]  # system -> query id -> NDCG@10
    latency_ms: dict[str, dict[str, float]]  # stage or system -> {"p50", "p95", "mean"}
    fusion: FusionParams  # the parameters of the "Hybrid" column
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    reranker: str = ""
    tuning: TuningSummary | None = None
    fixed_grid: list[tuple[FusionParams, float]] = field(default_factory=list)  # NDCG@10 per config
    notes: list[str] = field(default_factory=list)

    def score(self, system: str, metric: str = HEADLINE) -> float | None:
        return self.scores.get(system, {}).get(metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "split": self.split,
            "n_queries": self.n_queries,
            "n_documents": self.n_documents,
            "n_chunks": self.n_chunks,
            "systems": list(self.systems),
            "metrics": list(self.metrics),
            "scores": self.scores,
            "per_query": self.per_query,
            "latency_ms": self.latency_ms,
            "fusion": self.fusion.to_dict(),
            "fusion_describe": self.fusion.describe(),
            "reranker": self.reranker,
            "tuning": self.tuning.to_dict() if self.tuning else None,
            "fixed_grid": [
                {"params": p.to_dict(), "describe": p.describe(), HEADLINE: s} for p, s in self.fixed_grid
            ],
            "notes": list(self.notes),
        }
