"""Make the ONNX file the CPU cross-encoder runs, from the model's local weights, once, cached.

The same pattern as the embedder's (`search.embedding.onnx_export`): the graph is exported from the
local folder the first time, written through a temporary file and renamed into place, and keyed by
a fingerprint of the weights; after that nothing on the query path imports torch. The graph takes
`input_ids`, `attention_mask`, `token_type_ids` and returns the raw relevance logit per pair (the
first label), exactly what sentence-transformers' CrossEncoder computes before its activation.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from search.embedding.onnx_export import OPSET, cache_root, cached_export, model_key

log = logging.getLogger(__name__)

#: Bumped when the exported graph changes, so old cache files are not reused.
EXPORT_VERSION = 1


def cached_cross_encoder_onnx(model_path: Path, quantized: bool = False, root: Path | None = None) -> Path:
    """The ONNX file for the cross-encoder at `model_path` (int8 with `quantized`), made on first use."""
    label = model_path.name  # a hub snapshot is named by its commit: use the repository's name
    if model_path.parent.name == "snapshots":
        label = model_path.parent.parent.name.removeprefix("models--")
    key = f"{label}-v{EXPORT_VERSION}-{model_key(model_path)}"
    folder = (root or cache_root()) / "onnx-rerank" / key
    return cached_export(folder, model_path, export_cross_encoder, quantized)


def export_cross_encoder(model_path: Path, out: Path) -> None:
    """Export the sequence-classification model's first logit (needs torch; run once per model)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(
        str(model_path), dtype=torch.float32, trust_remote_code=False
    ).eval()

    class FirstLogit(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.logits[:, 0]

    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    with torch.inference_mode():
        torch.onnx.export(
            FirstLogit(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(out),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logit"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "logit": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    (out.parent / "export.json").write_text(
        json.dumps({"model": str(model_path), "version": EXPORT_VERSION, "opset": OPSET}), encoding="utf-8"
    )
