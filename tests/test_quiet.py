"""The command lines print one line per step: no faiss loader attempts, no bm25s debug lines, no
model-loading bars, and no progress bars when the output is not a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from search.quiet import progress_wanted
from tests.test_ingest import make_corpus

ROOT = Path(__file__).resolve().parent.parent
NOISE = ("faiss", "bm25s", "DEBUG", "INFO", "Loading weights", "Batches", "load + chunk", "it/s", "%|")


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCH_")}
    env.update(HF_HUB_OFFLINE="1", SEARCH_INDEX_DIR=str(tmp_path / "index"), SEARCH_RERANKER="none")
    return env


def test_cli_stderr_has_no_library_noise(tmp_path):
    env = _env(tmp_path)
    root = make_corpus(tmp_path / "docs")
    ingest = _run("-m", "ingest", str(root), env=env)
    assert ingest.returncode == 0, ingest.stderr
    assert "5 documents" in ingest.stdout
    assert not [word for word in NOISE if word in ingest.stderr], ingest.stderr

    search = _run("-m", "search", "cheese aging caves", "--no-rerank", env=env)
    assert search.returncode == 0, search.stderr
    assert "cheese.pdf" in search.stdout
    assert search.stderr.strip() == ""


def test_info_logging_shows_no_library_chatter(tmp_path):
    """An app logs at INFO: opening an index and searching must still not bring faiss's loader
    attempts, bm25s's debug lines, sentence-transformers' model path or any bar."""
    env = _env(tmp_path)
    root = make_corpus(tmp_path / "docs")
    script = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')\n"
        "from ingest.__main__ import main\n"
        "assert main([sys.argv[1]]) == 0\n"
        "from search.pipeline import Searcher\n"
        "from search.settings import Settings\n"
        "result = Searcher.open(Settings.from_env(), with_reranker=False).search('cheese', rerank=False)\n"
        "print(result.stages['fused'][0].chunk.citation())\n"
    )
    run = _run("-c", script, str(root), env=env)
    assert run.returncode == 0, run.stderr
    assert "cheese.pdf" in run.stdout
    chatter = ("faiss", "bm25s", "sentence_transformers", "Loading weights", "Batches", "it/s", "%|")
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert not [line for line in lines if any(word in line for word in chatter)], run.stderr


def test_progress_only_on_a_terminal(monkeypatch, tmp_path):
    with open(tmp_path / "log", "w") as log:
        monkeypatch.setattr(sys, "stderr", log)
        assert progress_wanted() is False
    monkeypatch.setattr(sys, "stderr", _Tty())
    assert progress_wanted() is True
    assert progress_wanted(False) is False


class _Tty:
    def isatty(self) -> bool:
        return True
