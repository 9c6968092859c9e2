"""Ingest batches on the GPU, queries on whichever path answers one query fastest here.

With `embedding_device = auto` on a CUDA machine an upload is embedded by sentence-transformers on
the GPU (hundreds of chunks per second instead of ~14 per CPU-second), while a single query, where a
GPU pays a launch and a copy per call, goes to the path measured fastest on the first query: the
ONNX Runtime CPU embedder or the GPU one. Both run the same model, so the vectors agree.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence

import numpy as np

from search.embedding import Embedder

#: Timed runs per candidate when the query path is chosen (after one warm-up each).
QUERY_TRIALS = 3


class SplitEmbedder:
    """`embed` (ingest batches) on `batches`; `embed_query` on the fastest of `queries`, timed once.

    The choice is made under `_choose_lock` (the one lock here); after it, calls are lock-free."""

    def __init__(self, batches: Embedder, queries: Sequence[Embedder]) -> None:
        self.batches = batches
        self.candidates = list(queries)
        self.first = self.candidates[0]
        self.name = self.first.name
        self.query_path: Embedder | None = None if len(self.candidates) > 1 else self.first
        self.query_ms: dict[str, float] = {}
        self._choose_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self.first.loaded

    @property
    def dim(self) -> int:
        return self.first.dim

    @property
    def max_tokens(self) -> int:
        return self.first.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.first.count_tokens(text)

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return self.batches.embed(texts, show_progress)

    def embed_query(self, text: str) -> np.ndarray:
        path = self.query_path or self._choose(text)
        return path.embed_query(text)

    def _choose(self, text: str) -> Embedder:
        """Time each candidate on this query (median of QUERY_TRIALS after a warm-up); keep the fastest."""
        with self._choose_lock:
            if self.query_path is None:
                best: tuple[float, Embedder] | None = None
                for i, candidate in enumerate(self.candidates):
                    candidate.embed_query(text)
                    runs = []
                    for _ in range(QUERY_TRIALS):
                        t0 = time.perf_counter()
                        candidate.embed_query(text)
                        runs.append(time.perf_counter() - t0)
                    ms = statistics.median(runs) * 1000
                    self.query_ms[f"{i}:{getattr(candidate, 'backend', type(candidate).__name__)}"] = ms
                    if best is None or ms < best[0]:
                        best = (ms, candidate)
                assert best is not None
                self.query_path = best[1]
        return self.query_path
