"""Batching by length: texts sorted by token count go through the model in batches of similar
length, so little of each batch is padding; results come back in the callers' order."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np


def length_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Row indices in batches of `batch_size`, longest first (the first batch shows the worst case)."""
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    for start in range(0, len(order), max(1, batch_size)):
        yield order[start : start + batch_size]


def embed_sorted(
    encodings: Sequence[Any],
    run: Callable[[Sequence[Any]], np.ndarray],
    batch_size: int,
    show_progress: bool = False,
) -> np.ndarray:
    """`run` over length-sorted batches of `encodings`, written into one matrix in input order."""
    from tqdm.auto import tqdm

    out: np.ndarray | None = None
    bar = tqdm(total=len(encodings), desc="embed", unit="chunk", disable=not show_progress)
    for rows in length_batches([len(e.ids) for e in encodings], batch_size):
        vectors = run([encodings[i] for i in rows])
        if out is None:
            out = np.empty((len(encodings), vectors.shape[1]), dtype=np.float32)
        out[rows] = vectors
        bar.update(len(rows))
    bar.close()
    assert out is not None
    return out
