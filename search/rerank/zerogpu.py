"""Reranking on a Hugging Face ZeroGPU Space: the GPU is lent per call, inside `spaces.GPU`.

ZeroGPU runs the decorated function in a forked worker and pickles only its (plain) arguments, so
the reranker it uses is a module global registered once at start-up.
"""

from __future__ import annotations

import logging
import os

from search.rerank.base import Reranker, RerankResult

log = logging.getLogger(__name__)

#: How long ZeroGPU may hold a GPU for one rerank call.
GPU_DURATION_S = 60

_GPU_RERANKER: Reranker | None = None


def zero_gpu_active() -> bool:
    """True on a Hugging Face ZeroGPU Space (the platform sets SPACES_ZERO_GPU)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() not in {"", "0", "false", "no"}


def register(reranker: Reranker) -> None:
    """The reranker `score_on_gpu` uses (set once, before the first search)."""
    global _GPU_RERANKER
    _GPU_RERANKER = reranker


def score_on_gpu(query: str, documents: list[str]) -> RerankResult:
    """The GPU work of one rerank (wrapped with `spaces.GPU` on ZeroGPU, see below)."""
    if _GPU_RERANKER is None:
        raise RuntimeError("no reranker registered for ZeroGPU")
    return _GPU_RERANKER.score(query, documents, None)


if zero_gpu_active():  # pragma: no cover - only on a ZeroGPU Space
    try:
        import spaces

        score_on_gpu = spaces.GPU(duration=GPU_DURATION_S)(score_on_gpu)
    except Exception as exc:  # missing or misconfigured `spaces`: rerank on the CPU instead of crashing
        log.warning("SPACES_ZERO_GPU is set but `spaces` is unusable (%s): reranking stays local", exc)
