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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from search.errors import JudgmentsError
from search.evaluate.lists import DocMap, EvalProgress, _by_score, _latency, collect_lists
from search.evaluate.results import (
    FIRST_STAGE,
    RERANK_SUFFIX,
    S_ADAPTIVE,
    S_BM25,
    S_DENSE,
    S_HYBRID,
    S_MINMAX,
    S_TUNED,
    DatasetReport,
    QueryLists,
    TuningSummary,
    reranked,
)
from search.fusion import fuse
from search.fusion_config import adaptive_default
from search.metrics import (
    DEFAULT_METRICS,
    HEADLINE,
    Scored,
    doc_ranking,
    per_query,
    positive_qrels,
    run_from_ranking,
)
from search.models import FusionParams
from search.pipeline import Searcher
from search.tuning import TuningResult, fusion_grid, score_configs, tune

__all__ = [
    "FIRST_STAGE",
    "RERANK_SUFFIX",
    "S_ADAPTIVE",
    "S_BM25",
    "S_DENSE",
    "S_HYBRID",
    "S_MINMAX",
    "S_TUNED",
    "DatasetReport",
    "DocMap",
    "EvalProgress",
    "QueryLists",
    "TuningSummary",
    "collect_lists",
    "evaluate_searcher",
    "reranked",
]

log = logging.getLogger(__name__)


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
    """Score BM25, dense and hybrid (and each reranked) on the judged `queries`. `fusion` sets the
    "Hybrid" column; `tune_queries`/`tune_qrels` (no query shared with `queries`) add "Hybrid (tuned)";
    `fixed_grid` keeps every grid configuration's NDCG@10; `rerank_systems` limits which columns get a
    reranked twin (reranking only "Hybrid" halves the reranker's work)."""
    fusion = fusion or searcher.fusion
    notes: list[str] = []
    none = f"{name}: no judged query with a relevant document in split {split!r}"
    queries, qrels = _judged_only(queries, qrels, none, notes)
    lists = collect_lists(searcher, queries, candidates=candidates, fusion=fusion, desc=f"{name}: retrieve",
                          show_progress=show_progress, progress=progress)  # fmt: skip
    doc_of = DocMap(searcher, qrels, tune_qrels or {})
    chunk_lists = _first_stage_columns(lists, doc_of)
    tuning = None
    if tune_queries is not None and tune_qrels is not None:  # tuned column
        tuning = _tune(searcher, tune_queries, tune_qrels, queries, name=name, split=tune_split,
                       candidates=candidates, fusion=fusion, folds=tune_folds, doc_of=doc_of,
                       show_progress=show_progress, progress=progress)  # fmt: skip
        tuned = tuning.result.params
        chunk_lists[S_TUNED] = {q: fuse(ql.bm25, ql.dense, tuned, ql.shape) for q, ql in lists.items()}

    reranker_name, rerank_ms = "", []  # the comparison columns come after: never reranked
    if rerank and searcher.reranker is not None and rerank_depth > 0:
        reranker_name = searcher.reranker_status.line()
        rerank_ms = _add_reranked(searcher, lists, chunk_lists, rerank_depth, rerank_systems, notes, name,
                                  show_progress, progress)  # fmt: skip
    elif rerank and searcher.reranker is None:
        notes.append(f"no reranking: {searcher.reranker_status.line()}")
    _add_comparisons(chunk_lists, lists, fusion, adaptive_default(searcher.settings))

    systems, scores, per_q = _score_systems(chunk_lists, lists, doc_of, qrels, metrics)
    grid = _fixed_grid(fusion, lists, doc_of, qrels) if fixed_grid else []

    stats = searcher.backend.documents()
    return DatasetReport(
        name=name, split=split, n_queries=len(lists), n_documents=len(stats),
        n_chunks=sum(d.chunks for d in stats) or len(searcher.backend), systems=systems, scores=scores,
        per_query=per_q, latency_ms=_latency(lists, rerank_ms), fusion=fusion, metrics=list(metrics),
        reranker=reranker_name, tuning=tuning, fixed_grid=grid, notes=notes,
    )  # fmt: skip


