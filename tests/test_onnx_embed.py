"""The ONNX Runtime embedder gives the torch embedder's vectors, and the query path needs no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest.chunk import Chunker
from ingest.load import default_doc_id, load_file
from search.embedding import choose_backend, make_embedder
from search.embedding.onnx import OnnxEmbedder
from search.embedding.transformer import SentenceTransformerEmbedder
from search.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
MODEL = Settings().embedding_model


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    return OnnxEmbedder(MODEL)


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(MODEL)


@pytest.fixture(scope="module")
def sample_chunks() -> list[str]:
    """Chunks of every sample file (the real Chunker), as they are embedded at ingest."""
    settings = Settings()
    chunker = Chunker.for_model(MODEL, settings.chunk_tokens, settings.chunk_overlap)
    texts = []
    for path in sorted((ROOT / "data" / "sample").rglob("*.txt")):
        doc = load_file(path, max_bytes=1 << 24, doc_id=default_doc_id(path), source=str(path))
        texts += [c.indexed_text() for c in chunker.chunk(doc)]
    assert len(texts) > 50
    return texts


def test_onnx_vectors_match_torch_on_the_sample_chunks(onnx, torch_embedder, sample_chunks) -> None:
    a, b = onnx.embed(sample_chunks), torch_embedder.embed(sample_chunks)
    assert a.shape == b.shape == (len(sample_chunks), 384) and a.dtype == np.float32
    cosine = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.999
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "query", ["ALDH1 and breast cancer", "  Café Zürich — 3.5 mg/kg  ", "x", " ".join(["long"] * 600)]
)
def test_onnx_query_equals_its_batch_and_torch(onnx, torch_embedder, query: str) -> None:
    q = onnx.embed_query(query)
    np.testing.assert_allclose(q, onnx.embed([query, "another, longer text to pad against"])[0], atol=1e-5)
    assert float(q @ torch_embedder.embed_query(query)) >= 0.999
    assert onnx.count_tokens(query) == torch_embedder.count_tokens(query)


def test_int8_graph_is_a_separate_cached_file_close_to_fp32(onnx, sample_chunks) -> None:
    int8 = OnnxEmbedder(MODEL, quantized=True)
    assert int8.onnx_path != onnx.onnx_path and int8.onnx_path.name == "model.int8.onnx"
    cosine = (int8.embed(sample_chunks[:64]) * onnx.embed(sample_chunks[:64])).sum(axis=1)
    assert cosine.min() >= 0.98


def test_the_backend_setting_picks_the_embedder(tmp_path) -> None:
    assert choose_backend(Settings()) == "onnx"  # onnxruntime is a dependency
    torch_one = make_embedder(Settings(embedding_backend="torch"), lazy=True)
    assert isinstance(torch_one, SentenceTransformerEmbedder)
    assert isinstance(make_embedder(Settings(embedding_backend="onnx"), lazy=True), OnnxEmbedder)
    with pytest.raises(ValueError, match="embedding_backend='tensorflow'"):
        choose_backend(Settings(embedding_backend="tensorflow"))
    other = tmp_path / "cls-model"
    other.mkdir()  # not the BERT + mean pooling layout: auto falls back to torch, onnx says why
    assert choose_backend(Settings(embedding_model=str(other))) == "torch"
    with pytest.raises(ValueError, match="embedding_backend=onnx: needs"):
        choose_backend(Settings(embedding_model=str(other), embedding_backend="onnx"))


def test_lazy_onnx_embedder_loads_nothing_until_used() -> None:
    lazy = OnnxEmbedder(MODEL, lazy=True)
    assert not lazy.loaded
    assert lazy.dim == 384 and lazy.loaded


PROBE = """
import json, sys
from search.__main__ import main
code = main([sys.argv[1], "--index", sys.argv[2], "--json", *sys.argv[3:]])
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}))
"""


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        (["--no-rerank"], {}),  # the hosted reranker (unreachable here: the search keeps its fused list)
        (["--reranker", "api"], {"ZEROENTROPY_API_KEY": "test", "SEARCH_API_URL": "http://127.0.0.1:9"}),
    ],
)
def test_cli_search_without_a_local_reranker_never_imports_torch(tmp_path, onnx, flags, env) -> None:
    from ingest.pipeline import file_sources, run_ingest
    from search.backends import open_writer

    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(["Green tea is steamed soon after picking.", "Pumice is a rock that floats."]):
        (docs / f"d{i}.txt").write_text(text, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    sources, _ = file_sources([docs], max_bytes=1 << 20)
    run_ingest(sources, open_writer(settings), settings, embedder=onnx, show_progress=False)

    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "floating rock", str(settings.index_dir), *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SEARCH_EMBEDDING_BACKEND": "auto", "SEARCH_API_TIMEOUT_S": "3", **env},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    status = json.loads(lines[-1])
    result = json.loads("\n".join(lines[:-1]))
    assert status == {"code": 0, "heavy": []}
    assert result["fused"][0]["text"].startswith("Pumice")


def test_the_onnx_export_says_nothing_alarming(tmp_path, capfd) -> None:
    """A first start used to print TracerWarnings ("might cause the trace to be incorrect") and a
    UserWarning ("the exported graph will produce incorrect results"); the vectors are checked
    against torch above, so the export keeps quiet."""
    import warnings

    from search.embedding.onnx_export import export_onnx
    from search.settings import resolve_embedding_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_onnx(Path(resolve_embedding_model(MODEL)), tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").stat().st_size > 1_000_000
    # other tests' clients, collected meanwhile, may add ResourceWarnings: not the export's words
    assert [str(w.message)[:80] for w in caught if not issubclass(w.category, ResourceWarning)] == []
    out, err = capfd.readouterr()
    shown = "\n".join(line for line in (out + err).splitlines() if "ResourceWarning" not in line)
    assert "incorrect" not in shown and "TracerWarning" not in shown and "UserWarning" not in shown
