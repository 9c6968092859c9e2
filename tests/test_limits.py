"""Limits per client address, not only per session: sessions, storage and marks counted over all
sessions of one address; eviction that never takes a session in use and tells the evicted user why;
marks bounded per session. Service level, with `SessionId`s as the app makes them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from search.errors import UploadError
from search.models import Scope
from search.settings import Settings
from tests.app_fixtures import copy_index, make_service, sample_index
from webapp import clients
from webapp.clients import SessionId

FORWARDED = {"client_header": "x-forwarded-for"}


def caller(session: str, address: str) -> SessionId:
    """A session id as `session_of` makes it for a request forwarded from `address`."""
    return SessionId(session, {"X-Forwarded-For": f"{address}, 10.9.9.9"}, peer="127.0.0.1")


def note(folder: Path, name: str, size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"Alpine marmot colony {name}. " * (size // 28 + 1), encoding="utf-8")
    return path


@pytest.fixture
def service_with(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any
):
    """A fresh service on a copy of the sample index, with the given settings."""

    def make(**overrides: Any) -> Any:
        index = copy_index(sample_index(tmp_path_factory, embedder), tmp_path / "index")
        return make_service(tmp_path, index, tiny_zerank_path, embedder, **overrides)

    return make


def test_client_address_from_the_trusted_header_or_the_connection() -> None:
    headers = {"X-Forwarded-For": "203.0.113.7, 10.0.0.2, 10.0.0.3"}
    forwarded = Settings(client_header="x-forwarded-for")
    assert clients.address(headers, "10.0.0.3", forwarded) == "203.0.113.7"
    assert clients.address(
        headers, "10.0.0.3", Settings(client_header="x-forwarded-for", forwarded_hops=2)
    ) == ("10.0.0.2")
    assert clients.address(headers, "10.0.0.3", Settings(client_header="none")) == "10.0.0.3"
    # auto: the forwarded address on Spaces only; elsewhere a client could forge the header
    assert clients.address(headers, "127.0.0.1", Settings(), env={"SPACE_ID": "me/app"}) == "203.0.113.7"
    assert clients.address(headers, "192.0.2.4", Settings(), env={}) == "192.0.2.4"
    # a local connection without a trusted header: the local user, or an undeclared proxy on this
    # host behind which everyone would be one client: no per-client limits
    assert clients.address(headers, "127.0.0.1", Settings(), env={}) is None
    assert clients.address({}, None, forwarded) == clients.UNKNOWN
    assert clients.client_of("plain-session", forwarded) is None  # in-process: no per-client limits


def test_window_counts_per_client_and_forgets_old_amounts() -> None:
    window = clients.Window(seconds=10)
    window.add("a", 5, now=100.0)
    window.add("a", 7, now=105.0)
    window.add("b", 1, now=105.0)
    assert window.used("a", now=106.0) == 12 and window.used("b", now=106.0) == 1
    assert window.used("a", now=112.0) == 7


def test_a_session_in_use_is_never_evicted_and_the_newcomer_is_told_why(
    service_with: Any, tmp_path: Path
) -> None:
    service = service_with(max_upload_storage_mb=0.01)
    report = service.ingest("ann", [note(tmp_path / "a", "ann.txt", 6000)], show_progress=False)
    assert report.added == ["ann.txt"]
    report = service.ingest("bob", [note(tmp_path / "b", "bob.txt", 6000)], show_progress=False)
    assert not report.added
    why = report.skipped[0][1]
    assert "max_upload_storage_mb" in why and "session_active_minutes" in why
    assert service.has_uploads("ann")
    assert service.search("ann", Scope.MINE, "marmot").stages  # ann still searches her upload


def test_an_evicted_user_is_told_why_not_that_they_never_uploaded(service_with: Any, tmp_path: Path) -> None:
    service = service_with(max_upload_storage_mb=0.01, session_active_minutes=0.0005)
    service.ingest("ann", [note(tmp_path / "a", "ann.txt", 6000)], show_progress=False)
    time.sleep(0.1)
    assert service.ingest("bob", [note(tmp_path / "b", "bob.txt", 6000)], show_progress=False).added
    with pytest.raises(UploadError) as err:
        service.search("ann", Scope.MINE, "marmot")
    assert "gone" in str(err.value) and "max_upload_storage_mb" in str(err.value)
    assert "not uploaded" not in str(err.value)
    # a session that never uploaded still gets the plain message
    with pytest.raises(UploadError, match="not uploaded any documents"):
        service.search("cy", Scope.MINE, "marmot")


def test_storage_is_capped_per_client_address_over_all_its_sessions(
    service_with: Any, tmp_path: Path
) -> None:
    service = service_with(**FORWARDED, max_client_mb=0.01)
    first = service.ingest(
        caller("s1", "198.51.100.1"), [note(tmp_path / "1", "one.txt", 6000)], show_progress=False
    )
    assert first.added == ["one.txt"]
    # a fresh session from the same address does not get a fresh allowance
    second = service.ingest(
        caller("s2", "198.51.100.1"), [note(tmp_path / "2", "two.txt", 6000)], show_progress=False
    )
    assert not second.added and "max_client_mb" in second.skipped[0][1]
    other = service.ingest(
        caller("s3", "198.51.100.2"), [note(tmp_path / "3", "three.txt", 6000)], show_progress=False
    )
    assert other.added == ["three.txt"]


def test_sessions_per_client_refused_while_in_use_then_the_idlest_makes_room(service_with: Any) -> None:
    service = service_with(**FORWARDED, max_client_sessions=2, session_active_minutes=0.01)
    doc = service.main.backend.documents()[0].doc_id
    for name in ("s1", "s2"):
        service.judge(caller(name, "198.51.100.5"), Scope.MAIN, "marmot burrows", {doc: 1})
    with pytest.raises(UploadError, match="max_client_sessions"):
        service.judge(caller("s3", "198.51.100.5"), Scope.MAIN, "marmot burrows", {doc: 1})
    # another address is not held back by this one
    service.judge(caller("t1", "198.51.100.6"), Scope.MAIN, "marmot burrows", {doc: 1})
    time.sleep(0.7)  # both sessions of .5 are now idle: the longest idle one makes room
    service.judge(caller("s3", "198.51.100.5"), Scope.MAIN, "marmot burrows", {doc: 1})
    assert len(service.sessions.of_client("198.51.100.5")) == 2
    assert "max_client_sessions" in (service.sessions.gone("s1") or "")
    assert service.sessions.get("s2") is not None


def test_sessions_in_all_are_bounded(service_with: Any) -> None:
    service = service_with(max_sessions=2)
    doc = service.main.backend.documents()[0].doc_id
    service.judge("a", Scope.MAIN, "q", {doc: 1})
    service.judge("b", Scope.MAIN, "q", {doc: 1})
    with pytest.raises(UploadError, match="max_sessions"):
        service.judge("c", Scope.MAIN, "q", {doc: 1})
    assert not (service.sessions.root / "c").exists() and len(list(service.sessions.root.iterdir())) == 2


def test_marks_bounded_per_session_per_client_and_in_query_length(service_with: Any) -> None:
    service = service_with(**FORWARDED, max_session_marks=2, max_client_marks=3, max_mark_query_chars=40)
    docs = [d.doc_id for d in service.main.backend.documents()[:3]]
    ann = caller("ann", "198.51.100.9")
    service.judge(ann, Scope.MAIN, "marmot burrows", {docs[0]: 1, docs[1]: 0})
    service.judge(ann, Scope.MAIN, "marmot burrows", {docs[0]: 2})  # re-grading is not a new mark
    with pytest.raises(UploadError, match="max_session_marks"):
        service.judge(ann, Scope.MAIN, "other query", {docs[2]: 1})
    service.judge(ann, Scope.MAIN, "marmot burrows", {docs[1]: None})  # unmarking frees room
    service.judge(ann, Scope.MAIN, "other query", {docs[2]: 1})
    bob = caller("bob", "198.51.100.9")  # same address, new session: 2 of the address's 3 are used
    service.judge(bob, Scope.MAIN, "q", {docs[0]: 1})
    with pytest.raises(UploadError, match="max_client_marks"):
        service.judge(bob, Scope.MAIN, "q", {docs[1]: 1})
    with pytest.raises(UploadError, match="max_mark_query_chars"):
        service.judge(caller("cy", "198.51.100.10"), Scope.MAIN, "x" * 41, {docs[0]: 1})
    assert service.sessions.get("cy") is None  # refused before anything was created


def test_a_closed_session_frees_its_state(service_with: Any, tmp_path: Path) -> None:
    service = service_with()
    service.ingest("ann", [note(tmp_path / "a", "ann.txt", 2000)], show_progress=False)
    service.remember("ann", Scope.MINE, service.search("ann", Scope.MINE, "marmot"))
    folder = service.sessions.get("ann").folder
    assert service.drop_session("ann")
    assert service.sessions.get("ann") is None and service.last_result("ann") is None and not folder.exists()


def test_first_stages_whose_rerank_step_never_comes_are_bounded(service_with: Any) -> None:
    from webapp.callbacks import KEPT_FIRST_STAGES, Callbacks

    cb = Callbacks(service_with())
    assert cb.service.reranker_status.loaded
    values = {"scope": "main", "top_k": 3, "candidates": 10, "depth": 5, "mode": None, "alpha": None}
    search = cb.form("marmot burrows", rerank=True, **values)
    for i in range(KEPT_FIRST_STAGES + 6):  # clients that searched and left before the rerank step
        cb.first_stage(f"gone-{i}", search)
    assert len(cb._first) == KEPT_FIRST_STAGES and "gone-0" not in cb._first
    assert cb.rerank_stage(f"gone-{KEPT_FIRST_STAGES + 5}", search) is not None  # the newest still reranks
