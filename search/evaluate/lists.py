"""Each query retrieved once, through the product's own code path, with per-stage timings; the
chunk → judged unit map; and the latency figures of a run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from tqdm.auto import tqdm

from search import judgments
from search.errors import QueryError
from search.evaluate.results import S_BM25, S_DENSE, S_HYBRID, QueryLists, reranked
from search.metrics import Scored
from search.models import BM25, DENSE, FUSED, FusionParams
from search.pipeline import Searcher

#: progress(stage description, done, total), called as work advances (the app's progress bar).
EvalProgress = Callable[[str, int, int], None]


def collect_lists(
    searcher: Searcher,
    queries: Mapping[str, str],
    *,
    candidates: int,
    fusion: FusionParams,
    desc: str = "retrieve",
    show_progress: bool = True,
    progress: EvalProgress | None = None,
) -> dict[str, QueryLists]:
    """BM25, dense and fused top-`candidates` chunk lists for every query (the product's code path:
    the query is cleaned by `check_query`, then `retrieve`), with per-stage timings."""
    out: dict[str, QueryLists] = {}
    items = list(queries.items())
    for i, (qid, text) in enumerate(tqdm(items, desc=desc, unit="query", disable=not show_progress)):
        try:
            query, _ = searcher.check_query(text)
        except QueryError:  # an empty query finds nothing: it scores 0, as in the app
            out[qid] = QueryLists(str(text), [], [], [], {})
        else:
            lists, timings, shape = searcher.retrieve_shaped(query, candidates, fusion)
            if shape.wordpieces is None and fusion.mode != "adaptive":  # other columns fuse adaptively
                shape = searcher.query_shape(query)
            out[qid] = QueryLists(
                query, list(lists[BM25]), list(lists[DENSE]), list(lists[FUSED]), timings, shape
            )
        if progress:
            progress(desc, i + 1, len(items))
    return out


class DocMap(dict):
    """chunk id -> the unit the judgments rank (`judgments.unit_of`): the document id for
    document-level qrels (BEIR), the passage key for documents judged by passage; filled from the
    backend as new chunk ids show up."""

    def __init__(self, searcher: Searcher, *qrels: Mapping[str, Mapping[str, int]]) -> None:
        super().__init__()
        self._backend = searcher.backend
        self._keys = {k for q in qrels for grades in q.values() for k in grades}
        self._by_passage = judgments.passage_judged_docs(self._keys)

    def add(self, ids: Sequence[str]) -> None:
        new = [i for i in dict.fromkeys(ids) if i not in self]
        for chunk in self._backend.get_chunks(new):
            self[chunk.id] = judgments.unit_of(chunk, self._keys, self._by_passage)


def _by_score(ranked: Sequence[Scored], scores: Mapping[str, float]) -> list[Scored]:
    """`ranked` reordered by reranker score (ties keep the first-stage order), as Searcher.rerank does."""
    order = sorted(range(len(ranked)), key=lambda i: (-scores[ranked[i][0]], i))
    return [(ranked[i][0], scores[ranked[i][0]]) for i in order]


def _latency(lists: Mapping[str, QueryLists], rerank_ms: Sequence[float]) -> dict[str, dict[str, float]]:
    """p50/p95/mean per stage, and per system as the stages it needs add up for each query."""
    per_stage: dict[str, list[float]] = {}
    for ql in lists.values():
        t = ql.timings_ms
        if not t:  # not searched (empty query)
            continue
        for stage, ms in t.items():
            per_stage.setdefault(stage, []).append(ms)
        per_stage.setdefault(S_BM25, []).append(t.get("bm25", 0.0))
        per_stage.setdefault(S_DENSE, []).append(t.get("embed", 0.0) + t.get("dense", 0.0))
        per_stage.setdefault(S_HYBRID, []).append(
            sum(t.get(s, 0.0) for s in ("embed", "bm25", "dense", "fusion"))
        )
    if rerank_ms:
        per_stage["rerank"] = list(rerank_ms)
        if len(rerank_ms) == len(per_stage[S_HYBRID]):  # every query had a hybrid list to rerank
            per_stage[reranked(S_HYBRID)] = [
                h + r for h, r in zip(per_stage[S_HYBRID], rerank_ms, strict=True)
            ]
    return {k: _percentiles(v) for k, v in per_stage.items()}


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0}
    return {
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "mean": float(arr.mean()),
    }
