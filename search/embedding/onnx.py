"""An ONNX Runtime embedder: the same vectors as the torch one, without importing torch.

onnxruntime runs the exported graph (transformer + mean pooling + L2 norm, see `onnx_export`) and
the `tokenizers` library reads the model's own tokenizer.json, so a query costs a tokenizer call
and one session run. The ONNX file is made once from the local weights and cached; after that,
nothing here imports torch or sentence-transformers.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from search.embedding.onnx_export import cached_onnx
from search.errors import SearchError
from search.settings import resolve_embedding_model

#: onnxruntime intra-op threads for one query (see QUERY_THREADS in transformer.py: on a busy
#: 2-core machine a second thread makes a short forward wait for a descheduled peer).
QUERY_THREADS = 1


class OnnxEmbedder:
    """all-MiniLM-style models (BERT + mean pooling + normalise) through ONNX Runtime.

    `name` is the model name the index manifest records, the same as the torch embedder's, so an
    index built with either works with the other. `quantized` runs the int8 graph instead.
    """

    backend = "onnx"

    def __init__(
        self,
        model: str,
        batch_size: int = 32,
        *,
        quantized: bool = False,
        lazy: bool = False,
        threads: int | None = None,
        query_threads: int = QUERY_THREADS,
        cache_dir: Path | None = None,
    ) -> None:
        self.name = model
        self.path = Path(resolve_embedding_model(model))
        if not (self.path / "tokenizer.json").is_file():
            raise SearchError(
                f"ONNX embedder: {self.path} has no tokenizer.json (a local model folder is needed); "
                "set SEARCH_EMBEDDING_BACKEND=torch"
            )
        self.batch_size = batch_size
        self.quantized = quantized
        self.threads = threads or os.cpu_count() or 1
        self.query_threads = query_threads
        self.cache_dir = cache_dir
        self.max_tokens = _max_seq_length(self.path)
        self.onnx_path: Path | None = None
        # Shared by all threads: ONNX Runtime's `InferenceSession.run` is thread-safe (sessions are
        # created once under `_lock`). Tokenizers are not (mutating truncation/padding while another
        # thread encodes raises "Already borrowed"): one per thread, keyed by thread id.
        self._sessions: dict[int, Any] = {}
        self._tokenizers: dict[int, Any] = {}
        self._dim = 0
        self._lock = threading.Lock()
        if not lazy:
            self.load()

    @property
    def loaded(self) -> bool:
        return bool(self._sessions)

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    def load(self) -> None:
        """Make or find the ONNX file and open the query session (thread-safe, once)."""
        self._session(self.query_threads)

    def _session(self, threads: int) -> Any:
        session = self._sessions.get(threads)
        if session is not None:
            return session
        with self._lock:
            if threads not in self._sessions:
                import onnxruntime as ort

                if self.onnx_path is None:
                    self.onnx_path = cached_onnx(self.path, self.quantized, self.cache_dir)
                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                session = ort.InferenceSession(
                    str(self.onnx_path), options, providers=["CPUExecutionProvider"]
                )
                self._dim = int(session.get_outputs()[0].shape[-1])
                self._sessions[threads] = session
        return self._sessions[threads]

    def tokenizer(self) -> Any:
        """This thread's tokenizer (a Rust tokenizer shared between threads raises 'Already borrowed')."""
        key = threading.get_ident()
        tok = self._tokenizers.get(key)
        if tok is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            tok.enable_truncation(max_length=self.max_tokens)
            tok.no_padding()
            self._tokenizers[key] = tok
        return tok

    # -- embedding --

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Vectors for `texts` in their order; batches are formed by length (less padding)."""
        from search.embedding.batching import embed_sorted

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.encode(texts)
        return embed_sorted(encodings, self.run_batch, self.batch_size, show_progress)

    def encode(self, texts: Sequence[str]) -> list[Any]:
        """Tokenised texts (truncated to the model's limit), for `run_batch`."""
        return self.tokenizer().encode_batch(list(texts))

    def run_batch(self, encodings: Sequence[Any], threads: int | None = None) -> np.ndarray:
        """One session run over encodings of similar length, padded to the longest."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = e.attention_mask
            types[row, :n] = e.type_ids
        session = self._session(threads or self.threads)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return session.run(None, feeds)[0].astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        """One text's vector, equal to `embed([text])[0]`, on the single-thread query session."""
        return self.run_batch([self.tokenizer().encode(text)], self.query_threads)[0]

    def embed_query_counted(self, text: str) -> tuple[np.ndarray, int]:
        """`embed_query(text)` and the query's length in word pieces (no [CLS]/[SEP]) from the one
        tokenisation: the cut-off tail comes back as overflowing pieces, so counting is free
        (a second, untruncated pass costs as much as the embedding's own on a long query)."""
        enc = self.tokenizer().encode(text)
        pieces = sum(sum(1 for s in e.special_tokens_mask if not s) for e in (enc, *enc.overflowing))
        return self.run_batch([enc], self.query_threads)[0], pieces

    def count_tokens(self, text: str) -> int:
        tok = self.tokenizer()
        tok.no_truncation()
        try:
            return len(tok.encode(text, add_special_tokens=False).ids)
        finally:
            tok.enable_truncation(max_length=self.max_tokens)


def onnx_available() -> bool:
    """Whether onnxruntime and tokenizers import (the `auto` backend then uses ONNX)."""
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True


def plain_layout(model: str) -> bool:
    """Whether `model` is a local folder with the layout the exported graph reproduces: a BERT
    Transformer, mean Pooling, optional Normalize, a tokenizer.json, no lower-casing flag."""
    path = Path(resolve_embedding_model(model))
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pool = json.loads((path / pooling / "config.json").read_text(encoding="utf-8"))
        config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        model_type = json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, KeyError, StopIteration):
        return False
    modes = [k for k, v in pool.items() if k.startswith("pooling_mode_") and v]
    return (
        kinds in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])
        and modes == ["pooling_mode_mean_tokens"]
        and not config.get("do_lower_case")
        and (path / "tokenizer.json").is_file()
        and model_type == "bert"  # the graph feeds token_type_ids, which BERT takes
    )


def _max_seq_length(path: Path) -> int:
    """The sentence-transformers input limit (sentence_bert_config.json), else the model's positions."""
    sources = (("sentence_bert_config.json", "max_seq_length"), ("config.json", "max_position_embeddings"))
    for name, key in sources:
        f = path / name
        if f.is_file():
            value = json.loads(f.read_text(encoding="utf-8")).get(key)
            if value:
                return int(value)
    return 512
