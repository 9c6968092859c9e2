"""Ingest's background embedding: vectors in submission order, windows overlap the chunking."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ingest.embed import BackgroundEmbedder, embed_texts


class FakeEmbedder:
    """Vector i encodes the text's number; records which thread embedded and when."""

    dim = 2

    def __init__(self) -> None:
        self.threads: set[int] = set()
        self.calls: list[int] = []
        self.release = threading.Event()

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.threads.add(threading.get_ident())
        self.calls.append(len(texts))
        return np.array([[float(t), 1.0] for t in texts], dtype=np.float32)


def test_vectors_come_back_in_submission_order_across_windows() -> None:
    fake = FakeEmbedder()
    background = BackgroundEmbedder(fake, window=3)  # type: ignore[arg-type]
    for start in range(0, 10, 4):
        background.submit([str(i) for i in range(start, min(start + 4, 10))])
    matrix = background.finish()
    assert matrix[:, 0].tolist() == [float(i) for i in range(10)]
    assert fake.calls == [3, 3, 3, 1]
    assert threading.get_ident() not in fake.threads  # the model ran beside the caller


def test_the_first_window_is_embedded_while_the_caller_keeps_chunking() -> None:
    started = threading.Event()

    class Slow(FakeEmbedder):
        def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
            started.set()
            return super().embed(texts)

    background = BackgroundEmbedder(Slow(), window=2)  # type: ignore[arg-type]
    background.submit(["0", "1"])
    assert started.wait(5), "a full window must start embedding before finish() is called"
    background.submit(["2"])
    assert background.finish()[:, 0].tolist() == [0.0, 1.0, 2.0]


def test_nothing_submitted_gives_an_empty_matrix() -> None:
    assert embed_texts(FakeEmbedder(), []).shape == (0, 2)  # type: ignore[arg-type]
