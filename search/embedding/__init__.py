"""Text → vector, for chunks (ingest) and queries (search), behind one small interface.

`make_embedder` is the one place an embedder is built from settings, so every caller gets the same
model, device and batch size, and an index's manifest names the model its vectors came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from search.settings import Settings


class Embedder(Protocol):
    """What ingest and the query pipeline need from an embedding model."""

    name: str  # the model name the index manifest records

    @property
    def loaded(self) -> bool: ...

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def make_embedder(settings: Settings, *, lazy: bool = False) -> Embedder:
    """The embedder the settings describe; with `lazy` the model loads on first use."""
    from search.embedding.transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.embedding_model, settings.embedding_device, settings.embed_batch_size, lazy=lazy
    )


__all__ = ["Embedder", "make_embedder"]
