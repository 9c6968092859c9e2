"""The query pipeline: embed → BM25 + dense → fuse → rerank, every stage kept for comparison.

The searcher sees the index only through `IndexBackend`, so another engine can replace the local
FAISS + bm25s one without this module, the app or the evaluation changing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from search.adaptive import WHOLE, QueryShape, explain, read_limit
from search.backends import IndexBackend, Scored, open_backend
from search.embedding import Embedder, make_embedder
from search.errors import IndexMismatchError, QueryError
from search.fusion import fuse
from search.fusion_config import load_fusion
from search.match import classify
from search.models import (
    BM25,
    DENSE,
    FUSED,
    RERANKED,
    FusionParams,
    Hit,
    IndexRef,
    MatchQuality,
    RerankerStatus,
    SearchResult,
)
from search.rerank.base import Progress, Reranker
from search.rerank.timed import TimedReranker, timed
from search.settings import Settings
from search.stopwords import content_words

log = logging.getLogger(__name__)


class Searcher:
    """One index, the embedding model and the reranker, loaded once; answers queries.

    `ref` says which index this is and where its judgments and tuned fusion live (by default the
    index folder of `settings`). The reranker is wrapped once in a `TimedReranker`, whose lock is the
    only one around the model.
    """

    def __init__(
        self,
        backend: IndexBackend,
        embedder: Embedder,
        settings: Settings,
        reranker: Reranker | None = None,
        reranker_status: RerankerStatus | None = None,
        fusion: FusionParams | None = None,
        ref: IndexRef | None = None,
    ) -> None:
        self.settings = settings
        self.ref = ref or IndexRef.at(settings.index_dir)
        self.backend = backend
        self.embedder = embedder
        self.reranker: TimedReranker | None = timed(reranker)
        self.reranker_status = reranker_status or _status_of(reranker)
        self.fusion = fusion or load_fusion(self.ref.state, settings)
        _check_model(backend, embedder, self.ref)

    @classmethod
    def open(cls, settings: Settings, *, with_reranker: bool = True) -> Searcher:
        from search.rerank.load import load_reranker

        backend = open_backend(settings)
        embedder = make_embedder(settings)
        embedder.embed_query("warm up")  # the first call pays one-off setup; not the user's first query
        reranker, status = load_reranker(settings) if with_reranker else (None, None)
        return cls(backend, embedder, settings, reranker, status)

    def view(self, ref: IndexRef, fusion: FusionParams | None = None) -> Searcher:
        """The same index, models and reranker, with its state (judgments, fusion) read from `ref`."""
        return Searcher(
            self.backend,
            self.embedder,
            self.settings,
            self.reranker,
            self.reranker_status,
            fusion=fusion or self.fusion,
            ref=ref,
        )

    def check_query(self, query: str) -> tuple[str, list[str]]:
        """The query as it will run, and warnings; empty or whitespace-only queries are refused."""
        if query is None or not str(query).strip():
            raise QueryError("the query is empty: type some words to search for")
        query = " ".join(str(query).split())
        warnings = []
        limit = self.settings.max_query_chars
        if len(query) > limit:
            warnings.append(f"query cut from {len(query)} to {limit} characters")
            query = query[:limit]
        if len(query) > 400 and self.embedder.count_tokens(query) > self.embedder.max_tokens:
            warnings.append(
                f"the embedding model reads only the first {self.embedder.max_tokens} word pieces"
            )
        return query, warnings

    def retrieve(
        self,
        query: str,
        candidates: int,
        fusion: FusionParams | None = None,
        backend: IndexBackend | None = None,
        shape: QueryShape | None = None,
    ) -> tuple[dict[str, list[Scored]], dict[str, float]]:
        """First stage: BM25 and dense top-`candidates`, and their fusion (all candidates kept)."""
        lists, timings, _ = self.retrieve_shaped(query, candidates, fusion, backend, shape)
        return lists, timings

    def retrieve_shaped(
        self,
        query: str,
        candidates: int,
        fusion: FusionParams | None = None,
        backend: IndexBackend | None = None,
        shape: QueryShape | None = None,
    ) -> tuple[dict[str, list[Scored]], dict[str, float], QueryShape]:
        """`retrieve`, and how much of the query the embedder read. Adaptive fusion needs that count:
        the ONNX embedder gives it from the embedding's own tokenisation (free); otherwise it is
        counted apart, and the "fusion" timing includes the count."""
        backend = backend or self.backend
        fusion = fusion or self.fusion
        adaptive = fusion.mode == "adaptive" and shape is None
        counted = getattr(self.embedder, "embed_query_counted", None) if adaptive else None
        t0 = time.perf_counter()
        if counted is not None:
            vector, pieces = counted(query)
            shape = QueryShape(pieces, read_limit(self.embedder))
        else:
            vector = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        bm25 = backend.lexical_search(query, candidates)
        t2 = time.perf_counter()
        dense = backend.vector_search(vector, candidates)
        t3 = time.perf_counter()
        if adaptive and shape is None:
            shape = self.query_shape(query)
        fused = fuse(bm25, dense, fusion, shape or WHOLE)
        t4 = time.perf_counter()
        timings = {"embed": t1 - t0, "bm25": t2 - t1, "dense": t3 - t2, "fusion": t4 - t3}
        lists = {BM25: bm25, DENSE: dense, FUSED: fused}
        return lists, {k: v * 1000 for k, v in timings.items()}, shape or WHOLE

    def query_shape(self, query: str) -> QueryShape:
        """How much of `query` the embedding model reads (adaptive fusion weighs dense by it)."""
        return QueryShape.of(query, self.embedder)

    def rerank(
        self,
        query: str,
        ids: Sequence[str],
        progress: Progress | None = None,
        backend: IndexBackend | None = None,
        budget_s: float = 0.0,
    ) -> tuple[list[Scored], list[str]]:
        """Reranker scores for `ids`, best first, and the reranker's warnings; with `budget_s` on CPU
        only the first ids that rerank in about that time (`TimedReranker.score_within`)."""
        if self.reranker is None:
            raise RuntimeError(self.reranker_status.line())
        chunks = (backend or self.backend).get_chunks(list(ids))
        texts = [c.indexed_text() for c in chunks]
        result = self.reranker.score_within(query, texts, budget_s, progress=progress)
        scores = result.scores
        ids = list(ids)[: len(scores)]
        order = sorted(range(len(ids)), key=lambda i: (-scores[i], i))
        return [(ids[i], float(scores[i])) for i in order], list(result.warnings)

    def search(
        self,
        query: str,
        *,
        top_k: int | None = None,
        candidates: int | None = None,
        rerank_depth: int | None = None,
        fusion: FusionParams | None = None,
        rerank: bool = True,
        progress: Progress | None = None,
    ) -> SearchResult:
        """Run every stage. Reranking takes the top `rerank_depth` of the fused list and only then
        is the list cut to `top_k`; ranks in every hit refer to the full candidate lists."""
        first = self.first_stage(query, top_k=top_k, candidates=candidates, fusion=fusion)
        return self.finish(first, rerank=rerank, rerank_depth=rerank_depth, progress=progress)

    def first_stage(
        self,
        query: str,
        *,
        top_k: int | None = None,
        candidates: int | None = None,
        fusion: FusionParams | None = None,
    ) -> Retrieval:
        """BM25, dense and fused candidate lists for one query, on one index version. `finish` turns
        them into a result, with or without reranking, as often as needed: the app shows the hybrid
        list at once and reranks the very same candidates afterwards."""
        started = time.perf_counter()
        top_k = top_k or self.settings.top_k
        candidates = max(candidates or self.settings.candidates, top_k)
        fusion = fusion or self.fusion
        query, warnings = self.check_query(query)
        backend = self.backend  # one index version for the whole query
        lists, timings, shape = self.retrieve_shaped(query, candidates, fusion, backend)
        why = ""
        if not lists[BM25]:
            why = _no_lexical_reason(backend, query)
            warnings.append(
                f"BM25 matched nothing for this query: {why}; the results come from dense retrieval alone"
            )
        lexical = lists[BM25]
        if lexical and not content_words(query):  # only "were", "did", ...: no match for a reader
            lexical, why = [], "it has only stop words"
        match = classify(lexical, lists[DENSE], self.settings.no_match_similarity, why)
        note = explain(fusion, shape, bm25_matched=bool(lists[BM25]))
        timings["total"] = (time.perf_counter() - started) * 1000
        return Retrieval(query, lists, timings, fusion, warnings, backend, top_k, note, match)

    def finish(
        self,
        first: Retrieval,
        *,
        rerank: bool = True,
        rerank_depth: int | None = None,
        progress: Progress | None = None,
    ) -> SearchResult:
        """The result of a first stage, reranked (top `rerank_depth` of the fused list) when asked."""
        default = rerank_depth is None or rerank_depth == self.settings.rerank_depth
        depth = self.settings.rerank_depth if rerank_depth is None else rerank_depth
        budget = self.settings.rerank_seconds if default else 0.0  # an explicit other depth is kept
        lists, timings, warnings = dict(first.lists), dict(first.timings_ms), list(first.warnings)
        status = self.reranker_status
        if rerank and depth > 0 and self.reranker is not None and lists[FUSED]:
            t0 = time.perf_counter()
            try:
                ids = [d for d, _ in lists[FUSED][:depth]]
                lists[RERANKED], rerank_warnings = self.rerank(
                    first.query, ids, progress, first.backend, budget
                )
                warnings += rerank_warnings
                status = _with_depth(status, self.reranker, len(lists[RERANKED]), budget)
            except Exception as exc:  # a hosted API timing out must not take the search down
                log.warning("reranking failed: %s", exc)
                warnings.append(f"reranking failed, showing the fused list: {exc}")
            timings["rerank"] = (time.perf_counter() - t0) * 1000
            timings["total"] += timings["rerank"]
        elif not rerank or depth <= 0:
            status = replace(status, loaded=False, reason="turned off for this search")
        stages = self._hits(lists, first.top_k, first.backend)
        return SearchResult(
            first.query, stages, timings, first.fusion, status, warnings, first.fusion_note, first.match
        )

    @staticmethod
    def _hits(lists: dict[str, list[Scored]], top_k: int, backend: IndexBackend) -> dict[str, list[Hit]]:
        """One Hit per chunk, shared across stages, carrying its rank and score in each full list."""
        shown = {name: ranked[:top_k] for name, ranked in lists.items()}
        wanted = list(dict.fromkeys(d for ranked in shown.values() for d, _ in ranked))
        hits = {c.id: Hit(c) for c in backend.get_chunks(wanted)}
        for name, ranked in lists.items():
            for rank, (doc, score) in enumerate(ranked, start=1):
                hit = hits.get(doc)
                if hit is not None:
                    hit.ranks[name] = rank
                    hit.scores[name] = score
        return {name: [hits[d] for d, _ in ranked] for name, ranked in shown.items()}


@dataclass(frozen=True, slots=True)
class Retrieval:
    """A query's first stage: full candidate lists per stage, on the index version it read."""

    query: str
    lists: dict[str, list[Scored]]
    timings_ms: dict[str, float]
    fusion: FusionParams
    warnings: list[str]
    backend: IndexBackend
    top_k: int
    fusion_note: str = ""
    match: MatchQuality | None = None


