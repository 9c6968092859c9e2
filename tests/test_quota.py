"""Bounded storage for uploads: per-session limits, a global cap with oldest-idle eviction, and
Gradio's cached copies deleted once staged."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from search.errors import UploadError
from search.models import Scope
from tests.app_fixtures import copy_index, make_service, sample_index
from webapp import quota
from webapp.forms import discard_uploads


def text_files(folder: Path, count: int, size: int = 400) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        path = folder / f"note-{i}.txt"
        path.write_text(f"Note {i} about alpine marmot colony number {i}. " * (size // 48), encoding="utf-8")
        out.append(path)
    return out


def test_admit_counts_documents_and_bytes_and_names_the_limit(tmp_path: Path) -> None:
    files = text_files(tmp_path / "in", 3, size=1000)
    ok, refused = quota.admit(files, indexed=1, used_bytes=0, max_documents=2, max_mb=1)
    assert [p.name for p in ok] == ["note-0.txt"]
    assert all("max_session_documents" in why for _, why in refused) and len(refused) == 2
    ok, refused = quota.admit(files, indexed=0, used_bytes=0, max_documents=10, max_mb=1500 / 1024 / 1024)
    assert len(ok) == 1 and all("max_session_mb" in why for _, why in refused)
    # re-uploading a file the session already has is an update, not a new document
    ok, _ = quota.admit(files[:1], indexed=2, used_bytes=0, max_documents=2, max_mb=1, known={"note-0.txt"})
    assert len(ok) == 1


def test_session_limits_and_the_global_cap(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any
) -> None:
    index = copy_index(sample_index(tmp_path_factory, embedder), tmp_path / "index")
    service = make_service(
        tmp_path,
        index,
        tiny_zerank_path,
        embedder,
        max_session_documents=2,
        max_upload_storage_mb=0.01,
        session_active_minutes=0.0005,  # 30 ms: "ann" counts as idle by the time "bob" uploads
    )
    report = service.ingest("ann", text_files(tmp_path / "a", 3, size=2000), show_progress=False)
    assert len(report.added) == 2
    assert [why for _, why in report.skipped] == [
        "this session already holds 2 documents (max_session_documents)"
    ]
    time.sleep(0.05)
    report = service.ingest("bob", text_files(tmp_path / "b", 1, size=2000), show_progress=False)
    assert report.added == ["note-0.txt"]
    assert not service.has_uploads("ann")  # the longest-idle session made room for the newcomer
    with pytest.raises(UploadError, match=r"removed to make room.*max_upload_storage_mb"):
        service.search("ann", Scope.MINE, "marmot")
    big = tmp_path / "c" / "big.txt"
    big.parent.mkdir()
    big.write_text("marmot " * 5000, encoding="utf-8")
    report = service.ingest("cy", [big], show_progress=False)
    assert not report.added and "max_upload_storage_mb" in report.skipped[0][1]


def test_gradio_copies_are_deleted_once_staged_and_nothing_outside_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "gradio"
    inside = text_files(cache / "abc123", 2)
    outside = text_files(tmp_path / "mine", 1)
    assert discard_uploads([*inside, *outside, cache / "missing.txt"], cache) == 2
    assert not any(p.exists() for p in inside) and outside[0].exists()
