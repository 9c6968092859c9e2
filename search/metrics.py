"""Retrieval metrics through ranx, typed, at document level.

Why a wrapper: ranx wants `Qrels`/`Run` objects, treats a judgment below 1 as "not relevant", and
breaks score ties in its own way. Here every judged set is cleaned once (zero-graded rows and
queries with no relevant document dropped, as trec_eval would count them as 0 and skew means),
runs are built from rankings with strictly decreasing scores (so no tie-breaking is left to the
library), and a BEIR document that became several chunks is ranked by its best chunk.

Thread safety: ranx evaluates with numba `parallel=True` code, and numba's default (workqueue)
threading layer aborts the whole process ("Concurrent access has been detected") when two threads
enter parallel code at once. So every ranx call in this process goes through `RANX_LOCK` (the
app's Evaluate and Tune tabs run it from request threads), and the per-search NDCG the app shows
(`ranking_ndcg`) is plain numpy, never ranx: searches compute it in parallel without any lock.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

#: query id -> document id -> graded relevance (0 = judged not relevant).
Qrels = dict[str, dict[str, int]]
#: query id -> document id -> score (higher is better).
Run = dict[str, dict[str, float]]
#: (chunk or document id, score), best first.
Scored = tuple[str, float]

#: NDCG@10 is the headline; Recall@100 says what a reranker of the top 100 could reach at best.
DEFAULT_METRICS: tuple[str, ...] = ("ndcg@10", "recall@100", "mrr@10")
HEADLINE = "ndcg@10"

#: The one lock around ranx (numba parallel code, see the module docstring): held for one
#: `evaluate` call, so an Evaluate run never blocks searches, only another evaluation.
RANX_LOCK = threading.Lock()


def positive_qrels(qrels: Mapping[str, Mapping[str, int]]) -> Qrels:
    """Only relevant (grade >= 1) judgments, and only queries that have at least one.

    Zero rows carry no gain in NDCG and are not relevant for recall or MRR; a query with none
    left has no answer to find and would only add zeros to every system alike.
    """
    out: Qrels = {}
    for qid, docs in qrels.items():
        kept = {str(d): int(g) for d, g in docs.items() if int(g) >= 1}
        if kept:
            out[str(qid)] = kept
    return out


def run_from_ranking(ranked: Iterable[str]) -> dict[str, float]:
    """Scores n, n-1, ..., 1 for a ranking (duplicates after the first are ignored), so the
    metric library sees exactly this order and never has to break a tie."""
    ids = list(dict.fromkeys(ranked))
    n = len(ids)
    return {doc: float(n - i) for i, doc in enumerate(ids)}


def doc_ranking(chunks: Sequence[Scored], doc_of: Mapping[str, str] | Callable[[str], str]) -> list[str]:
    """Documents ordered by their best chunk: a document's position is that of its first chunk in
    the (best-first) chunk list; later chunks of the same document add nothing."""
    lookup = doc_of.__getitem__ if isinstance(doc_of, Mapping) else doc_of
    return list(dict.fromkeys(lookup(cid) for cid, _ in chunks))


def doc_run_from_chunks(
    chunk_lists: Mapping[str, Sequence[Scored]], doc_of: Mapping[str, str] | Callable[[str], str]
) -> Run:
    """A document-level run from best-first chunk lists per query (best chunk per document)."""
    return {qid: run_from_ranking(doc_ranking(ranked, doc_of)) for qid, ranked in chunk_lists.items()}


def per_query(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str] = DEFAULT_METRICS,
) -> dict[str, dict[str, float]]:
    """metric -> query id -> value, over the queries of `qrels` that have a relevant document.

    A query missing from `run` (nothing retrieved) scores 0; run queries without judgments are
    ignored, so a run never has to be trimmed by the caller.

    The metrics are ranx's own (`ranx.evaluate`), given its low-level input: one float array of
    (document number, grade) per query, sorted by grade, and one of (document number, score) per
    query, sorted by score. Building ranx's `Qrels`/`Run` dictionaries instead compiles numba
    typed-dict code on every process start (10-20 s on this project's CPUs); arrays do not.
    """
    from numba.typed import List as TypedList
    from ranx import evaluate

    judged = positive_qrels(qrels)
    if not judged:
        return {m: {} for m in metrics}
    qids = list(judged)
    number: dict[str, int] = {}

    def table(items: Iterable[tuple[str, float]]) -> np.ndarray:
        rows = [(number.setdefault(str(d), len(number)), float(v)) for d, v in items]
        return np.asarray(rows, dtype=np.float64).reshape(-1, 2)

    # sorted best first; ties by document id, so the order never depends on dict order
    q_arrays = [table(sorted(judged[q].items(), key=lambda x: (-x[1], x[0]))) for q in qids]
    r_arrays = [table(sorted(run.get(q, {}).items(), key=lambda x: (-x[1], str(x[0])))) for q in qids]
    # ranx 0.3 fails to return per-query values for a single metric (KeyError): ask for two
    asked = list(metrics) if len(metrics) > 1 else [*metrics, "hits@1" if metrics[0] != "hits@1" else "mrr"]
    with RANX_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64 -> int64 cast notice inside ranx
        values = evaluate(TypedList(q_arrays), TypedList(r_arrays), asked, return_mean=False)
    return {m: {q: float(v) for q, v in zip(qids, values[m], strict=True)} for m in metrics}


def evaluate_run(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str] = DEFAULT_METRICS,
) -> dict[str, float]:
    """Mean of each metric over the judged queries (those with a relevant document)."""
    values = per_query(qrels, run, metrics)
    return {m: (sum(v.values()) / len(v) if v else 0.0) for m, v in values.items()}


def ranking_ndcg(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float | None:
    """NDCG@k of one ranked list against one query's grades, or None when no item is judged
    relevant (the evaluation leaves such queries out too).

    The evaluation's metric (ranx's `ndcg@k`: linear gain, log2(rank + 1) discount, grades below 1
    count 0, a repeated item counts at its first place) in plain numpy: the app computes it on every
    judged search, from many request threads at once, where ranx's numba code must not run.
    """
    relevant = sorted((int(g) for g in grades.values() if int(g) >= 1), reverse=True)
    if not relevant:
        return None
    top = list(dict.fromkeys(ranked))[: max(k, 0)]
    gains = np.array([float(g) if (g := int(grades.get(item, 0))) >= 1 else 0.0 for item in top])
    ideal = np.asarray(relevant[: max(k, 0)], dtype=np.float64)
    idcg = float(np.sum(ideal / np.log2(np.arange(2, len(ideal) + 2))))
    dcg = float(np.sum(gains / np.log2(np.arange(2, len(gains) + 2)))) if len(gains) else 0.0
    return dcg / idcg if idcg else 0.0