def _no_lexical_reason(backend: IndexBackend, query: str) -> str:
    """Why the BM25 list is empty, in words: the hybrid list is then the dense list alone."""
    if not backend.analyze(query):
        return "it has no word BM25 indexes (only stop words, punctuation, symbols or emoji)"
    return "none of its words occur in these documents"


def _with_depth(
    status: RerankerStatus, reranker: TimedReranker, depth: int, budget_s: float
) -> RerankerStatus:
    """On CPU with a time budget, the status line also says how deep this search reranked and why."""
    if budget_s <= 0 or reranker.device != "cpu" or not reranker.seconds_per_chunk:
        return status
    per = reranker.seconds_per_chunk * 1000
    note = f"reranked the top {depth} (about {budget_s:g} s at {per:.0f} ms per passage here)"
    return replace(status, choice=f"{status.line()}; {note}")


def _status_of(reranker: Reranker | None) -> RerankerStatus:
    if reranker is None:
        return RerankerStatus(name="", backend="none", loaded=False, reason="no reranker configured")
    return RerankerStatus(name=reranker.name, backend=reranker.backend, device=reranker.device, loaded=True)


def _check_model(backend: IndexBackend, embedder: Embedder, ref: IndexRef) -> None:
    """Query vectors from another model than the index's would silently return nonsense."""
    built = backend.manifest.get("embedding", {}).get("model")
    if built != embedder.name:
        raise IndexMismatchError(
            f"index at {ref.path} was built with embedding model {built!r}, but {embedder.name!r} "
            "is configured: rebuild it with `python -m ingest PATH --rebuild`, or configure its model"
        )
