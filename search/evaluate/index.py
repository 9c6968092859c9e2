"""Evaluation and tuning of an open index on its own judgments: what the app's Evaluate tab runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from search import judgments
from search.errors import JudgmentsError
from search.evaluate.runner import (
    DatasetReport,
    DocMap,
    EvalProgress,
    _cap,
    _tune_lists,
    collect_lists,
    evaluate_searcher,
)
from search.fusion_config import save_fusion
from search.metrics import positive_qrels
from search.models import FusionParams
from search.pipeline import Searcher
from search.tuning import TuningResult


def evaluate_index(
    searcher: Searcher,
    split: str = judgments.USER_SPLIT,
    *,
    rerank: bool = True,
    rerank_systems: Sequence[str] | None = None,
    rerank_depth: int | None = None,
    max_queries: int | None = None,
    show_progress: bool = False,
    progress: EvalProgress | None = None,
) -> DatasetReport:
    """The Evaluate tab: NDCG@10 (and the rest) of BM25, dense and the index's hybrid, each before
    and after reranking, on the judged queries of `split` beside the searcher's index.

    Reranking dominates the cost on CPU: `rerank_systems=("Hybrid",)` reranks only the hybrid
    list (what search shows), `rerank_depth` (default: settings) how much of it."""
    queries, qrels = judgments.load(searcher.ref.state, split)
    queries = _cap(queries, max_queries)
    s = searcher.settings
    return evaluate_searcher(
        searcher,
        queries,
        qrels,
        name=searcher.ref.name,
        split=split,
        fusion=searcher.fusion,
        rerank=rerank,
        candidates=s.candidates,
        rerank_depth=s.rerank_depth if rerank_depth is None else rerank_depth,
        rerank_systems=rerank_systems,
        show_progress=show_progress,
        progress=progress,
    )


@dataclass
class TuneOutcome:
    """What tuning on the user's judgments would change: NDCG@10 of the current fusion and the
    cross-validated NDCG@10 of tuning, both over the same judged queries, each query scored by a
    choice made without it (`after` is None with fewer than 2 judged queries)."""

    params: FusionParams  # the choice made on all judged queries (what `apply_fusion` stores)
    current: FusionParams
    before: float  # current fusion, mean NDCG@10 over the judged queries
    after: float | None  # tuned, held-out (k-fold) mean NDCG@10 over the same queries
    in_sample: float  # the chosen params on all judged queries (optimistic)
    bm25: float
    dense: float
    n_queries: int
    folds: int
    split: str
    result: TuningResult

    @property
    def refusal(self) -> str:
        """Why tuning recommends nothing here (empty when it does)."""
        return self.result.refusal

    def summary(self) -> str:
        if self.refusal:
            return f"no recommendation: {self.refusal}"
        after = "n/a (judge at least 2 queries)" if self.after is None else f"{self.after:.3f}"
        return (
            f"{self.params.describe()} — NDCG@10 on {self.n_queries} judged queries: current "
            f"({self.current.describe()}) {self.before:.3f}, tuned {after} held-out "
            f"({self.folds}-fold); BM25 {self.bm25:.3f}, dense {self.dense:.3f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params.to_dict(),
            "current": self.current.to_dict(),
            "before": self.before,
            "after": self.after,
            "in_sample": self.in_sample,
            "bm25": self.bm25,
            "dense": self.dense,
            "n_queries": self.n_queries,
            "folds": self.folds,
            "split": self.split,
            "summary": self.summary(),
        }


def tune_index(
    searcher: Searcher,
    split: str = judgments.USER_SPLIT,
    *,
    folds: int = 5,
    max_queries: int | None = None,
    show_progress: bool = False,
    progress: EvalProgress | None = None,
) -> TuneOutcome:
    """Tune the fusion on the judged queries of `split` beside the index (nothing is stored;
    call `apply_fusion(searcher, outcome.params)` to keep it)."""
    queries, qrels = judgments.load(searcher.ref.state, split)
    queries = _cap(queries, max_queries)
    judged = positive_qrels(qrels)
    queries = {q: t for q, t in queries.items() if q in judged}
    if not queries:
        raise JudgmentsError(
            f"no judged query with a relevant document in {split!r}: mark some hits relevant first"
        )
    current = searcher.fusion
    lists = collect_lists(
        searcher,
        queries,
        candidates=searcher.settings.candidates,
        fusion=current,
        desc="retrieve",
        show_progress=show_progress,
        progress=progress,
    )
    doc_of = DocMap(searcher, judged)
    result = _tune_lists(lists, doc_of, judged, current, folds, split, show_progress)
    return TuneOutcome(
        params=result.params,
        current=current,
        before=result.baseline_score,
        after=result.cv_score,
        in_sample=result.score,
        bm25=result.bm25_score,
        dense=result.dense_score,
        n_queries=result.n_queries,
        folds=result.folds,
        split=split,
        result=result,
    )


def apply_fusion(searcher: Searcher, params: FusionParams) -> None:
    """Store `params` with the searcher's index (fusion.json) and use them from the next query on."""
    save_fusion(searcher.ref.state, params)
    searcher.fusion = params
