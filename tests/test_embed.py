"""The embedder: the fast query path equals `encode`, and a lazy embedder loads nothing until used."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.pipeline import file_sources, run_ingest
from search.backends import open_writer
from search.embedding import Embedder
from search.embedding.transformer import FAST_QUERY_TOLERANCE, SentenceTransformerEmbedder
from search.settings import Settings


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    """The torch embedder (the session-wide fixture is whatever `make_embedder` picks: ONNX)."""
    return SentenceTransformerEmbedder(Settings().embedding_model)


QUERIES = [
    "0-dimensional biomaterials show inductive properties.",
    "What is the effect of vitamin D on bone density in elderly women?",
    "  leading and trailing spaces  ",
    "UPPER case, Ünïcödé and émojis 🚀 — 3.5 mg/kg, p<0.05",
    "x",
    "",
    "a long query " + " ".join(f"term{i}" for i in range(600)),  # over the 256 word-piece limit
]


def test_fast_query_path_is_used_for_the_default_model(embedder: Embedder) -> None:
    assert embedder._fast is not None, "the default MiniLM should take the fast query path"


@pytest.mark.parametrize("query", QUERIES)
def test_fast_embed_query_equals_encode(embedder: Embedder, query: str) -> None:
    fast = embedder.embed_query(query)
    slow = embedder.model.encode([query], normalize_embeddings=True, convert_to_numpy=True)[0]
    assert fast.dtype == np.float32 and fast.shape == (embedder.dim,)
    np.testing.assert_allclose(fast, slow, atol=FAST_QUERY_TOLERANCE, rtol=0)
    assert abs(float(np.linalg.norm(fast)) - 1.0) < 1e-5


def test_embed_query_falls_back_to_encode_without_the_fast_path(embedder: Embedder, monkeypatch) -> None:
    monkeypatch.setattr(embedder, "_fast", None)
    np.testing.assert_array_equal(embedder.embed_query(QUERIES[0]), embedder.embed([QUERIES[0]])[0])


def test_lazy_embedder_loads_on_first_use() -> None:
    lazy = SentenceTransformerEmbedder(Settings().embedding_model, lazy=True)
    assert not lazy.loaded
    assert lazy.name == Settings().embedding_model
    assert lazy.dim == 384 and lazy.loaded


def test_unchanged_rerun_never_loads_a_lazy_embedder(tmp_path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(["Green tea is steamed soon after picking.", "Pumice floats on water."]):
        (docs / f"d{i}.txt").write_text(text, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    sources, _ = file_sources([docs], max_bytes=1 << 20)
    run_ingest(sources, open_writer(settings), settings, embedder=embedder, show_progress=False)

    lazy = SentenceTransformerEmbedder(settings.embedding_model, lazy=True)
    sources, _ = file_sources([docs], max_bytes=1 << 20)
    report = run_ingest(sources, open_writer(settings), settings, embedder=lazy, show_progress=False)
    assert not report.changed and report.unchanged == 2
    assert not lazy.loaded


def test_embed_query_runs_on_query_threads_and_restores_the_callers(embedder: Embedder, monkeypatch) -> None:
    import torch

    seen: list[int] = []
    original = embedder._embed_fast

    def spy(text: str) -> np.ndarray:
        seen.append(torch.get_num_threads())
        return original(text)

    monkeypatch.setattr(embedder, "_embed_fast", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        one = embedder.embed_query(QUERIES[1])
        assert torch.get_num_threads() == 2
        monkeypatch.setattr(embedder, "query_threads", None)
        two = embedder.embed_query(QUERIES[1])
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 2]
    np.testing.assert_allclose(one, two, atol=FAST_QUERY_TOLERANCE, rtol=0)


def test_queries_and_a_batch_embed_in_parallel_threads_without_errors():
    """A search embeds its query while an upload embeds chunks: no shared-tokenizer borrow error."""
    from concurrent.futures import ThreadPoolExecutor

    from search.embedding import make_embedder
    from search.settings import Settings

    embedder = make_embedder(Settings(embedding_backend="torch"))
    long = "tokenizer contention " * 300
    with ThreadPoolExecutor(max_workers=6) as pool:
        batch = pool.submit(embedder.embed, [f"chunk {i} text" for i in range(64)])
        queries = [pool.submit(embedder.embed_query, f"query {i}") for i in range(40)]
        counts = [pool.submit(embedder.count_tokens, long) for _ in range(40)]
        assert batch.result().shape == (64, embedder.dim)
        assert all(q.result().shape == (embedder.dim,) for q in queries)
        assert {c.result() for c in counts} == {embedder.count_tokens(long)}
