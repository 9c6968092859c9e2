"""Set-up shared by the app tests (test_app, test_browser, test_service): the sample index built once
per test session, one `SearchService` over it with the tiny random-weight zerank (so reranking
really moves hits, offline), and the app launched in-process on a free port.

Fixtures here are imported by the test modules that use them. Pytest would build a session fixture
once per importing module, so the expensive objects are also cached in `_CACHE` (one per run).
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from search.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO / "data" / "sample"
#: The sample folders the tests index: the PDF reports the sample queries aim at plus a few topics
#: around them, so the index builds in seconds rather than the half minute the whole corpus takes.
SAMPLE_SUBSET = ("reports", "energy", "health", "cooking")
_CACHE: dict[str, Any] = {}

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_settings(root: Path, reranker_path: Path, **overrides: Any) -> Settings:
    """Settings for a test app: everything under `root`, the tiny zerank as reranker."""
    base = Settings(
        index_dir=root / "index",
        sample_dir=SAMPLE_DIR,
        upload_dir=root / "uploads",
        page_cache_dir=root / "page-cache",
        reranker="zerank",
        reranker_model=str(reranker_path),
        reranker_device="cpu",
    )
    return replace(base, **overrides)


def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    """Part of the sample corpus (`SAMPLE_SUBSET`) indexed once per test session; returns the index
    folder, for reading only (copy it with `copy_index` before writing to it)."""
    if "sample_index" not in _CACHE:
        from ingest.load import MB
        from ingest.pipeline import file_sources, run_ingest
        from search.backends import open_writer

        root = tmp_path_factory.mktemp("sample-index")
        settings = Settings(index_dir=root / "index", sample_dir=SAMPLE_DIR)
        folders = [SAMPLE_DIR / name for name in SAMPLE_SUBSET if (SAMPLE_DIR / name).is_dir()]
        sources, skipped = file_sources(folders, int(settings.max_file_mb * MB))
        report = run_ingest(sources, open_writer(settings), settings, embedder=embedder, show_progress=False)
        assert report.documents and not skipped, report.summary()
        write_subset_judgments(settings.index_dir, root / "sample_queries.json")
        _CACHE["sample_index"] = settings.index_dir
    return _CACHE["sample_index"]


def subset_queries() -> list[dict]:
    """The sample's example queries whose answers lie in `SAMPLE_SUBSET`: the judged queries of the
    test index (a search for one of them computes NDCG)."""
    import json

    entries = json.loads((SAMPLE_DIR.parent / "sample_queries.json").read_text(encoding="utf-8"))

    def inside(entry: dict) -> bool:
        sources = [entry["source"], *(t["source"] for t in entry.get("also", []))]
        return all(src.split("/", 1)[0] in SAMPLE_SUBSET for src in sources)

    return [e for e in entries if inside(e)]


def write_subset_judgments(index_dir: Path, queries_path: Path) -> None:
    """The sample's shipped judgments for the queries whose answers lie in `SAMPLE_SUBSET`, as the
    app writes them beside the whole sample's index."""
    import json

    from ingest.sample_judgments import make_sample_judgments
    from search.backends import open_backend

    queries_path.write_text(json.dumps(subset_queries()), encoding="utf-8")
    backend = open_backend(Settings(index_dir=index_dir, sample_dir=SAMPLE_DIR))
    make_sample_judgments(backend, index_dir, SAMPLE_DIR, queries_path)


def copy_index(index: Path, dest: Path) -> Path:
    shutil.copytree(index, dest, ignore=shutil.ignore_patterns(".lock"))
    return dest


def make_service(root: Path, index: Path, reranker_path: Path, embedder: Any, **overrides: Any) -> Any:
    """A `SearchService` on `index` (not copied), uploads under `root`, with the given embedder
    (conftest's `embedder` fixture: the model is loaded once per test run)."""
    from webapp.service import SearchService

    settings = app_settings(root, reranker_path, index_dir=index, **overrides)
    return SearchService.open(settings, build_missing=False, embedder=embedder)


def shared_service(tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any) -> Any:
    """One per-session-uploads service on the sample index, for every test that only reads it."""
    if "service" not in _CACHE:
        root = tmp_path_factory.mktemp("app")
        index = sample_index(tmp_path_factory, embedder)
        _CACHE["service"] = make_service(root, index, tiny_zerank_path, embedder)
    return _CACHE["service"]


@contextmanager
def running_app(service: Any, gradio_tmp: Path) -> Iterator[str]:
    """The app for `service`, launched in-process on a free port, its uploads under `gradio_tmp`;
    yields its local URL."""
    before = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(gradio_tmp)
    import app

    demo = app.build_app(service)
    kwargs = app.launch_kwargs(service.settings)
    kwargs.update(server_name="127.0.0.1", server_port=free_port(), quiet=True, prevent_thread_lock=True)
    _, url, _ = demo.launch(**kwargs)
    try:
        yield url
    finally:
        demo.close()
        if before is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = before


def client(url: str) -> Any:
    """A gradio_client with telemetry off (its own session, as a separate user would have)."""
    from gradio_client import Client

    return Client(url, analytics_enabled=False, verbose=False)
