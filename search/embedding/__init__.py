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


EMBEDDING_BACKENDS = ("auto", "onnx", "torch")


def make_embedder(settings: Settings, *, lazy: bool = False) -> Embedder:
    """The embedder the settings describe; with `lazy` the model loads on first use.

    `embedding_backend` "auto" takes ONNX Runtime where onnxruntime imports and the model is the
    plain BERT + mean pooling layout it reproduces (same vectors, no torch on the query path), else
    sentence-transformers. Either way the manifest records the same model name. `embedding_device`
    "auto" on a CUDA machine embeds ingest batches on the GPU (torch) and keeps each query on the
    path measured fastest (`SplitEmbedder`).
    """
    backend = choose_backend(settings)
    device = embedding_device(settings)
    if backend == "onnx":
        from search.embedding.onnx import OnnxEmbedder

        onnx = OnnxEmbedder(
            settings.embedding_model, settings.embed_batch_size, quantized=settings.embedding_int8, lazy=lazy
        )
        if device != "cuda":
            return onnx
        # a GPU with `auto`: ingest batches on it, each query on the path measured fastest
        from search.embedding.split import SplitEmbedder
        from search.embedding.transformer import SentenceTransformerEmbedder

        gpu = SentenceTransformerEmbedder(
            settings.embedding_model, "cuda", settings.embed_batch_size, lazy=True
        )
        return SplitEmbedder(gpu, [onnx, gpu])
    from search.embedding.transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.embedding_model, device, settings.embed_batch_size, lazy=lazy)


def embedding_device(settings: Settings) -> str:
    """ "auto" resolved: cuda when a GPU is usable (looked for without torch where no driver is)."""
    from search.rerank.devices import resolve_device

    return resolve_device(settings.embedding_device)


def choose_backend(settings: Settings) -> str:
    """ "onnx" or "torch" for these settings; a clear error for an unknown or unusable choice."""
    choice = settings.embedding_backend.strip().lower()
    if choice not in EMBEDDING_BACKENDS:
        raise ValueError(
            f"embedding_backend={settings.embedding_backend!r}: expected one of "
            + ", ".join(EMBEDDING_BACKENDS)
        )
    if choice == "torch":
        return "torch"
    from search.embedding.onnx import onnx_available, plain_layout

    model, device = settings.embedding_model, settings.embedding_device.strip().lower()
    usable = device in ("cpu", "auto") and onnx_available() and plain_layout(model)
    if choice == "onnx" and not usable:
        raise ValueError(
            f"embedding_backend=onnx: needs onnxruntime and tokenizers installed, device cpu and a local "
            f"BERT + mean pooling model folder; {model!r} on {device!r} "
            "is not that (set SEARCH_EMBEDDING_BACKEND=torch)"
        )
    return "onnx" if usable else "torch"


__all__ = ["EMBEDDING_BACKENDS", "Embedder", "choose_backend", "make_embedder"]
