"""The ingest side of embedding: chunk texts go to the model in windows on a background thread, so
loading and chunking the next files overlaps with the model's work on the last ones.

Within a window the embedder batches by length (`search.embedding.batching`), so a batch carries
little padding; the vectors come back as one matrix in submission order. ONNX Runtime, torch and
the Rust tokenizer all release the GIL while they compute, so on two cores the chunker (Python)
and the model run side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from tqdm.auto import tqdm

from search.embedding import Embedder

#: Texts per background call: large enough for length batching to find similar lengths, small
#: enough that the first window starts while most files are still being chunked.
WINDOW = 256


class BackgroundEmbedder:
    """`submit` texts as they are chunked; `finish` waits and returns every vector in order."""

    def __init__(self, embedder: Embedder, window: int = WINDOW, show_progress: bool = False) -> None:
        self.embedder = embedder
        self.window = max(1, window)
        self._pending: list[str] = []
        self._futures: list[Future[np.ndarray]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._bar = tqdm(total=0, desc="embed", unit="chunk", disable=not show_progress)
        self.submitted = 0

    def submit(self, texts: Sequence[str]) -> None:
        self._pending.extend(texts)
        self.submitted += len(texts)
        self._bar.total = self.submitted
        while len(self._pending) >= self.window:
            self._send(self._pending[: self.window])
            del self._pending[: self.window]

    def _send(self, texts: list[str]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        future = self._pool.submit(self.embedder.embed, texts)
        size = len(texts)
        future.add_done_callback(lambda _f: self._bar.update(size))
        self._futures.append(future)

    def finish(self) -> np.ndarray:
        """All vectors, in the order their texts were submitted (float32, L2-normalised)."""
        if self._pending:
            self._send(self._pending)
            self._pending = []
        try:
            parts = [f.result() for f in self._futures]
        finally:
            self.close()
        if not parts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def close(self) -> None:
        """Stop the worker (pending windows are dropped when an error ended the ingest)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._bar.close()


def embed_texts(embedder: Embedder, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
    """All of `texts` at once, through the same windows (for callers that already hold every text)."""
    background = BackgroundEmbedder(embedder, show_progress=show_progress)
    background.submit(texts)
    return background.finish()
