"""The query pipeline: embed → BM25 + dense → fuse → rerank, every stage kept for comparison.

The searcher sees the index only through `IndexBackend`, so another engine can replace the local
FAISS + bm25s one without this module, the app or the evaluation changing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ingest.embed import Embedder
from search.backends import IndexBackend, Scored, open_backend
from search.errors import IndexMismatchError, QueryError
from search.fusion import fuse
from search.fusion_config import load_fusion
from search.models import BM25, DENSE, FUSED, RERANKED, FusionParams, Hit, RerankerStatus, SearchResult
from search.rerank.base import Progress, Reranker
from search.settings import Settings

log = logging.getLogger(__name__)


class Searcher:
    """Loads the index, the embedding model and the reranker once; answers queries."""

    def __init__(
        self,
        backend: IndexBackend,
        embedder: Embedder,
        settings: Settings,
        reranker: Reranker | None = None,
        reranker_status: RerankerStatus | None = None,
        fusion: FusionParams | None = None,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.embedder = embedder
        self.reranker = reranker
        self.reranker_status = reranker_status or _status_of(reranker)
        self.fusion = fusion or load_fusion(Path(settings.index_dir), settings)
        self._rerank_lock = threading.Lock()
        _check_model(backend, embedder, settings)

    @classmethod
    def open(cls, settings: Settings, *, with_reranker: bool = True) -> Searcher:
        from search.rerank.load import load_reranker

        backend = open_backend(settings)
        embedder = Embedder(settings.embedding_model, settings.embedding_device, settings.embed_batch_size)
        embedder.embed_query("warm up")  # the first call pays one-off setup; not the user's first query
        reranker, status = load_reranker(settings) if with_reranker else (None, None)
        return cls(backend, embedder, settings, reranker, status)

    def reload(self) -> None:
        """Pick up a newly published index version; queries in flight finish on the old one."""
        backend = open_backend(self.settings)
        _check_model(backend, self.embedder, self.settings)
        self.backend = backend
        self.fusion = load_fusion(Path(self.settings.index_dir), self.settings)

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
    ) -> tuple[dict[str, list[Scored]], dict[str, float]]:
        """First stage: BM25 and dense top-`candidates`, and their fusion (all candidates kept)."""
        backend = backend or self.backend
        t0 = time.perf_counter()
        vector = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        bm25 = backend.lexical_search(query, candidates)
        t2 = time.perf_counter()
        dense = backend.vector_search(vector, candidates)
        t3 = time.perf_counter()
        fused = fuse(bm25, dense, fusion or self.fusion)
        t4 = time.perf_counter()
        timings = {"embed": t1 - t0, "bm25": t2 - t1, "dense": t3 - t2, "fusion": t4 - t3}
        return {BM25: bm25, DENSE: dense, FUSED: fused}, {k: v * 1000 for k, v in timings.items()}

    def rerank(
        self,
        query: str,
        ids: Sequence[str],
        progress: Progress | None = None,
        backend: IndexBackend | None = None,
    ) -> list[Scored]:
        """Reranker scores for `ids`, best first. One rerank at a time: the model is the bottleneck."""
        if self.reranker is None:
            raise RuntimeError(self.reranker_status.line())
        chunks = (backend or self.backend).get_chunks(list(ids))
        with self._rerank_lock:
            scores = self.reranker.score(query, [c.indexed_text() for c in chunks], progress=progress)
        order = sorted(range(len(ids)), key=lambda i: (-scores[i], i))
        return [(ids[i], float(scores[i])) for i in order]

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
        s = self.settings
        top_k = top_k or s.top_k
        candidates = max(candidates or s.candidates, top_k)
        depth = s.rerank_depth if rerank_depth is None else rerank_depth
        fusion = fusion or self.fusion
        started = time.perf_counter()
        query, warnings = self.check_query(query)
        backend = self.backend  # one index version for the whole query, even if reload() swaps it
        lists, timings = self.retrieve(query, candidates, fusion, backend)
        if not lists[BM25] and lists[DENSE]:  # only stop words, punctuation, emoji, unknown script
            warnings.append("BM25 matched nothing for this query; results are from dense retrieval alone")

        status = self.reranker_status
        if rerank and depth > 0 and self.reranker is not None and lists[FUSED]:
            t0 = time.perf_counter()
            try:
                lists[RERANKED] = self.rerank(query, [d for d, _ in lists[FUSED][:depth]], progress, backend)
                warnings += list(getattr(self.reranker, "last_warnings", []) or [])
            except Exception as exc:  # a hosted API timing out must not take the search down
                log.warning("reranking failed: %s", exc)
                warnings.append(f"reranking failed, showing the fused list: {exc}")
            timings["rerank"] = (time.perf_counter() - t0) * 1000
        elif not rerank or depth <= 0:
            status = RerankerStatus(
                status.name, status.backend, status.device, False, "turned off for this search"
            )
        timings["total"] = (time.perf_counter() - started) * 1000
        stages = self._hits(lists, top_k, backend)
        return SearchResult(query, stages, timings, fusion, status, warnings)

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


def _status_of(reranker: Reranker | None) -> RerankerStatus:
    if reranker is None:
        return RerankerStatus(name="", backend="none", loaded=False, reason="no reranker configured")
    return RerankerStatus(name=reranker.name, backend=reranker.backend, device=reranker.device, loaded=True)


def _check_model(backend: IndexBackend, embedder: Embedder, settings: Settings) -> None:
    """Query vectors from another model than the index's would silently return nonsense."""
    built = backend.manifest.get("embedding", {}).get("model")
    if built != embedder.name:
        raise IndexMismatchError(
            f"index at {settings.index_dir} was built with embedding model {built!r}, but {embedder.name!r} "
            "is configured: rebuild it with `python -m ingest PATH --rebuild`, or configure its model"
        )
