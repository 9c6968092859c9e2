"""Sentence embeddings (L2-normalised, so inner product is cosine) for chunks and queries."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from search.settings import resolve_embedding_model

log = logging.getLogger(__name__)


class Embedder:
    """A sentence-transformers model loaded once; `name` is what the index manifest records."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.path = resolve_embedding_model(model)
        self.batch_size = batch_size
        self.model = SentenceTransformer(self.path, device=device)
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        self.max_tokens = int(self.model.max_seq_length)

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])
