"""The auto policy decides from the disk whether a reranker can load, before importing torch:
offline with nothing cached the plain search imports neither torch nor sentence-transformers and
says why; with the model in a (fake) hub cache it loads as before."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from search.rerank.load import load_reranker
from search.rerank.local import cached_snapshot, hub_cache_dir, locate
from search.rerank.policy import Facts, choose_reranker
from search.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fake_hub_cache(root: Path, repo_id: str, model: Path, ref: str = "main") -> Path:
    """huggingface_hub's layout: refs/<ref> names a commit whose files are in snapshots/<commit>."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / ref).write_text(COMMIT)
    shutil.copytree(model, repo / "snapshots" / COMMIT)
    return repo / "snapshots" / COMMIT


def test_the_hub_cache_folder_follows_the_environment(tmp_path: Path) -> None:
    assert hub_cache_dir({"HF_HUB_CACHE": str(tmp_path / "c")}) == tmp_path / "c"
    assert hub_cache_dir({"HF_HOME": str(tmp_path / "h")}) == tmp_path / "h" / "hub"
    assert hub_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "huggingface" / "hub"
    both = {"HF_HOME": str(tmp_path / "h"), "HF_HUB_CACHE": str(tmp_path / "c")}
    assert hub_cache_dir(both) == tmp_path / "c"  # the explicit cache wins, as in huggingface_hub


def test_locate_reads_refs_snapshots_and_the_offline_flags(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    snapshot = fake_hub_cache(tmp_path / "hub", "acme/ce", model)
    env = {"HF_HUB_CACHE": str(tmp_path / "hub")}
    assert cached_snapshot("acme/ce", "", env) == snapshot
    assert cached_snapshot("acme/ce", COMMIT, env) == snapshot  # a commit as the revision
    assert cached_snapshot("acme/ce", "v2", env) is None  # a branch never fetched
    assert cached_snapshot("acme/other", "", env) is None
    assert locate("acme/ce", env=env).folder == snapshot
    assert locate(str(model), env=env).folder == model
    assert "does not exist" in locate(str(tmp_path / "nope"), env=env).reason
    gone = locate("acme/other", env={**env, "TRANSFORMERS_OFFLINE": "1"})
    assert (
        gone.folder is None
        and gone.reason == "acme/other is not in the local model cache and TRANSFORMERS_OFFLINE is set"
    )
    online = locate("acme/other", env=env)
    assert online.folder is None and online.reason == ""  # may be downloaded: the loader probes the hub


def test_a_cached_model_loads_offline_under_its_hub_id(
    tmp_path: Path, tiny_cross_encoder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_hub_cache(tmp_path / "hub", "acme/tiny-ce", tiny_cross_encoder)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SEARCH_CACHE_DIR", str(tmp_path / "onnx"))
    s = replace(Settings(), cross_encoder_model="acme/tiny-ce")
    reranker, status = choose_reranker(s, Facts())
    assert reranker is not None and status.loaded and reranker.name == "acme/tiny-ce"
    assert status.line().startswith("tiny-ce on cpu: no GPU for zerank-1")
    assert len(reranker.score("q", ["a", "b c"]).scores) == 2
    torch_ce, _ = load_reranker(replace(s, reranker="cross-encoder", cross_encoder_backend="torch"))
    assert type(torch_ce).__name__ == "CrossEncoderReranker"  # the torch path also loads from the cache


def test_plain_search_offline_with_nothing_cached_imports_no_torch(tmp_path: Path) -> None:
    """The README's plain command in a fresh process: the reason is stated, torch never imported."""
    from ingest.__main__ import main as ingest_main
    from tests.test_ingest import make_corpus

    env = {
        k: v
        for k, v in os.environ.items()
        if k != "ZEROENTROPY_API_KEY" and (not k.startswith("SEARCH_") or k == "SEARCH_CACHE_DIR")
    }
    env.update(
        HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "empty-hub"), PYTHONPATH=str(ROOT), COLUMNS="200"
    )
    index = tmp_path / "idx"
    assert (
        ingest_main([str(make_corpus(tmp_path / "docs")), "--index", str(index)]) == 0
    )  # makes the ONNX file
    code = (
        "import sys; from search.__main__ import main;"
        f"rc = main(['cheese aging caves', '--index', {str(index)!r}]);"
        "heavy = ('torch', 'sentence_transformers', 'transformers');"
        "print('HEAVY', sorted(m for m in heavy if m in sys.modules));"
        "sys.exit(rc)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "HEAVY []" in out.stdout
    assert (
        "ms-marco-MiniLM-L6-v2 did not load: cross-encoder/ms-marco-MiniLM-L6-v2 is not in the local model "
        "cache and HF_HUB_OFFLINE is set" in " ".join(out.stdout.split())  # the CLI wraps long lines
    )
    assert "Not reranked" in out.stdout and "cheese" in out.stdout
