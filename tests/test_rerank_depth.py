"""On CPU the default rerank depth is what reranks in about `rerank_seconds`, measured on the first
search (its first PROBE passages alone), and the status line says the depth that runs."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from search.models import RerankerStatus
from search.rerank import timed as timed_module
from search.rerank.base import Progress, RerankResult
from search.rerank.timed import PROBE, TimedReranker
from webapp.status import status_html


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class PerPassage:
    """Takes `cost` seconds of the fake clock per passage; scores a passage by its index."""

    name, backend = "ce", "cross-encoder"

    def __init__(self, clock: Clock, cost: float, device: str = "cpu") -> None:
        self.clock, self.cost, self.device, self.calls = clock, cost, device, []

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> RerankResult:
        self.calls.append(len(documents))
        self.clock.now += self.cost * len(documents)
        if progress:
            progress(len(documents), len(documents))
        return RerankResult([float(d) for d in documents], [])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(timed_module.time, "perf_counter", fake)
    return fake


DOCS = [str(i) for i in range(100)]


def test_the_first_search_measures_then_fills_the_budget(clock: Clock) -> None:
    inner = PerPassage(clock, cost=0.01)
    reranker = TimedReranker(inner)
    seen: list[tuple[int, int]] = []
    result = reranker.score_within("q", DOCS, 0.5, progress=lambda d, t: seen.append((d, t)))
    # 16 passages measure 10 ms each; the 0.34 s left holds 34 more: the top 50, in fused order
    assert inner.calls == [PROBE, 34] and result.scores == [float(i) for i in range(50)]
    assert seen[-1] == (50, 50)
    assert reranker.depth_for(100, 0.5) == 50
    assert len(reranker.score_within("q", DOCS, 0.5).scores) == 50  # later searches: the measured depth
    assert len(reranker.score_within("q", DOCS, 5.0).scores) == 100  # never deeper than asked


def test_a_slow_machine_still_reranks_the_probe_and_no_budget_means_the_full_depth(clock: Clock) -> None:
    slow = TimedReranker(PerPassage(clock, cost=1.0))
    assert len(slow.score_within("q", DOCS, 3.0).scores) == PROBE
    assert slow.depth_for(100, 3.0) == PROBE
    assert len(slow.score_within("q", DOCS, 0).scores) == 100


def test_a_gpu_reranks_the_full_depth(clock: Clock) -> None:
    gpu = TimedReranker(PerPassage(clock, cost=1.0, device="cuda"))
    assert len(gpu.score_within("q", DOCS, 3.0).scores) == 100
    assert gpu.depth_for(100, 3.0) == 100


def test_the_status_line_says_the_depth() -> None:
    status = RerankerStatus(name="ce", backend="cross-encoder", device="cpu", loaded=True)
    before = status_html(status, seconds_per_chunk=None, depth=100, budget_s=3.0)
    assert "as deep as fits in about 3 s (up to 100)" in before
    after = status_html(status, seconds_per_chunk=0.05, depth=100, budget_s=3.0)
    assert "50 ms per passage" in after and "Reranking the top 60 of 100" in after and "about 3.0 s" in after
    fits = status_html(status, seconds_per_chunk=0.01, depth=100, budget_s=3.0)
    assert "to rerank 100." in fits and "Reranking the top" not in fits
