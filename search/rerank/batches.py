"""Length-sorted batching under a token budget, shared by every local reranker (no torch needed)."""

from __future__ import annotations

from collections.abc import Sequence


def plan_batches(lengths: Sequence[int], token_budget: int) -> list[list[int]]:
    """Group sequence indices into batches, longest first, so each batch's padded size
    (rows × longest row) stays within `token_budget`; a sequence longer than the budget
    gets a batch of its own. Sorting by length keeps padding waste small."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    batch: list[int] = []
    width = 0
    for i in order:
        if batch and (len(batch) + 1) * max(width, lengths[i]) > token_budget:
            batches.append(batch)
            batch, width = [], 0
        batch.append(i)
        width = max(width, lengths[i])
    if batch:
        batches.append(batch)
    return batches
