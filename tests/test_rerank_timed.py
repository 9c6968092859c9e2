"""The shared reranker wrapper: one lock, a measured speed, warnings returned per call."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from search.rerank.base import Progress, RerankResult
from search.rerank.timed import TimedReranker


class FakeReranker:
    name, backend, device = "fake", "zerank", "cpu"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.running = 0
        self.max_running = 0
        self._count = threading.Lock()

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> RerankResult:
        with self._count:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        time.sleep(self.delay * len(documents))
        if progress:
            progress(len(documents), len(documents))
        with self._count:
            self.running -= 1
        return RerankResult([float(len(d)) for d in documents], [f"warning for {query}"])


def test_timed_reranker_serialises_measures_and_returns_each_calls_warnings() -> None:
    fake = FakeReranker(delay=0.002)
    lock = threading.Lock()
    wrapped = TimedReranker(fake, lock)
    assert wrapped.estimate_s(100) is None
    seen: dict[str, list[str]] = {}
    progress: list[tuple[int, int]] = []

    def call(q: str) -> None:
        result = wrapped.score(q, ["a", "bb", "ccc"] * 5, progress=lambda d, t: progress.append((d, t)))
        assert result.scores == [1.0, 2.0, 3.0] * 5
        seen[q] = result.warnings

    threads = [threading.Thread(target=call, args=(f"q{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.max_running == 1  # the model lock lets one rerank run at a time
    assert seen == {f"q{i}": [f"warning for q{i}"] for i in range(6)}
    assert (15, 15) in progress and wrapped.calls == 6
    per_chunk = wrapped.seconds_per_chunk
    assert per_chunk is not None and 0.0015 < per_chunk < 0.05
    assert wrapped.estimate_s(100) == pytest.approx(per_chunk * 100)
    assert (wrapped.name, wrapped.device) == ("fake", "cpu")


def test_rerank_estimate_is_set_by_the_first_call_and_forgets_its_warm_up() -> None:
    wrapped = TimedReranker(FakeReranker(), threading.Lock())
    wrapped._record(1.0)  # a first call with warm-up: 1 s per passage
    assert wrapped.estimate_s(100) == pytest.approx(100.0)
    for _ in range(4):
        wrapped._record(0.01)
    assert wrapped.seconds_per_chunk == pytest.approx(0.01)  # median of the last calls


def test_timed_reranker_waits_while_the_lock_is_held_elsewhere() -> None:
    lock = threading.Lock()
    wrapped = TimedReranker(FakeReranker(), lock)
    done = threading.Event()
    with lock:  # an ingest holds the model
        worker = threading.Thread(target=lambda: (wrapped.score("q", ["a"]), done.set()))
        worker.start()
        assert not done.wait(0.2)
    assert done.wait(5)
    worker.join()
