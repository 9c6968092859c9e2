"""load_reranker: dispatch, and failing fast with a reason (never raising) when a model is unavailable."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from search.rerank import Reranker, load_reranker
from search.rerank.cross_encoder import CrossEncoderReranker
from search.rerank.zerank import ZerankReranker
from search.settings import Settings


def settings_for(backend: str, model: str, **kw: object) -> Settings:
    """Settings that load `model` with `backend` (the cross-encoder backend reads its own setting)."""
    field = "cross_encoder_model" if backend == "cross-encoder" else "reranker_model"
    return replace(Settings(), reranker=backend, **{field: model}, **kw)


def test_none_is_off_without_a_reason() -> None:
    reranker, status = load_reranker(settings_for("none", "zeroentropy/zerank-1"))
    assert reranker is None
    assert not status.loaded and status.reason == ""
    assert status.line() == "reranking off"


def test_unknown_backend() -> None:
    reranker, status = load_reranker(settings_for("magic", "x"))
    assert reranker is None and not status.loaded
    assert "unknown reranker backend 'magic'" in status.reason


@pytest.mark.parametrize("backend", ["zerank", "cross-encoder"])
def test_missing_local_path(tmp_path: Path, backend: str) -> None:
    missing = str(tmp_path / "no" / "such-model")
    reranker, status = load_reranker(settings_for(backend, missing))
    assert reranker is None and not status.loaded
    assert missing in status.reason and "does not exist" in status.reason


def test_hub_offline_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    reranker, status = load_reranker(settings_for("zerank", "zeroentropy/zerank-1"))
    assert time.monotonic() - start < 5
    assert reranker is None and not status.loaded
    assert "zeroentropy/zerank-1" in status.reason and "HF_HUB_OFFLINE" in status.reason
    assert status.line().startswith("reranking unavailable: ")


def test_unreachable_hub_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    start = time.monotonic()
    reranker, status = load_reranker(settings_for("zerank", "zeroentropy/zerank-1"))
    assert time.monotonic() - start < 5
    assert reranker is None and not status.loaded
    assert status.reason == "cannot reach the model hub to download zeroentropy/zerank-1 (offline?)"


def test_zerank_is_refused_as_a_cross_encoder() -> None:
    reranker, status = load_reranker(settings_for("cross-encoder", "zeroentropy/zerank-1"))
    assert reranker is None and "zerank backend" in status.reason


def test_tiny_zerank_loads_from_a_path(tiny_zerank_path: Path) -> None:
    reranker, status = load_reranker(settings_for("zerank", str(tiny_zerank_path), rerank_max_tokens=256))
    assert isinstance(reranker, ZerankReranker) and isinstance(reranker, Reranker)
    assert status.loaded and status.reason == ""
    assert (status.backend, status.device, status.name) == ("zerank", "cpu", str(tiny_zerank_path))
    assert reranker.max_tokens == 256
    scores = reranker.score("q", ["a", "b c"]).scores
    assert len(scores) == 2 and all(0 < s < 1 for s in scores)


def test_broken_checkpoint_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    reranker, status = load_reranker(settings_for("zerank", str(tmp_path)))
    assert reranker is None and not status.loaded
    assert status.reason.startswith(f"could not load {tmp_path}")


def test_cross_encoder_matches_predict_in_input_order(tiny_cross_encoder: Path) -> None:
    from sentence_transformers import CrossEncoder

    s = replace(settings_for("cross-encoder", str(tiny_cross_encoder)), cross_encoder_backend="torch")
    reranker, status = load_reranker(s)
    assert isinstance(reranker, CrossEncoderReranker)
    assert status.loaded and (status.backend, status.device) == ("cross-encoder", "cpu")
    reranker.batch_size = 2  # several batches, run longest first
    query = "how do I reset the router"
    docs = ["reset", "hold the reset button for ten seconds", "", "router manual, page two", "a b c d e f g"]
    calls: list[tuple[int, int]] = []
    got = reranker.score(query, docs, progress=lambda d, t: calls.append((d, t))).scores
    expected = CrossEncoder(str(tiny_cross_encoder), device="cpu").predict([(query, d) for d in docs])
    assert got == pytest.approx([float(x) for x in expected], abs=1e-5)
    assert len(set(round(s, 4) for s in got)) > 1  # the comparison can tell documents apart
    assert calls == [(2, 5), (4, 5), (5, 5)]
