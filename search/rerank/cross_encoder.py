"""Any sentence-transformers `CrossEncoder` (e.g. ms-marco-MiniLM) as a reranker: the cheap route
for CPU-only hosting. Not for zerank checkpoints: CrossEncoder scores those with the wrong token
and formula (docs/zerank.md), so `load_reranker` refuses that combination."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from search.rerank.base import Progress, RerankResult, clip_pair

logger = logging.getLogger(__name__)


class CrossEncoderReranker:
    """Batched CrossEncoder scoring with progress; scores come back in input order."""

    backend = "cross-encoder"

    def __init__(
        self,
        model: Any,
        *,
        name: str,
        batch_size: int = 32,
        max_query_chars: int = 2000,
        max_doc_chars: int = 10000,
    ) -> None:
        labels = getattr(model, "num_labels", 1)
        if labels != 1:
            raise ValueError(f"{name} has {labels} output labels; a reranker needs a single relevance score")
        self.model = model
        self.name = name
        self.device = str(getattr(model, "device", "cpu")).split(":")[0]
        self.batch_size = max(1, batch_size)
        self.max_query_chars = max_query_chars
        self.max_doc_chars = max_doc_chars

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        *,
        revision: str = "",
        device: str = "auto",
        local_files_only: bool = False,
        max_length: int | None = None,
        **kwargs: int,
    ) -> CrossEncoderReranker:
        """Load a CrossEncoder by hub id or local path (no remote code); kwargs go to `__init__`."""
        from sentence_transformers import CrossEncoder

        from search.rerank.zerank import resolve_device

        model = CrossEncoder(
            name_or_path,
            device=resolve_device(device),
            revision=revision or None,
            local_files_only=local_files_only,
            trust_remote_code=False,
            max_length=max_length,
        )
        return cls(model, name=name_or_path, **kwargs)

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> RerankResult:
        """Scores in input order; pairs run longest first in `batch_size` batches to limit padding."""
        query, docs, warnings = clip_pair(query, documents, self.max_query_chars, self.max_doc_chars)
        total = len(docs)
        out = [0.0] * total
        order = sorted(range(total), key=lambda i: -len(docs[i]))
        for start in range(0, total, self.batch_size):
            idx = order[start : start + self.batch_size]
            scores = self.model.predict(
                [(query, docs[i]) for i in idx],
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
            for i, value in zip(idx, scores.reshape(len(idx), -1)[:, 0].tolist(), strict=True):
                out[i] = float(value)
            if progress is not None:
                progress(min(start + self.batch_size, total), total)
        return RerankResult(out, warnings)
