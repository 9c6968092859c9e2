"""`reranker = auto`: the order of preference, the fallbacks, the reasons, the explicit override, and
the memory check before loading, with stand-in loaders and the tiny random-weight models."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from search.models import RerankerStatus
from search.rerank import load_reranker
from search.rerank.api import ApiReranker
from search.rerank.memory import GIB, fit_problem, weights_bytes
from search.rerank.onnx_cross import OnnxCrossEncoder
from search.rerank.policy import Facts, choose_reranker, read_facts
from search.rerank.zerank import ZerankReranker
from search.settings import Settings

OFFLINE_CE = "cross-encoder/ms-marco-MiniLM-L6-v2 is not in the local model cache and HF_HUB_OFFLINE is set"


class Stub:
    def __init__(self, name: str, backend: str, device: str) -> None:
        self.name, self.backend, self.device = name, backend, device


class StubLoader:
    """Loads the backends in `works`; records every backend asked for, with its device."""

    def __init__(self, *works: str) -> None:
        self.works = set(works)
        self.calls: list[tuple[str, str]] = []

    def __call__(self, s: Settings) -> tuple[Stub | None, RerankerStatus]:
        self.calls.append((s.reranker, s.reranker_device))
        name = {"zerank": s.reranker_model, "api": "zerank-1 (ZeroEntropy API)"}.get(
            s.reranker, s.cross_encoder_model
        )
        device = {"zerank": s.reranker_device, "api": "hosted API"}.get(s.reranker, "cpu")
        if s.reranker in self.works:
            return Stub(name, s.reranker, device), RerankerStatus(name, s.reranker, device, loaded=True)
        return None, RerankerStatus(name, s.reranker, reason=f"{s.reranker} broke")


def test_gpu_picks_zerank_and_tries_nothing_else() -> None:
    load = StubLoader("zerank", "api", "cross-encoder")
    reranker, status = choose_reranker(Settings(), Facts(gpu="cuda", api_key=True), load)
    assert reranker.backend == "zerank" and load.calls == [("zerank", "cuda")]
    assert status.line() == "zerank-1 on cuda" and status.attempts == ()


def test_zero_gpu_is_named() -> None:
    _, status = choose_reranker(Settings(), Facts(gpu="ZeroGPU"), StubLoader("zerank"))
    assert status.line() == "zerank-1 on ZeroGPU"


def test_key_without_gpu_picks_the_hosted_zerank() -> None:
    load = StubLoader("zerank", "api", "cross-encoder")
    reranker, status = choose_reranker(Settings(), Facts(api_key=True), load)
    assert reranker.backend == "api" and load.calls == [("api", "auto")]
    assert status.line() == "zerank-1 via the ZeroEntropy API: no GPU for zerank-1"


def test_cpu_only_picks_the_cross_encoder_and_says_what_would_be_better() -> None:
    load = StubLoader("zerank", "api", "cross-encoder")
    reranker, status = choose_reranker(Settings(), Facts(), load)
    assert reranker.backend == "cross-encoder" and load.calls == [("cross-encoder", "cpu")]
    assert status.line() == (
        "ms-marco-MiniLM-L6-v2 on cpu: no GPU for zerank-1 (set ZEROENTROPY_API_KEY for hosted zerank-1)"
    )
    assert [a.candidate for a in status.attempts] == ["zerank-1 on GPU", "hosted zerank-1"]


def test_each_failure_falls_through_to_the_next_with_its_reason() -> None:
    load = StubLoader("cross-encoder")
    reranker, status = choose_reranker(Settings(), Facts(gpu="cuda", api_key=True), load)
    assert [c[0] for c in load.calls] == ["zerank", "api", "cross-encoder"]
    assert reranker.backend == "cross-encoder"
    assert "zerank-1 did not load on the GPU: zerank broke" in status.line()
    assert "hosted zerank-1: api broke" in status.line()


def test_nothing_loads_means_none_with_every_reason_and_fix() -> None:
    reranker, status = choose_reranker(Settings(), Facts(), StubLoader())
    assert reranker is None and not status.loaded and status.backend == "none"
    assert status.line().startswith("none: no GPU for zerank-1 (set ZEROENTROPY_API_KEY")
    assert "ms-marco-MiniLM-L6-v2 did not load: cross-encoder broke" in status.line()
    fixes = " ".join(a.fix for a in status.attempts)
    assert "ZEROENTROPY_API_KEY" in fixes and "SEARCH_CROSS_ENCODER_MODEL" in fixes and "GPU" in fixes
    assert json.loads(json.dumps(status.to_dict()))["attempts"][0]["candidate"] == "zerank-1 on GPU"


def test_read_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert read_facts(s, {"ZEROENTROPY_API_KEY": " k "}).api_key
    assert not read_facts(s, {"ZEROENTROPY_API_KEY": "  "}).api_key
    assert read_facts(s, {"SPACES_ZERO_GPU": "true"}).gpu == "ZeroGPU"
    assert read_facts(replace(s, reranker_device="cpu"), {"SPACES_ZERO_GPU": "1"}).gpu == ""
    assert read_facts(s, {}).gpu == ""  # this machine has no GPU


# -- the real loader with the tiny stand-in models --


def test_this_machine_lands_on_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("ZEROENTROPY_API_KEY", raising=False)
    reranker, status = load_reranker(Settings())  # the default is auto
    assert reranker is None
    assert status.line() == (
        f"none: no GPU for zerank-1 (set ZEROENTROPY_API_KEY for hosted zerank-1); "
        f"ms-marco-MiniLM-L6-v2 did not load: {OFFLINE_CE}"
    )


def test_auto_loads_the_tiny_cross_encoder_on_cpu(tiny_cross_encoder: Path) -> None:
    s = replace(Settings(), cross_encoder_model=str(tiny_cross_encoder))
    reranker, status = choose_reranker(s, Facts())
    assert isinstance(reranker, OnnxCrossEncoder) and status.loaded  # no torch on the query path
    assert status.line() == (
        f"{tiny_cross_encoder.name} on cpu: no GPU for zerank-1 (set ZEROENTROPY_API_KEY for hosted zerank-1)"
    )
    assert len(reranker.score("q", ["a", "b"]).scores) == 2


def test_a_gpu_that_cannot_load_zerank_falls_back(tiny_zerank_path: Path, tiny_cross_encoder: Path) -> None:
    """Told there is a GPU on this CPU machine, zerank fails on cuda and the cross-encoder runs."""
    s = replace(Settings(), reranker_model=str(tiny_zerank_path), cross_encoder_model=str(tiny_cross_encoder))
    reranker, status = choose_reranker(s, Facts(gpu="cuda"))
    assert isinstance(reranker, OnnxCrossEncoder)  # no CUDA here in fact: the CPU path
    assert status.attempts[0].candidate == f"{tiny_zerank_path.name} on GPU" and status.attempts[0].reason


def test_the_key_picks_the_hosted_api(monkeypatch: pytest.MonkeyPatch, tiny_cross_encoder: Path) -> None:
    monkeypatch.setenv("ZEROENTROPY_API_KEY", "test-key")
    s = replace(Settings(), cross_encoder_model=str(tiny_cross_encoder))
    reranker, status = choose_reranker(s, Facts(api_key=True))
    assert isinstance(reranker, ApiReranker) and status.device == "hosted API"
    assert "test-key" not in status.line()


def test_an_explicit_setting_wins(tiny_zerank_path: Path, tiny_cross_encoder: Path) -> None:
    s = replace(
        Settings(),
        reranker="zerank",
        reranker_model=str(tiny_zerank_path),
        reranker_device="cpu",
        cross_encoder_model=str(tiny_cross_encoder),
    )
    reranker, status = load_reranker(s)
    assert isinstance(reranker, ZerankReranker) and status.choice == ""
    reranker, status = load_reranker(replace(s, reranker="none"))
    assert reranker is None and status.line() == "reranking off"


# -- memory --


def test_fit_problem_says_what_is_needed_and_free() -> None:
    assert fit_problem(None, 10 * GIB, "m", "cpu") is None
    assert fit_problem(GIB, None, "m", "cpu") is None
    assert fit_problem(GIB, 2 * GIB, "m", "cpu") is None
    why = fit_problem(16 * GIB, 15 * GIB, "zeroentropy/zerank-1", "cpu")
    assert why.startswith("zeroentropy/zerank-1 needs about 19.2 GiB of RAM on cpu but only 15.0 GiB is free")


def test_half_precision_checkpoints_double_in_fp32(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 1000)
    (tmp_path / "config.json").write_text('{"torch_dtype": "bfloat16"}')
    assert weights_bytes(tmp_path, full_precision=True) == 2000
    assert weights_bytes(tmp_path, full_precision=False) == 1000
    assert weights_bytes(tmp_path / "missing", full_precision=True) is None


def test_a_model_too_big_for_memory_is_refused(
    monkeypatch: pytest.MonkeyPatch, tiny_zerank_path: Path
) -> None:
    monkeypatch.setattr("search.rerank.memory.available_bytes", lambda device: 1024)
    s = replace(Settings(), reranker="zerank", reranker_model=str(tiny_zerank_path), reranker_device="cpu")
    reranker, status = load_reranker(s)
    assert reranker is None and "GiB of RAM on cpu but only 0.0 GiB is free" in status.reason


def test_the_space_preloads_what_the_default_policy_may_load() -> None:
    """README front matter: zerank-1 and the CPU cross-encoder, not the embedder (it is in a wheel)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    front = readme.split("---")[1]
    block = front.split("preload_from_hub:")[1].split(":")[0]
    preload = [line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")]
    s = Settings()
    assert preload == [s.reranker_model, s.cross_encoder_model]
