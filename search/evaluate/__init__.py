"""Evaluation: NDCG@10, Recall@100 and MRR@10 of BM25, dense and hybrid retrieval, each with and
without reranking, on BEIR data sets (`python -m search.evaluate`) or on judgments made in the app.

The app calls `evaluate_index`, `tune_index` and `apply_fusion`; judgments are marked and read
with `search.judgments`.
"""

from search.evaluate.runner import (
    DatasetReport,
    EvalProgress,
    TuneOutcome,
    apply_fusion,
    evaluate_beir,
    evaluate_index,
    evaluate_searcher,
    tune_index,
)

__all__ = [
    "DatasetReport",
    "EvalProgress",
    "TuneOutcome",
    "apply_fusion",
    "evaluate_beir",
    "evaluate_index",
    "evaluate_searcher",
    "tune_index",
]
