"""The ONNX Runtime cross-encoder against the torch CrossEncoder, on a random-weight model of
ms-marco-MiniLM-L6-v2's exact shape (built here: no reranker weights can be downloaded)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench.cross_encoder_speed import build_minilm_cross_encoder, kendall_taus, sample_rankings
from search.rerank.load import load_reranker
from search.rerank.onnx_cross import OnnxCrossEncoder, activation, onnx_usable
from search.settings import Settings

QUERY = "how do I reset the router"
DOCS = [
    "reset",
    "hold the reset button for ten seconds until the lights blink",
    "",
    "router manual, page two: the admin password is printed under the device",
    " ".join(f"word{i}" for i in range(700)),  # over 512 tokens: truncation must agree
    "Café Zürich — naïve coöperation, 3.5 mg/kg, p < 0.05",
]


@pytest.fixture(scope="module")
def minilm_ce(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_minilm_cross_encoder(tmp_path_factory.mktemp("minilm_ce"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx_cache")


def test_onnx_scores_equal_the_torch_cross_encoder(minilm_ce: Path, cache: Path) -> None:
    from sentence_transformers import CrossEncoder

    onnx = OnnxCrossEncoder(minilm_ce, name="ce", cache_dir=cache, token_budget=1024)
    model = CrossEncoder(str(minilm_ce), device="cpu", max_length=512)
    pairs = [(QUERY, d) for d in DOCS]
    expected = model.predict(pairs, convert_to_numpy=True, activation_fn=__import__("torch").nn.Identity())
    calls: list[tuple[int, int]] = []
    got = onnx.logits(QUERY, DOCS, progress=lambda d, t: calls.append((d, t)))
    assert got == pytest.approx([float(x) for x in expected], abs=1e-4)  # raw logits, input order
    assert max(got) - min(got) > 1e-3  # the comparison can tell documents apart
    assert len(calls) > 1 and calls[-1] == (len(DOCS), len(DOCS))  # several length-sorted batches
    scores = onnx.score(QUERY, DOCS).scores  # CrossEncoder's default activation for one label: sigmoid
    assert scores == pytest.approx([float(x) for x in model.predict(pairs)], abs=1e-4)


def test_the_export_is_cached_and_reused(minilm_ce: Path, cache: Path) -> None:
    first = OnnxCrossEncoder(minilm_ce, name="ce", cache_dir=cache)
    stamp = first.onnx_path.stat().st_mtime_ns
    again = OnnxCrossEncoder(minilm_ce, name="ce", cache_dir=cache)
    assert again.onnx_path == first.onnx_path and again.onnx_path.stat().st_mtime_ns == stamp
    assert not list(first.onnx_path.parent.glob("*.tmp"))  # written through a temporary file, renamed


def test_int8_is_the_default_only_if_it_ranks_like_fp32(minilm_ce: Path, cache: Path) -> None:
    """The adoption rule for the int8 graph: Kendall tau >= 0.98 with fp32 on the sample's judged
    queries. On this random-weight model int8 reorders near-tied scores (tau ~0.73, see the
    README), so fp32 stays the default; this fails if the default and the measurement disagree."""
    fp32 = OnnxCrossEncoder(minilm_ce, name="ce", cache_dir=cache)
    int8 = OnnxCrossEncoder(minilm_ce, name="ce", quantized=True, cache_dir=cache)
    assert int8.onnx_path.name == "model.int8.onnx" and int8.onnx_path.parent == fp32.onnx_path.parent
    taus = kendall_taus(sample_rankings(fp32, per_query=12), sample_rankings(int8, per_query=12))
    assert len(taus) >= 40
    mean = sum(taus) / len(taus)
    assert mean > 0.3  # int8 still ranks: a broken graph would be near 0
    assert Settings().cross_encoder_int8 == (mean >= 0.98)


def test_the_loader_picks_onnx_on_cpu_and_torch_when_told(minilm_ce: Path, cache: Path, monkeypatch) -> None:
    monkeypatch.setenv("SEARCH_CACHE_DIR", str(cache))
    s = replace(
        Settings(), reranker="cross-encoder", cross_encoder_model=str(minilm_ce), reranker_device="cpu"
    )
    reranker, status = load_reranker(s)
    assert isinstance(reranker, OnnxCrossEncoder) and status.loaded and status.device == "cpu"
    assert reranker.max_length == 512  # rerank_max_tokens (1024) capped at BERT's positions
    from search.rerank.cross_encoder import CrossEncoderReranker

    reranker, _ = load_reranker(replace(s, cross_encoder_backend="torch"))
    assert isinstance(reranker, CrossEncoderReranker)
    reranker, status = load_reranker(replace(s, cross_encoder_backend="tensorflow"))
    assert reranker is None and "cross_encoder_backend='tensorflow'" in status.reason


def test_what_onnx_cannot_run_is_said(tmp_path: Path, minilm_ce: Path) -> None:
    assert onnx_usable(minilm_ce) == ""
    assert "tokenizer.json" in onnx_usable(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "config.json").write_text('{"model_type": "qwen3"}')
    assert "'qwen3'" in onnx_usable(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "bert", "id2label": {"0": "a", "1": "b"}}')
    assert "2 output labels" in onnx_usable(tmp_path)
    assert (
        activation({"sentence_transformers": {"activation_fn": "torch.nn.modules.linear.Identity"}})
        == "identity"
    )
    assert activation({}) == "sigmoid"


def test_no_torch_on_the_onnx_query_path(minilm_ce: Path, cache: Path) -> None:
    """With the export cached, loading and scoring import neither torch nor sentence-transformers."""
    OnnxCrossEncoder(minilm_ce, name="ce", cache_dir=cache)  # the export exists
    code = (
        "import sys; from pathlib import Path; from search.rerank.onnx_cross import OnnxCrossEncoder;"
        f"r = OnnxCrossEncoder(Path({str(minilm_ce)!r}), name='ce', cache_dir=Path({str(cache)!r}));"
        "s = r.score('q', ['a b', 'c']).scores; assert len(s) == 2;"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(cache)},
    )
    assert out.stdout.strip() == "[]"
