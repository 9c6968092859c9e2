"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines import ENGINES, Engine
from tests.tiny_zerank import build_tiny_zerank


@pytest.fixture(scope="session")
def tiny_zerank_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight zerank stand-in (real Qwen vocabulary), built once per test session."""
    return build_tiny_zerank(tmp_path_factory.mktemp("tiny_zerank"))


@pytest.fixture(scope="session")
def embedder() -> Embedder:  # noqa: F821 - imported lazily
    """The real all-MiniLM-L6-v2 from the wheel, loaded once (~4 s)."""
    from ingest.embed import Embedder
    from search.settings import Settings

    return Embedder(Settings().embedding_model)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each index engine in turn (local files; embedded Milvus); clients closed, servers stopped."""
    handle = Engine(request.param)
    yield handle
    handle.release()
