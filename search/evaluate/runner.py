"""Evaluation of a `Searcher` against judgments: every stage, with and without reranking.

Each query is retrieved once (`Searcher.retrieve`: BM25 and dense top-`candidates` chunks, and
their fusion with the default parameters, timed per stage). Everything else is computed from those
cached lists: fused lists for any other parameters (tuning, the fixed-configuration grid) by the
pure `fuse`, and reranked lists from one reranker pass per query over the union of the lists'
top-`rerank_depth` chunks (the hybrid top-`rerank_depth` first, timed, as the app reranks it).
BEIR judges documents, so each chunk list becomes a document ranking by best chunk.

Only `Searcher` and the `IndexBackend` interface are used, never a concrete engine. The same code
serves the CLI (BEIR folders, one cached index each) and the app (the open index and its user
judgments); `progress(stage, done, total)` lets the app drive its own progress bar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from search import judgments
from search.errors import JudgmentsError, QueryError
from search.fusion import fuse
from search.metrics import (
    DEFAULT_METRICS,
    HEADLINE,
    Scored,
    doc_ranking,
    per_query,
    positive_qrels,
    run_from_ranking,
)
from search.models import BM25, DENSE, FUSED, FusionParams
from search.pipeline import Searcher
from search.tuning import TuningResult, fusion_grid, score_configs, tune

log = logging.getLogger(__name__)

#: progress(stage description, done, total), called as work advances (the app's progress bar).
EvalProgress = Callable[[str, int, int], None]

# Column names, in table order. "Hybrid" is the default fusion; "Hybrid (tuned)" appears with tuning.
S_BM25 = "BM25"
S_DENSE = "Dense"
S_HYBRID = "Hybrid"
S_TUNED = "Hybrid (tuned)"
RERANK_SUFFIX = "+rerank"
FIRST_STAGE = (S_BM25, S_DENSE, S_HYBRID, S_TUNED)


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


# ---------------------------------------------------------------------------------------------
# first stage


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
            lists, timings = searcher.retrieve(query, candidates, fusion)
            out[qid] = QueryLists(query, list(lists[BM25]), list(lists[DENSE]), list(lists[FUSED]), timings)
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


# ---------------------------------------------------------------------------------------------
# the evaluation


def evaluate_searcher(
    searcher: Searcher,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    name: str,
    split: str,
    fusion: FusionParams | None = None,
    rerank: bool = True,
    candidates: int = 100,
    rerank_depth: int = 100,
    rerank_systems: Sequence[str] | None = None,
    tune_queries: Mapping[str, str] | None = None,
    tune_qrels: Mapping[str, Mapping[str, int]] | None = None,
    tune_split: str = "",
    tune_folds: int = 5,
    fixed_grid: bool = False,
    metrics: Sequence[str] = DEFAULT_METRICS,
    show_progress: bool = True,
    progress: EvalProgress | None = None,
) -> DatasetReport:
    """Score BM25, dense and hybrid (and each reranked) on the judged `queries`.

    `fusion` sets the "Hybrid" column (default: the searcher's). With `tune_queries`/`tune_qrels`
    the fusion is tuned on those (which must not share a query id with `queries`: asserted) and a
    "Hybrid (tuned)" column is added. With `fixed_grid` every grid configuration's NDCG@10 on
    the evaluated queries is kept, for choosing a default across data sets. `rerank_systems` limits
    which first-stage columns get a reranked twin (default all); reranking only S_HYBRID halves
    the reranker's work (100 chunks a query instead of the lists' union).
    """
    fusion = fusion or searcher.fusion
    judged = positive_qrels(qrels)
    notes: list[str] = []
    dropped = [q for q in queries if q not in judged]
    if dropped:
        notes.append(f"{len(dropped)} queries without a relevant judgment left out")
    queries = {q: t for q, t in queries.items() if q in judged}
    if not queries:
        raise JudgmentsError(f"{name}: no judged query with a relevant document in split {split!r}")
    qrels = {q: judged[q] for q in queries}

    lists = collect_lists(
        searcher,
        queries,
        candidates=candidates,
        fusion=fusion,
        desc=f"{name}: retrieve",
        show_progress=show_progress,
        progress=progress,
    )
    doc_of = DocMap(searcher, qrels, tune_qrels or {})
    for ql in lists.values():
        doc_of.add([c for c, _ in ql.bm25] + [c for c, _ in ql.dense])

    chunk_lists: dict[str, dict[str, list[Scored]]] = {
        S_BM25: {q: ql.bm25 for q, ql in lists.items()},
        S_DENSE: {q: ql.dense for q, ql in lists.items()},
        S_HYBRID: {q: ql.hybrid for q, ql in lists.items()},
    }

    tuning = None
    if tune_queries is not None and tune_qrels is not None:
        tuning = _tune(
            searcher,
            tune_queries,
            tune_qrels,
            queries,
            name=name,
            split=tune_split,
            candidates=candidates,
            fusion=fusion,
            folds=tune_folds,
            doc_of=doc_of,
            show_progress=show_progress,
            progress=progress,
        )
        tuned = tuning.result.params
        chunk_lists[S_TUNED] = {q: fuse(ql.bm25, ql.dense, tuned) for q, ql in lists.items()}

    rerank_ms: list[float] = []
    reranker_name = ""
    if rerank and searcher.reranker is not None and rerank_depth > 0:
        reranker_name = searcher.reranker_status.line()
        targets = [s for s in chunk_lists if rerank_systems is None or s in rerank_systems]
        scored = _rerank_all(
            searcher,
            lists,
            {s: chunk_lists[s] for s in targets},
            rerank_depth,
            rerank_ms,
            notes,
            name,
            show_progress,
            progress,
        )
        if scored is not None:
            for system in targets:
                chunk_lists[reranked(system)] = {
                    q: _by_score(chunk_lists[system][q][:rerank_depth], scored[q]) for q in lists
                }
    elif rerank and searcher.reranker is None:
        notes.append(f"no reranking: {searcher.reranker_status.line()}")

    systems = [s for s in (*FIRST_STAGE, *(reranked(s) for s in FIRST_STAGE)) if s in chunk_lists]
    scores: dict[str, dict[str, float]] = {}
    per_q: dict[str, dict[str, float]] = {}
    for system in systems:
        run = {q: run_from_ranking(doc_ranking(chunk_lists[system][q], doc_of)) for q in lists}
        values = per_query(qrels, run, metrics)
        scores[system] = {m: float(np.mean(list(v.values()))) for m, v in values.items()}
        per_q[system] = values.get(HEADLINE, {})

    grid: list[tuple[FusionParams, float]] = []
    if fixed_grid:
        configs = fusion_grid(fusion)
        _, matrix = score_configs({q: (ql.bm25, ql.dense) for q, ql in lists.items()}, doc_of, qrels, configs)
        grid = list(zip(configs, matrix.mean(axis=1).tolist(), strict=True))

    stats = searcher.backend.documents()
    return DatasetReport(
        name=name,
        split=split,
        n_queries=len(lists),
        n_documents=len(stats),
        n_chunks=sum(d.chunks for d in stats) or len(searcher.backend),
        systems=systems,
        scores=scores,
        per_query=per_q,
        latency_ms=_latency(lists, rerank_ms),
        fusion=fusion,
        metrics=list(metrics),
        reranker=reranker_name,
        tuning=tuning,
        fixed_grid=grid,
        notes=notes,
    )


def _tune(
    searcher: Searcher,
    tune_queries: Mapping[str, str],
    tune_qrels: Mapping[str, Mapping[str, int]],
    eval_queries: Mapping[str, str],
    *,
    name: str,
    split: str,
    candidates: int,
    fusion: FusionParams,
    folds: int,
    doc_of: DocMap,
    show_progress: bool,
    progress: EvalProgress | None,
) -> TuningSummary:
    judged = positive_qrels(tune_qrels)
    tune_queries = {q: t for q, t in tune_queries.items() if q in judged}
    overlap = set(tune_queries) & set(eval_queries)
    assert not overlap, f"tuning and evaluation share {len(overlap)} queries, e.g. {sorted(overlap)[:3]}"
    if not tune_queries:
        raise JudgmentsError(f"{name}: no judged query with a relevant document in tuning split {split!r}")
    lists = collect_lists(
        searcher,
        tune_queries,
        candidates=candidates,
        fusion=fusion,
        desc=f"{name}: retrieve ({split})",
        show_progress=show_progress,
        progress=progress,
    )
    result = _tune_lists(lists, doc_of, judged, fusion, folds, split, show_progress)
    assert not set(result.query_ids) & set(eval_queries)
    return TuningSummary(split=split, result=result)


def _rerank_all(
    searcher: Searcher,
    lists: dict[str, QueryLists],
    chunk_lists: dict[str, dict[str, list[Scored]]],
    depth: int,
    rerank_ms: list[float],
    notes: list[str],
    name: str,
    show_progress: bool,
    progress: EvalProgress | None,
) -> dict[str, dict[str, float]] | None:
    """Reranker score of every chunk any reranked column needs, once per (query, chunk).

    The hybrid top-`depth` is scored first and timed: that is exactly what the app reranks. A
    failure (a hosted API down) drops the reranked columns rather than mixing query sets."""
    scored: dict[str, dict[str, float]] = {}
    items = list(lists.items())
    for i, (qid, ql) in enumerate(
        tqdm(items, desc=f"{name}: rerank", unit="query", disable=not show_progress)
    ):
        first = [c for c, _ in ql.hybrid[:depth]] if S_HYBRID in chunk_lists else []
        needed = list(
            dict.fromkeys(c for per_system in chunk_lists.values() for c, _ in per_system[qid][:depth])
        )
        rest = [c for c in needed if c not in set(first)]
        try:
            scores: dict[str, float] = {}
            if first:
                t0 = time.perf_counter()
                scores.update(searcher.rerank(ql.text, first)[0])
                rerank_ms.append((time.perf_counter() - t0) * 1000)
            if rest:
                scores.update(searcher.rerank(ql.text, rest)[0])
        except Exception as exc:  # any backend failure ends reranking for this set
            log.warning("reranking failed on %s query %s: %s", name, qid, exc)
            notes.append(f"reranking failed ({exc}); reranked columns left out")
            rerank_ms.clear()
            return None
        scored[qid] = scores
        if progress:
            progress(f"{name}: rerank", i + 1, len(items))
    return scored


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


# ---------------------------------------------------------------------------------------------
# the app: the open index and the judgments stored beside it


def _cap(queries: Mapping[str, str], max_queries: int | None) -> dict[str, str]:
    items = list(queries.items())
    return dict(items[:max_queries] if max_queries else items)


def _tune_lists(
    lists: dict[str, Any],
    doc_of: DocMap,
    judged: dict[str, dict[str, int]],
    baseline: FusionParams,
    folds: int,
    split: str,
    show_progress: bool,
) -> TuningResult:
    """Tune fusion on cached per-query BM25 and dense lists (documents mapped from their chunks)."""
    for ql in lists.values():
        doc_of.add([c for c, _ in ql.bm25] + [c for c, _ in ql.dense])
    return tune(
        {q: (ql.bm25, ql.dense) for q, ql in lists.items()},
        doc_of,
        judged,
        baseline=baseline,
        folds=folds,
        label=split,
        show_progress=show_progress,
    )
