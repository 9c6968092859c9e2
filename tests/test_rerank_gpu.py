"""GPU choices tested with stand-ins (no GPU here): zerank's dtype follows what the GPU supports,
fp16 overflow falls back to fp32, and `embedding_device = auto` puts ingest batches on CUDA while
each query takes the path measured fastest."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from search.embedding import make_embedder
from search.embedding.split import SplitEmbedder
from search.rerank import devices
from search.rerank.zerank import ZerankReranker, dtype_for
from search.settings import Settings


def test_zerank_dtype_follows_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert dtype_for("cuda") == torch.bfloat16  # Ampere and later
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert dtype_for("cuda:0") == torch.float16  # T4, V100

    def broken(*a: object, **k: object) -> bool:
        raise RuntimeError("no driver")

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", broken)
    assert dtype_for("cuda") == torch.float16
    assert dtype_for("cpu") == torch.float32


def test_fp16_overflow_falls_back_to_fp32(tiny_zerank_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A weight fp16 holds but whose products it cannot (the final norm's gain at 60,000) makes
    inf logits in fp16; the reranker then switches to fp32 and returns the fp32 scores."""
    reference = ZerankReranker.from_pretrained(str(tiny_zerank_path), device="cpu", max_tokens=128)
    with torch.no_grad():
        reference.model.model.norm.weight.fill_(60000.0)
        reference.model.get_output_embeddings().weight[reference.yes_id] *= 1e-4  # logits stay moderate
    reference.model = reference.model.half().float()  # fp32 from fp16-rounded weights: what fp32 recovers
    expected = reference.score("q", ["alpha beta", "gamma"]).scores
    assert all(math.isfinite(s) and 0.0 < s < 1.0 for s in expected) and expected[0] != expected[1]
    half = ZerankReranker(reference.model.half(), reference.tokenizer, name="half", max_tokens=128)
    reference.model = None
    with caplog.at_level(logging.WARNING, logger="search.rerank.zerank"):
        got = half.score("q", ["alpha beta", "gamma"]).scores
    assert half.model.dtype == torch.float32 and "non-finite logits in fp16" in caplog.text
    assert got == pytest.approx(expected, abs=1e-5)


def test_auto_device_is_cpu_without_a_driver_and_cuda_with_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "nvidia_driver_present", lambda: False)
    assert devices.resolve_device("auto") == "cpu" and devices.resolve_device("cuda") == "cuda"
    monkeypatch.setattr(devices, "nvidia_driver_present", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.resolve_device("") == "cuda"


def test_auto_embedding_device_puts_ingest_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "cuda_available", lambda: True)
    embedder = make_embedder(replace(Settings(), embedding_device="auto"), lazy=True)
    assert isinstance(embedder, SplitEmbedder)
    assert embedder.batches.device == "cuda" and not embedder.batches.loaded  # loads on first ingest
    assert [type(c).__name__ for c in embedder.candidates] == ["OnnxEmbedder", "SentenceTransformerEmbedder"]
    assert embedder.name == Settings().embedding_model  # the manifest's name is unchanged
    monkeypatch.setattr(devices, "cuda_available", lambda: False)
    assert type(make_embedder(Settings(), lazy=True)).__name__ == "OnnxEmbedder"  # no GPU: as before


class Fake:
    def __init__(self, name: str, delay: float) -> None:
        self.name, self.delay, self.queries, self.batches = name, delay, 0, 0

    def embed_query(self, text: str) -> np.ndarray:
        self.queries += 1
        time.sleep(self.delay)
        return np.ones(3, dtype=np.float32)

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        self.batches += 1
        return np.ones((len(texts), 3), dtype=np.float32)


def test_queries_take_the_path_measured_fastest() -> None:
    slow_gpu, fast_cpu = Fake("m", 0.02), Fake("m", 0.0)
    split = SplitEmbedder(slow_gpu, [fast_cpu, slow_gpu])
    split.embed_query("first")  # measures both, then answers on the faster
    assert split.query_path is fast_cpu and len(split.query_ms) == 2
    before = slow_gpu.queries
    split.embed_query("second")
    assert slow_gpu.queries == before  # decided once
    split.embed(["a", "b"])
    assert slow_gpu.batches == 1 and fast_cpu.batches == 0  # ingest batches stay on the GPU path
    swapped = SplitEmbedder(slow_gpu, [Fake("m", 0.03), Fake("m", 0.0)])
    swapped.embed_query("q")
    assert swapped.query_path is swapped.candidates[1]
