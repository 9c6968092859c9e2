"""A sentence-transformers (torch) embedder: L2-normalised vectors, so inner product is cosine."""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from search.quiet import quiet_model_loading
from search.settings import resolve_embedding_model

log = logging.getLogger(__name__)

#: Texts the fast query path is checked on when the model loads: short, padded with spaces, mixed
#: case and accents, and one over the model's input limit (truncation must agree too).
_PROBES = (
    "warm up",
    "  ALDH1 expression is associated with poorer prognosis in breast cancer.  ",
    "Café Zürich — naïve coöperation, 3.5 mg/kg, p < 0.05",
    " ".join(f"token{i} word" for i in range(400)),
)
#: How close the fast path must be to `encode(..., normalize_embeddings=True)` to be used.
FAST_QUERY_TOLERANCE = 1e-5
#: torch intra-op threads for one query's forward pass. On the 2-core machine (SciFact queries, p50):
#: idle, 1 thread 9.5 ms and 2 threads 7.0 ms; with other work on the cores (load average ~5),
#: 1 thread ~10 ms and 2 threads ~480 ms, as each of a short forward's ~100 parallel regions waits
#: for a descheduled peer thread. One search must not be held hostage by its neighbours.
QUERY_THREADS = 1


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded once; `name` is what the index manifest records.

    With `lazy=True` the model is loaded on first use (`embed`, `embed_query`, `dim`, ...), so a
    caller can hand an embedder to an ingest that turns out to have nothing to embed for free.
    `query_threads` is the torch thread count `embed_query` runs with (None: whatever the calling
    thread has); batches (`embed`) always use the calling thread's setting.
    """

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        batch_size: int = 32,
        *,
        lazy: bool = False,
        query_threads: int | None = QUERY_THREADS,
    ) -> None:
        self.name = model
        self.path = resolve_embedding_model(model)
        self.device = device
        self.batch_size = batch_size
        self.query_threads = query_threads
        self._model: Any = None
        self._dim = 0
        self._max_tokens = 0
        self._fast: tuple[Any, Any] | None = None
        self._load_lock = threading.Lock()
        self._query_lock = threading.Lock()  # guards the query tokenizer copy (tokenizing takes µs)
        if not lazy:
            self.load()

    # -- loading --

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        """Load the model once (thread-safe) and return it."""
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                quiet_model_loading()
                model = SentenceTransformer(self.path, device=self.device)
                model.eval()  # encode() switches to eval itself; the fast query path must not see dropout
                get_dim = getattr(model, "get_embedding_dimension", None)
                max_tokens = int(model.max_seq_length)
                fast = _fast_query_parts(model)
                if fast is not None:
                    # Queries get their own tokenizer copy: a Rust tokenizer shared between threads
                    # raises "Already borrowed" when an ingest's encode() runs beside a search.
                    fast = (copy.deepcopy(fast[0]), fast[1])
                if fast is not None and not _fast_path_agrees(model, fast, max_tokens):
                    log.info("%s: fast query embedding disagrees with encode(); using encode()", self.name)
                    fast = None
                self._dim = int((get_dim or model.get_sentence_embedding_dimension)())
                self._max_tokens = max_tokens
                self._fast = fast
                self._model = model  # last: another thread sees a loaded model only when all is set
        return self._model

    @property
    def model(self) -> Any:
        return self.load()

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    @property
    def max_tokens(self) -> int:
        self.load()
        return self._max_tokens

    # -- embedding --

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
        """One text's vector, equal to `embed([text])[0]` (to 1e-5, checked when the model loads).

        The query path runs the tokenizer and the transformer directly under `inference_mode`:
        for a single short text, `encode`'s batching, sorting and module plumbing cost about as
        much as a tenth of the forward pass itself.
        """
        self.load()
        with _torch_threads(self.query_threads):
            if self._fast is None:
                # the model's own tokenizer, shared with ingest: `count_tokens` switches its
                # truncation off meanwhile ("Already borrowed" in a concurrent call), so one at a time
                with self._query_lock:
                    return self.embed([text])[0]
            return self._embed_fast(text)

    def count_tokens(self, text: str) -> int:
        self.load()
        tokenizer = self._fast[0] if self._fast is not None else self.model.tokenizer
        with self._query_lock:
            return len(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    # -- the fast query path --

    def _embed_fast(self, text: str) -> np.ndarray:
        assert self._fast is not None
        return _embed_direct(self._fast, self._max_tokens, text, self._query_lock)


def _embed_direct(
    parts: tuple[Any, Any], max_tokens: int, text: str, lock: threading.Lock | None = None
) -> np.ndarray:
    """Tokenizer → transformer → mean over the attention mask → L2 norm: what `encode` computes for
    the plain Transformer + mean Pooling (+ Normalize) layout, without its per-call machinery."""
    import torch

    tokenizer, transformer = parts
    with torch.inference_mode():
        with lock or contextlib.nullcontext():
            features = tokenizer(text, truncation=True, max_length=max_tokens, return_tensors="pt")
        features = {k: v.to(transformer.device) for k, v in features.items()}
        hidden = transformer(**features).last_hidden_state
        mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        vector = torch.nn.functional.normalize(pooled, p=2, dim=1)[0]
    return vector.float().cpu().numpy()


def _fast_path_agrees(model: Any, parts: tuple[Any, Any], max_tokens: int) -> bool:
    """Whether the direct path reproduces `encode` on the probe texts (checked once, at load)."""
    try:
        for probe in _PROBES:
            slow = model.encode(
                [probe], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )[0]
            if np.abs(_embed_direct(parts, max_tokens, probe) - slow).max() > FAST_QUERY_TOLERANCE:
                return False
    except Exception as exc:  # any surprise in a model's layout: the slow path is always right
        log.info("fast query embedding unavailable: %s", exc)
        return False
    return True


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run with `n` torch intra-op threads in this OS thread, then restore its previous count.

    The count is per thread (OpenMP's and MKL's settings are), so concurrent searches and an ingest
    in another thread keep theirs. One global remains: a thread making its first torch call while
    this is active starts from `n` threads.
    """
    if n is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    if previous == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _fast_query_parts(model: Any) -> tuple[Any, Any] | None:
    """(tokenizer, transformer) when the model is the plain layout the fast path reproduces:
    Transformer → mean Pooling → optional Normalize, no prompt, no lower-casing, no truncated
    output; None for anything else (the query path then calls `encode`)."""
    modules = list(model)
    names = [type(m).__name__ for m in modules]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    first, pooling = modules[0], modules[1]
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None and hasattr(pooling, "get_pooling_mode_str"):  # sentence-transformers < 6
        mode = pooling.get_pooling_mode_str()
    if mode != "mean":
        return None
    if getattr(first, "do_lower_case", False) or getattr(first, "processing_kwargs", None):
        return None
    if getattr(model, "default_prompt_name", None) or getattr(model, "truncate_dim", None):
        return None
    transformer = getattr(first, "auto_model", None)
    tokenizer = getattr(model, "tokenizer", None)
    if transformer is None or tokenizer is None or not callable(tokenizer):
        return None
    return tokenizer, transformer
