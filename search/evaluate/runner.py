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

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from search import judgments
from search.errors import QueryError
from search.fusion import fuse
from search.fusion_config import default_fusion, save_fusion
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
from search.settings import Settings
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

    @property
    def has_rerank(self) -> bool:
        return any(s.endswith(RERANK_SUFFIX) for s in self.systems)

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
    """chunk id -> BEIR document id, filled from the backend as new chunk ids show up."""

    def __init__(self, searcher: Searcher) -> None:
        super().__init__()
        self._backend = searcher.backend

    def add(self, ids: Sequence[str]) -> None:
        new = [i for i in dict.fromkeys(ids) if i not in self]
        for chunk in self._backend.get_chunks(new):
            self[chunk.id] = chunk.doc_id


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
        raise ValueError(f"{name}: no judged query with a relevant document in split {split!r}")
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
    doc_of = DocMap(searcher)
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
        raise ValueError(f"{name}: no judged query with a relevant document in tuning split {split!r}")
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
                scores.update(searcher.rerank(ql.text, first))
                rerank_ms.append((time.perf_counter() - t0) * 1000)
            if rest:
                scores.update(searcher.rerank(ql.text, rest))
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
    index_dir = Path(searcher.settings.index_dir)
    queries, qrels = judgments.load(index_dir, split)
    queries = _cap(queries, max_queries)
    s = searcher.settings
    return evaluate_searcher(
        searcher,
        queries,
        qrels,
        name=index_dir.name or str(index_dir),
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

    def summary(self) -> str:
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
    index_dir = Path(searcher.settings.index_dir)
    queries, qrels = judgments.load(index_dir, split)
    queries = _cap(queries, max_queries)
    judged = positive_qrels(qrels)
    queries = {q: t for q, t in queries.items() if q in judged}
    if not queries:
        raise ValueError(
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
    doc_of = DocMap(searcher)
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
    save_fusion(Path(searcher.settings.index_dir), params)
    searcher.fusion = params


# ---------------------------------------------------------------------------------------------
# the CLI: BEIR folders, one cached index each


def cache_key(folder: Path, settings: Settings) -> str:
    """`<corpus name>-<hash>`: the hash covers the corpus file's size and mtime and every setting that
    changes what is indexed, so a changed corpus or model gets its own index, an unchanged one is reused."""
    corpus = Path(folder) / "corpus.jsonl"
    st = corpus.stat()
    parts = [
        str(corpus.resolve()),
        st.st_size,
        st.st_mtime_ns,
        settings.embedding_model,
        settings.chunk_tokens,
        settings.chunk_overlap,
        settings.vector_index,
        settings.hnsw_m,
        settings.bm25_k1,
        settings.bm25_b,
        settings.bm25_stemmer,
        settings.bm25_stopwords,
    ]
    if settings.backend != "local":  # its own index (and tuned fusion); local keys stay as they were
        parts += [settings.backend, settings.milvus_uri, settings.milvus_collection]
    digest = hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:10]
    return f"{Path(folder).resolve().name}-{digest}"


def prepare_beir_index(
    folder: Path, settings: Settings, cache_dir: Path, *, embedder: Any = None, show_progress: bool = True
) -> Settings:
    """Build or update (incrementally, with the normal ingest) the cached index of a BEIR folder and
    copy its judgments beside it; returns the settings pointing at that index."""
    from ingest.beir import beir_sources, copy_judgments
    from ingest.pipeline import run_ingest
    from search.backends import open_writer

    index_dir = Path(cache_dir) / cache_key(folder, settings)
    s = replace(settings, index_dir=index_dir)
    report = run_ingest(
        beir_sources(Path(folder)), open_writer(s), s, embedder=embedder, show_progress=show_progress
    )
    log.info("%s", report.summary())
    copy_judgments(Path(folder), index_dir)
    return s


def tuning_split(index_dir: Path, preferences: Sequence[str]) -> str | None:
    """The first of `preferences` (e.g. dev, then train) with a qrels file beside the index."""
    for name in preferences:
        found = judgments.resolve_split(index_dir, name)
        if found:
            return found
    return None


def evaluate_beir(
    folder: Path,
    settings: Settings,
    *,
    cache_dir: Path,
    embedder: Any,
    reranker: Any = None,
    reranker_status: Any = None,
    split: str = "test",
    tune_on: Sequence[str] = (),
    max_queries: int | None = None,
    save_tuned: bool = True,
    fixed_grid: bool = True,
    show_progress: bool = True,
    progress: EvalProgress | None = None,
) -> DatasetReport:
    """One BEIR folder end to end: cached index, judged split, optional tuning on another split.

    When the evaluated split contains queries of the tuning split (AILA's test.tsv holds all 50
    queries, train_q1-q10 ten of them), those are left out of the evaluation, so no column is ever
    scored on a query that tuning saw; the report notes it."""
    s = prepare_beir_index(folder, settings, cache_dir, embedder=embedder, show_progress=show_progress)
    index_dir = Path(s.index_dir)
    name = Path(folder).resolve().name
    eval_split = judgments.resolve_split(index_dir, split) or split
    queries, qrels = judgments.load(index_dir, eval_split)
    notes: list[str] = []
    tune_queries = tune_qrels = None
    tune_name = ""
    if tune_on:
        found = tuning_split(index_dir, tune_on)
        if found is None or found == eval_split:
            notes.append(f"no tuning split among {', '.join(tune_on)} apart from {eval_split}: not tuned")
        else:
            tune_name = found
            tune_queries, tune_qrels = judgments.load(index_dir, found)
            # the whole tuning split stays out of the evaluation, also the part --max-queries skips
            shared = set(queries) & set(tune_queries)
            tune_judged = positive_qrels(tune_qrels)
            tune_queries = _cap({q: t for q, t in tune_queries.items() if q in tune_judged}, max_queries)
            if shared:
                notes.append(
                    f"{len(shared)} queries of {found} also in {eval_split}: left out of the evaluation"
                )
                queries = {q: t for q, t in queries.items() if q not in shared}
    judged = positive_qrels(qrels)
    queries = _cap({q: t for q, t in queries.items() if q in judged}, max_queries)
    from search.backends import open_backend

    searcher = Searcher(open_backend(s), embedder, s, reranker, reranker_status, fusion=default_fusion(s))
    report = evaluate_searcher(
        searcher,
        queries,
        qrels,
        name=name,
        split=eval_split,
        fusion=default_fusion(s),
        rerank=reranker is not None,
        candidates=s.candidates,
        rerank_depth=s.rerank_depth,
        tune_queries=tune_queries,
        tune_qrels=tune_qrels,
        tune_split=tune_name,
        fixed_grid=fixed_grid,
        show_progress=show_progress,
        progress=progress,
    )
    report.notes = notes + report.notes
    if report.tuning and save_tuned:
        save_fusion(index_dir, report.tuning.result.params)
        report.tuning.saved_to = str(index_dir / "fusion.json")
    return report


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
