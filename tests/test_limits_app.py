"""Gradio's own upload cache, bounded and cleaned, and per-client limits through the real app
(launched in-process on a free port, clients told apart by X-Forwarded-For as behind a proxy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from search.settings import Settings
from tests.app_fixtures import copy_index, make_service, running_app, sample_index
from webapp import upload_cache

LEFTOVER = "0123456789abcdef0123456789abcdef01234567"  # a sha1-named folder, as Gradio makes them


def test_clear_leftovers_takes_only_what_gradio_makes(tmp_path: Path) -> None:
    (tmp_path / LEFTOVER).mkdir()
    (tmp_path / LEFTOVER / "private.pdf").write_bytes(b"%PDF-1.4 secret")
    (tmp_path / "tmpab12cd34").write_bytes(b"half an upload")
    (tmp_path / "notes.txt").write_text("not Gradio's", encoding="utf-8")
    (tmp_path / "my-folder").mkdir()
    assert upload_cache.clear_leftovers(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-folder", "notes.txt"]


def test_upload_guard_counts_bytes_per_client_and_the_cache(tmp_path: Path) -> None:
    settings = Settings(max_client_upload_mb_per_hour=1, upload_cache_mb=3)
    guard = upload_cache.UploadGuard(app=None, settings=settings, cache=tmp_path)  # type: ignore[arg-type]
    mb = 1024 * 1024
    assert guard.check("a", None)[0] == 411  # type: ignore[index]
    assert guard.check("a", mb // 2) is None and guard.check("a", mb // 2) is None
    status, why = guard.check("a", 1)  # type: ignore[misc]
    assert status == 429 and "max_client_upload_mb_per_hour" in why
    (tmp_path / "held.bin").write_bytes(b"\0" * (3 * mb))
    status, why = guard.check("b", 10)  # type: ignore[misc]
    assert status == 507 and "upload_cache_mb" in why


@pytest.fixture(scope="module")
def limited_app(
    tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any
) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("limits-app")
    index = copy_index(sample_index(tmp_path_factory, embedder), root / "index")
    service = make_service(
        root,
        index,
        tiny_zerank_path,
        embedder,
        client_header="x-forwarded-for",
        max_client_sessions=2,
        max_client_upload_mb_per_hour=0.05,
    )
    gradio_tmp = root / "gradio"
    (gradio_tmp / LEFTOVER).mkdir(parents=True)  # a private upload's copy left by a killed server
    (gradio_tmp / LEFTOVER / "private.txt").write_text("the tenant's secret", encoding="utf-8")
    with running_app(service, gradio_tmp) as url:
        yield url, gradio_tmp


def test_a_crash_leftover_is_gone_and_not_served_after_start(limited_app: tuple[str, Path]) -> None:
    url, gradio_tmp = limited_app
    leftover = gradio_tmp / LEFTOVER / "private.txt"
    assert not leftover.exists()
    got = httpx.get(f"{url.rstrip('/')}/gradio_api/file={leftover}")
    assert got.status_code in (403, 404) and "secret" not in got.text


def test_raw_uploads_are_capped_per_client_address(limited_app: tuple[str, Path]) -> None:
    url = limited_app[0].rstrip("/") + "/gradio_api/upload"
    body = b"marmot " * 4000  # 28 KB: two of them pass the 0.05 MB an hour
    sent = [
        httpx.post(url, files={"files": ("a.txt", body)}, headers={"X-Forwarded-For": "203.0.113.1"})
        for _ in range(2)
    ]
    assert sent[0].status_code == 200
    assert sent[1].status_code == 429 and "max_client_upload_mb_per_hour" in sent[1].text
    other = httpx.post(url, files={"files": ("a.txt", body)}, headers={"X-Forwarded-For": "203.0.113.2"})
    assert other.status_code == 200


def test_new_sessions_from_one_address_are_bounded(limited_app: tuple[str, Path]) -> None:
    from gradio_client import Client

    url = limited_app[0]

    def judge(address: str) -> Any:
        c = Client(url, headers={"X-Forwarded-For": address}, analytics_enabled=False, verbose=False)
        doc = c.predict(api_name="/documents")[0]["doc_id"]
        return c.predict("marmot burrows", doc, 1, api_name="/judge")

    judge("198.51.100.20")
    judge("198.51.100.20")
    with pytest.raises(Exception, match="max_client_sessions"):
        judge("198.51.100.20")
    assert judge("198.51.100.21")["grades"]
