"""A CrossEncoder (ms-marco-MiniLM and kin) on ONNX Runtime: the CPU reranker without torch.

The same scores as sentence-transformers' `CrossEncoder.predict` (tested to 1e-4): the pair is
tokenised by the model's own tokenizer.json (`[CLS] query [SEP] document [SEP]`, longest-first
truncation), the exported graph gives the logit, and the activation the model's config names
(Sigmoid by default for one label, as CrossEncoder does) makes the score. Pairs are sorted by length
and batched under a token budget with padding to each batch's longest row only.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from search.rerank.base import Progress, RerankResult, clip_pair
from search.rerank.batches import plan_batches

logger = logging.getLogger(__name__)

#: Padded tokens per session run: ~16 pairs of 256 tokens; bigger batches gain nothing on 2 cores.
TOKEN_BUDGET = 4096
#: Model types whose exported graph takes token_type_ids as BERT does.
SUPPORTED_TYPES = frozenset({"bert"})


def machine_threads() -> int:
    """The cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def onnx_usable(folder: Path) -> str:
    """Why the ONNX path cannot run the model in `folder` ("" when it can), without importing anything
    heavy: onnxruntime and tokenizers installed, a tokenizer.json, a BERT-type single-label config."""
    import importlib.util

    for module in ("onnxruntime", "tokenizers"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    if not (folder / "tokenizer.json").is_file():
        return f"{folder} has no tokenizer.json"
    config = _config(folder)
    if config.get("model_type") not in SUPPORTED_TYPES:
        return f"model type {config.get('model_type')!r} is not one the ONNX export supports (bert)"
    labels = len(config.get("id2label") or {}) or int(config.get("num_labels", 1))
    if labels != 1:
        return f"{folder.name} has {labels} output labels; a reranker needs a single relevance score"
    return ""


def _config(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def activation(config: dict[str, Any]) -> str:
    """ "sigmoid" or "identity": what CrossEncoder applies to a one-label model's logit (the config's
    `sentence_transformers.activation_fn`, else its pre-v4 key, else Sigmoid)."""
    path = (config.get("sentence_transformers") or {}).get("activation_fn") or config.get(
        "sbert_ce_default_activation_function"
    )
    return "identity" if path and str(path).endswith("Identity") else "sigmoid"


class OnnxCrossEncoder:
    """Loaded once; `score` is thread-safe (onnxruntime sessions are, and each thread has its own
    tokenizer), and the app calls it under the TimedReranker's model lock anyway."""

    backend = "cross-encoder"
    device = "cpu"

    def __init__(
        self,
        folder: Path,
        *,
        name: str,
        quantized: bool = False,
        threads: int = 0,
        max_length: int = 512,
        token_budget: int = TOKEN_BUDGET,
        max_query_chars: int = 2000,
        max_doc_chars: int = 10000,
        cache_dir: Path | None = None,
    ) -> None:
        import onnxruntime as ort

        from search.rerank.onnx_export import cached_cross_encoder_onnx

        reason = onnx_usable(folder)
        if reason:
            raise ValueError(reason)
        config = _config(folder)
        self.name = name
        self.folder = folder
        self.quantized = quantized
        self.threads = threads or machine_threads()
        self.max_length = min(max_length, int(config.get("max_position_embeddings", 512)))
        self.token_budget = max(token_budget, self.max_length)
        self.max_query_chars = max_query_chars
        self.max_doc_chars = max_doc_chars
        self.activation = activation(config)
        self.onnx_path = cached_cross_encoder_onnx(folder, quantized, cache_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # no busy-waiting between ops: on a shared machine a spinning thread burns a neighbour's core
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])
        self._tokenizers: dict[int, Any] = {}

    def tokenizer(self) -> Any:
        """This thread's tokenizer (a Rust tokenizer shared between threads raises 'Already borrowed')."""
        key = threading.get_ident()
        tok = self._tokenizers.get(key)
        if tok is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tok.enable_truncation(max_length=self.max_length, strategy="longest_first")
            tok.no_padding()
            self._tokenizers[key] = tok
        return tok

    def logits(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> list[float]:
        """Raw logits in input order; pairs run longest first, each batch padded to its longest row."""
        encodings = self.tokenizer().encode_batch([(query, d) for d in documents])
        out = [0.0] * len(encodings)
        done = 0
        for batch in plan_batches([len(e.ids) for e in encodings], self.token_budget):
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for row, i in enumerate(batch):
                e = encodings[i]
                n = len(e.ids)
                ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            values = self.session.run(None, feeds)[0].reshape(len(batch), -1)[:, 0]
            for i, value in zip(batch, values.tolist(), strict=True):
                out[i] = float(value)
            done += len(batch)
            if progress is not None:
                progress(done, len(encodings))
        return out

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> RerankResult:
        """Scores in input order (the model's activation applied), with what had to be clipped."""
        query, docs, warnings = clip_pair(query, documents, self.max_query_chars, self.max_doc_chars)
        raw = self.logits(query, docs, progress) if docs else []
        if self.activation == "sigmoid":
            raw = [1.0 / (1.0 + math.exp(-x)) if x >= -700 else 0.0 for x in raw]
        return RerankResult(raw, warnings)
