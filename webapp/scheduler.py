"""Fair uploads: one user's long ingest never holds another user's small one.

Uploads of different sessions run side by side: loading, parsing and chunking need no shared lock,
and each writes its own collection. What they share is the embedding model, which on a CPU is the
slow part (a chunk of 200 `[` takes ~0.2 s idle, seconds on a loaded machine); it is taken in
*turns* of about `TURN_SECONDS` (1 to `TURN_CHUNKS` chunks, sized from the upload's own measured
speed), granted in arrival order. An ingest asks for its next turn only after its last one ended,
so it queues behind everyone already waiting: round-robin across the active uploads, and a
one-line upload waits for at most one turn of each upload ahead of it, not for their whole files.

The locks, by name (`SearchService` holds one of each):

- `EmbedTurns` (`SearchService.embed_turns`): one upload group in the embedding model at a time.
  Searches embed their query without it (one short call, thread-safe in the embedder).
- `FolderLocks` (`SearchService.folder_locks`): one writer per collection — a session's own
  uploads, or, with `shared_uploads`, the one main index, so shared uploads stay one at a time.
  Removal, a closed tab's deletion and storage eviction take the same lock, so no folder is deleted
  or rewritten under an ingest; eviction and the idle sweep only *try* it and skip a busy session.
- The reranker's lock (`TimedReranker.lock`, also `SearchService.model_lock`): one rerank at a
  time. Ingest no longer takes it: the embedding model and the reranker are separate models.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from search.embedding import Embedder

#: The most upload chunks per turn in the embedding model (and the pipeline's group between checks
#: of cancellation and the time budget): ~0.3 s of prose on a 2-core CPU.
TURN_CHUNKS = 8
#: A turn is sized to take about this long at the upload's measured seconds per chunk (at least one
#: chunk): short turns bound what a small upload waits, whatever the text and the machine's load.
TURN_SECONDS = 0.5


class EmbedTurns:
    """A lock granted in first-come, first-served order (a plain `threading.Lock` lets the thread
    that just released it take it again at once, which would starve the others)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._busy = False
        self.granted = 0  # turns handed out so far (for tests and the load test's curiosity)

    @contextmanager
    def turn(self) -> Iterator[None]:
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            while self._busy or self._queue[0] is not ticket:
                self._cond.wait()
            self._queue.popleft()
            self._busy = True
            self.granted += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)


class TurnEmbedder:
    """The shared embedder for one upload: `embed` runs in turns of about `TURN_SECONDS` each, sized
    from this upload's speed so far (its first turn is one chunk, to measure); everything else is
    the embedder's own."""

    def __init__(self, inner: Embedder, turns: EmbedTurns) -> None:
        self.inner = inner
        self.turns = turns
        self.seconds_per_chunk: float | None = None

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        texts, parts, start = list(texts), [], 0
        if not texts:
            return self.inner.embed(texts)
        while start < len(texts):
            size = turn_size(self.seconds_per_chunk)
            with self.turns.turn():
                began = time.perf_counter()
                parts.append(self.inner.embed(texts[start : start + size]))
                took = time.perf_counter() - began
            self.seconds_per_chunk = took / max(1, len(parts[-1]))
            start += size
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def turn_size(seconds_per_chunk: float | None) -> int:
    """Chunks in the next turn: 1 before any measurement, then about `TURN_SECONDS` worth."""
    if not seconds_per_chunk:
        return 1
    return max(1, min(TURN_CHUNKS, int(TURN_SECONDS / seconds_per_chunk)))


class FolderLocks:
    """One lock per collection, by key (a session's key, or "shared" for the main index); an entry
    lives while someone holds or waits for it, so sessions that are gone leave nothing behind."""

    def __init__(self) -> None:
        self._entries: dict[str, list[Any]] = {}  # key -> [lock, holders and waiters]
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, key: str, *, blocking: bool = True) -> Iterator[bool]:
        """Hold the key's lock (waiting for it, or not with `blocking=False`); yields whether it is
        held. Not re-entrant: a thread that holds a key gets False when it tries it again."""
        with self._guard:
            entry = self._entries.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        got = entry[0].acquire(blocking)
        try:
            yield got
        finally:
            if got:
                entry[0].release()
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._entries[key]

    def busy(self, key: str) -> bool:
        with self._guard:
            return key in self._entries

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)
