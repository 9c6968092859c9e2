"""The reranker every caller shares: one lock, a measured speed, and ZeroGPU when it is there."""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Sequence

from search.rerank import zerogpu
from search.rerank.base import Progress, Reranker, RerankResult

#: Rerank calls whose speed makes the estimate (their median).
RECENT_CALLS = 5
#: Passages the first budgeted search reranks to measure the speed before choosing its depth.
PROBE = 16


class TimedReranker:
    """Scores under the model lock (one rerank or ingest at a time: the one lock for the model),
    measures seconds per passage for the CPU estimate, and on ZeroGPU runs the scoring inside
    `spaces.GPU`. It is itself a `Reranker`, so the pipeline sees no difference.

    Thread safety: the inner model and its tokenizer (a Rust tokenizer that raises "Already
    borrowed" when two threads use it) are shared by every session and only reached through
    `score`, under `lock`."""

    def __init__(
        self, inner: Reranker, lock: threading.Lock | None = None, *, use_gpu_worker: bool = False
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.backend = inner.backend
        self.device = inner.device
        self.lock = lock or threading.Lock()
        self._gpu = use_gpu_worker
        if use_gpu_worker:
            zerogpu.register(inner)
        self.seconds_per_chunk: float | None = None
        self.calls = 0
        self._recent: deque[float] = deque(maxlen=RECENT_CALLS)
        self._stats_lock = threading.Lock()

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> RerankResult:
        docs = list(documents)
        with self.lock:
            started = time.perf_counter()
            if self._gpu:
                result = zerogpu.score_on_gpu(query, docs)
                if progress is not None:
                    progress(len(docs), len(docs))
            else:
                result = self.inner.score(query, docs, progress)
            elapsed = time.perf_counter() - started
        if docs:
            self._record(elapsed / len(docs))
        return result

    def _record(self, per_chunk: float) -> None:
        """The first call gives the estimate; later ones refine it as the median of the last few, so
        the first call's warm-up (CUDA kernels, caches) does not linger in it."""
        with self._stats_lock:
            self.calls += 1
            self._recent.append(per_chunk)
            self.seconds_per_chunk = statistics.median(self._recent)

    def depth_for(self, depth: int, budget_s: float) -> int:
        """The depth that reranks in about `budget_s` here: `depth` itself off CPU, with no budget or
        before the first measurement; never below `PROBE` (or `depth` when that is smaller)."""
        if self.device != "cpu" or budget_s <= 0 or not self.seconds_per_chunk:
            return depth
        return min(depth, max(PROBE, int(budget_s / self.seconds_per_chunk + 1e-6)))

    def score_within(
        self, query: str, documents: Sequence[str], budget_s: float, progress: Progress | None = None
    ) -> RerankResult:
        """Scores for the first `depth_for(len(documents), budget_s)` documents (they come in fused
        order, best first), so the reranked column arrives in about `budget_s`. Before the speed is
        known the first `PROBE` documents are scored alone to measure it, then the rest of the depth."""
        docs = list(documents)
        if self.device != "cpu" or budget_s <= 0 or len(docs) <= PROBE:
            return self.score(query, docs, progress)
        if self.seconds_per_chunk:
            return self.score(query, docs[: self.depth_for(len(docs), budget_s)], progress)
        started = time.perf_counter()
        head = self.score(query, docs[:PROBE], progress)
        left = budget_s - (time.perf_counter() - started)
        more = min(len(docs) - PROBE, int(max(0.0, left) / self.seconds_per_chunk + 1e-6))
        if more <= 0:
            return head
        offset = (lambda done, total: progress(PROBE + done, PROBE + total)) if progress else None
        tail = self.score(query, docs[PROBE : PROBE + more], offset)
        return RerankResult(
            head.scores + tail.scores, head.warnings + [w for w in tail.warnings if w not in head.warnings]
        )

    def estimate_s(self, depth: int) -> float | None:
        """Seconds to rerank `depth` passages here, or None before the first measurement."""
        return None if self.seconds_per_chunk is None else self.seconds_per_chunk * depth


def timed(reranker: Reranker | None, lock: threading.Lock | None = None) -> TimedReranker | None:
    """`reranker` wrapped once (a TimedReranker is returned as it is)."""
    if reranker is None or isinstance(reranker, TimedReranker):
        return reranker
    return TimedReranker(reranker, lock, use_gpu_worker=zerogpu.zero_gpu_active())
