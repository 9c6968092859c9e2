"""Fair uploads: a long ingest in one session does not hold another session's small one (turns on
the embedding model, first come first served); each upload's budget (chunks, seconds) refuses or
cuts with a reason naming the setting; no session folder is deleted under a running upload."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.budget import Budget, cut_rows
from search.models import Scope
from search.settings import Settings
from tests.app_fixtures import copy_index, make_service, sample_index
from webapp.scheduler import TURN_CHUNKS, TURN_SECONDS, EmbedTurns, FolderLocks, TurnEmbedder, turn_size
from webapp.sessions import Sessions

WORDS = [
    "harbour",
    "lantern",
    "river",
    "garden",
    "library",
    "window",
    "orchard",
    "copper",
    "meadow",
    "signal",
    "ferry",
    "quarry",
]


def prose(sentences: int) -> str:
    """Ordinary varied text (never junk): about 8 sentences per 200-token chunk."""
    return " ".join(
        f"{WORDS[i % 12].capitalize()} {i} stood by the {WORDS[(i * 5) % 12]} near the {WORDS[(i * 7) % 12]}."
        for i in range(sentences)
    )


# --- the pieces ---------------------------------------------------------------------------------


def test_turns_are_first_come_first_served() -> None:
    """The thread that just had a turn queues behind one already waiting (round-robin), where a
    plain lock would let it take the model again at once."""
    turns, order = EmbedTurns(), []

    def other() -> None:
        with turns.turn():
            order.append("other")

    with turns.turn():
        order.append("long 1")
        thread = threading.Thread(target=other)
        thread.start()
        while turns.waiting < 1:
            time.sleep(0.001)
    with turns.turn():  # asks again at once: must come after "other"
        order.append("long 2")
    thread.join(5)
    assert order == ["long 1", "other", "long 2"] and turns.granted == 3


def test_turns_are_sized_from_the_measured_speed() -> None:
    assert [turn_size(None), turn_size(0.01), turn_size(0.1), turn_size(0.3), turn_size(5.0)] == [
        1,
        TURN_CHUNKS,
        int(TURN_SECONDS / 0.1),
        1,
        1,
    ]

    class Slow:
        dim = 2

        def __init__(self) -> None:
            self.calls: list[int] = []

        def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
            self.calls.append(len(texts))
            time.sleep(0.3 * len(texts))  # 0.3 s a chunk: one chunk per turn
            return np.ones((len(texts), 2), dtype=np.float32)

    inner, turns = Slow(), EmbedTurns()
    vectors = TurnEmbedder(inner, turns).embed(["a", "b", "c"])  # type: ignore[arg-type]
    assert vectors.shape == (3, 2) and inner.calls == [1, 1, 1] and turns.granted == 3


def test_folder_locks_are_per_key_and_leave_nothing_behind() -> None:
    locks = FolderLocks()
    with locks.hold("a") as held:
        assert held and locks.busy("a")
        with locks.hold("a", blocking=False) as again, locks.hold("b", blocking=False) as other:
            assert not again and other  # not re-entrant; another key is free
    assert len(locks) == 0 and not locks.busy("a")


def test_idle_sweep_and_eviction_skip_a_session_with_a_running_upload(tmp_path: Path) -> None:
    locks = FolderLocks()
    # session_active_minutes=0: every session counts as not in use, so only the upload's hold protects
    settings = Settings(session_active_minutes=0)
    sessions = Sessions(tmp_path / "sessions", settings, lambda k: locks.hold(k, blocking=False))
    busy, idle = sessions.open("busy"), sessions.open("idle")
    for found in (busy, idle):
        found.files.mkdir(parents=True)
        (found.files / "a.txt").write_text("x" * 1000)
    with locks.hold(busy.key):
        assert sessions.sweep(max_idle_s=-1) == 1  # only the idle one
        assert busy.folder.exists() and not idle.folder.exists()
        assert not sessions.evict_idle("someone", 10**9, 0, lambda: 10**9)  # nothing makes it fit
        assert busy.folder.exists()
    assert not sessions.evict_idle("someone", 10**9, 0, lambda: 10**9)
    assert not busy.folder.exists() and "max_upload_storage_mb" in (sessions.gone("busy") or "")


def test_cut_rows_keeps_whole_files_then_a_prefix() -> None:
    assert cut_rows([3, 5, 2], 10) == [3, 5, 2]
    assert cut_rows([3, 5, 2], 6) == [3, 3, 0]
    assert cut_rows([3, 5, 2], 0) == [0, 0, 0]


def test_upload_budget_names_its_setting() -> None:
    upload = Budget.for_upload(Settings(max_upload_chunks=100, max_ingest_chunks=20_000))
    assert upload.chunks == 100 and "max_upload_chunks=100" in (upload.chunk_refusal(60, 50) or "")
    assert upload.chunk_refusal(50, 50) is None
    capped = Budget.for_upload(Settings(max_upload_chunks=0, max_ingest_chunks=500))
    assert capped.chunks == 500 and capped.chunks_setting == "max_ingest_chunks"
    assert "max_upload_seconds=300" in Budget.for_upload(Settings()).time_reason()
    assert not Budget(seconds=0).over_time() and Budget(seconds=1e-9, started=0.0).over_time()


# --- through the service -------------------------------------------------------------------------


class GatedEmbedder:
    """The real embedder, except in the thread named "big-upload": there each call returns random
    unit vectors after up to `pause` s, cut short once `small_done` is set. An unfair scheduler
    (one lock for the whole ingest) makes the big upload finish first; a fair one lets the small
    upload through between two of its turns."""

    def __init__(self, inner: Any, pause: float = 0.1) -> None:
        self.inner = inner
        self.pause = pause
        self.small_done = threading.Event()
        self.log: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if threading.current_thread().name != "big-upload":
            self.log.append("small")
            return self.inner.embed(texts)
        self.log.append("big")
        self.small_done.wait(self.pause)
        vectors = np.random.default_rng(len(self.log)).normal(size=(len(texts), self.inner.dim))
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def gated(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any
) -> Any:
    index = copy_index(sample_index(tmp_path_factory, embedder), tmp_path / "index")
    gate = GatedEmbedder(embedder, pause=1.0)
    return make_service(tmp_path, index, tiny_zerank_path, gate), gate


def test_a_small_upload_finishes_while_a_long_one_is_still_embedding(gated: Any, tmp_path: Path) -> None:
    service, gate = gated
    big = tmp_path / "in" / "big.txt"
    big.parent.mkdir()
    big.write_text(prose(1200), encoding="utf-8")  # ~85 chunks: ~11 turns of 8
    small = tmp_path / "in" / "one line.txt"
    small.write_text("The Zanzibar clove harvest doubled in 2024.", encoding="utf-8")
    result: dict[str, Any] = {}

    def upload_big() -> None:
        result["big"] = service.ingest("alice", [big], show_progress=False)

    thread = threading.Thread(target=upload_big, name="big-upload")
    thread.start()
    for _ in range(600):  # wait (up to 60 s) until the big upload is embedding
        if "big" in gate.log:
            break
        time.sleep(0.1)
    assert "big" in gate.log
    report = service.ingest("bob", [small], show_progress=False)
    big_turns_then = gate.log.count("big")
    gate.small_done.set()
    alive_then = thread.is_alive()
    thread.join(120)

    assert report.added == ["one line.txt"] and not report.skipped
    assert alive_then, "the small upload waited for the whole long one"
    big_report = result["big"]
    assert big_report.added == ["big.txt"] and big_report.new_chunks >= 40
    assert gate.log.count("big") > big_turns_then  # the long one went on after the small one
    hit = service.search("bob", Scope.MINE, "Zanzibar clove harvest", rerank=False).stages["fused"][0]
    assert hit.chunk.citation() == "one line.txt"
    assert len(service.documents("alice", Scope.MINE)) == 1


def test_an_upload_over_its_budget_is_refused_or_cut_with_the_setting_named(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any
) -> None:
    index = copy_index(sample_index(tmp_path_factory, embedder), tmp_path / "index")
    folder = tmp_path / "in"
    folder.mkdir()
    long, short, last = folder / "long.txt", folder / "short.txt", folder / "zz last.txt"
    long.write_text(prose(560), encoding="utf-8")  # ~40 chunks: 5 turns of 8
    short.write_text("Saffron crocus fields bloom in October.", encoding="utf-8")
    last.write_text("Copper ferries cross the quarry lake.", encoding="utf-8")

    chunks = make_service(tmp_path / "a", index, tiny_zerank_path, embedder, max_upload_chunks=5)
    report = chunks.ingest("carol", [long, short], show_progress=False)
    assert report.added == ["short.txt"]
    ((name, reason),) = report.skipped
    assert name == "long.txt" and "max_upload_chunks=5" in reason

    slow = GatedEmbedder(embedder, pause=0.5)
    settings = {"max_upload_seconds": 1.5, "isolate_loading": False}  # loading takes no time here
    timed = make_service(tmp_path / "b", index, tiny_zerank_path, slow, **settings)
    result: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: result.update(r=timed.ingest("dave", [long, last], show_progress=False)),
        name="big-upload",  # every embedding call of this upload pauses 0.5 s
    )
    thread.start()
    thread.join(120)
    report = result["r"]
    assert report.added == ["long.txt"]
    ((source, note),) = report.warnings
    assert source == "long.txt" and "max_upload_seconds=1.5" in note
    kept, total = map(int, re.fullmatch(r"cut: only its first (\d+) of (\d+) passages.*", note).groups())
    ((name, reason),) = report.skipped
    assert name == "zz last.txt" and "max_upload_seconds=1.5" in reason
    (doc,) = timed.documents("dave", Scope.MINE)
    assert 0 < doc.chunks == kept < total
    assert not (timed.sessions.get("dave").files / "zz last.txt").exists()  # no copy of what was left out