def _first_stage_columns(
    lists: Mapping[str, QueryLists], doc_of: DocMap
) -> dict[str, dict[str, list[Scored]]]:
    """BM25, dense and hybrid chunk lists per query (their chunks mapped to judged units)."""
    for ql in lists.values():
        doc_of.add([c for c, _ in ql.bm25] + [c for c, _ in ql.dense])
    return {
        S_BM25: {q: ql.bm25 for q, ql in lists.items()},
        S_DENSE: {q: ql.dense for q, ql in lists.items()},
        S_HYBRID: {q: ql.hybrid for q, ql in lists.items()},
    }


#: The former default fusion, kept as a comparison column.
FORMER_DEFAULT = FusionParams(mode="weighted", alpha=0.6, normalization="minmax")


def _add_comparisons(
    chunk_lists: dict[str, dict[str, list[Scored]]],
    lists: Mapping[str, QueryLists],
    fusion: FusionParams,
    adaptive: FusionParams,
) -> None:
    """The adaptive default and the former default beside "Hybrid", unless it is one of them."""
    same = replace(fusion, source="default")
    for system, params in ((S_MINMAX, FORMER_DEFAULT), (S_ADAPTIVE, adaptive)):
        if replace(params, source="default") != same:
            chunk_lists[system] = {q: fuse(ql.bm25, ql.dense, params, ql.shape) for q, ql in lists.items()}


def _judged_only(
    queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]], none: str, notes: list[str]
) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """The queries with a relevant judgment, and their qrels; a note says how many were left out."""
    judged = positive_qrels(qrels)
    dropped = [q for q in queries if q not in judged]
    if dropped:
        notes.append(f"{len(dropped)} queries without a relevant judgment left out")
    kept = {q: t for q, t in queries.items() if q in judged}
    if not kept:
        raise JudgmentsError(none)
    return kept, {q: judged[q] for q in kept}


def _add_reranked(
    searcher: Searcher,
    lists: dict[str, QueryLists],
    chunk_lists: dict[str, dict[str, list[Scored]]],
    depth: int,
    systems: Sequence[str] | None,
    notes: list[str],
    name: str,
    show_progress: bool,
    progress: EvalProgress | None,
) -> list[float]:
    """Add a reranked twin of each first-stage column (or of `systems`); returns the timed reranks."""
    rerank_ms: list[float] = []
    targets = [s for s in chunk_lists if systems is None or s in systems]
    scored = _rerank_all(
        searcher,
        lists,
        {s: chunk_lists[s] for s in targets},
        depth,
        rerank_ms,
        notes,
        name,
        show_progress,
        progress,
    )
    if scored is not None:
        for system in targets:
            chunk_lists[reranked(system)] = {
                q: _by_score(chunk_lists[system][q][:depth], scored[q]) for q in lists
            }
    return rerank_ms


def _score_systems(
    chunk_lists: dict[str, dict[str, list[Scored]]],
    lists: Mapping[str, QueryLists],
    doc_of: DocMap,
    qrels: Mapping[str, Mapping[str, int]],
    metrics: Sequence[str],
) -> tuple[list[str], dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """(systems in table order, mean metrics per system, NDCG@10 per query per system)."""
    systems = [s for s in (*FIRST_STAGE, *(reranked(s) for s in FIRST_STAGE)) if s in chunk_lists]
    scores: dict[str, dict[str, float]] = {}
    per_q: dict[str, dict[str, float]] = {}
    for system in systems:
        run = {q: run_from_ranking(doc_ranking(chunk_lists[system][q], doc_of)) for q in lists}
        values = per_query(qrels, run, metrics)
        scores[system] = {m: float(np.mean(list(v.values()))) for m, v in values.items()}
        per_q[system] = values.get(HEADLINE, {})
    return systems, scores, per_q


def _fixed_grid(
    fusion: FusionParams,
    lists: Mapping[str, QueryLists],
    doc_of: DocMap,
    qrels: Mapping[str, Mapping[str, int]],
) -> list[tuple[FusionParams, float]]:
    """NDCG@10 of every grid configuration on these queries (for choosing a default across sets)."""
    configs = fusion_grid(fusion)
    _, matrix = score_configs({q: ql.pair() for q, ql in lists.items()}, doc_of, qrels, configs)
    return list(zip(configs, matrix.mean(axis=1).tolist(), strict=True))


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
        {q: ql.pair() for q, ql in lists.items()},
        doc_of,
        judged,
        baseline=baseline,
        folds=folds,
        label=split,
        show_progress=show_progress,
    )
