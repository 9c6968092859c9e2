"""The backend contract, on both engines (local files; embedded Milvus): round trip, incremental
update and removal, atomic swap under failure and under SIGKILL, clear errors. Assertions are on
order and membership, never on score values (BM25 formulas differ between engines)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from search.backends.base import DocumentInfo, DocumentUpdate
from search.backends.local import LocalBackend, LocalWriter, store, vectors
from search.errors import IndexMismatchError, IndexNotFoundError, SearchError
from search.models import Chunk

DIM = 8


def update(doc: str, n: int, seed: int = 0, word: str = "alpha") -> DocumentUpdate:
    rng = np.random.default_rng(seed)
    chunks = [
        Chunk(f"{doc}:{i:05d}", doc, f"{doc}.txt", doc, f"{word} text {doc} part {i}") for i in range(n)
    ]
    vecs = rng.normal(size=(n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return DocumentUpdate(DocumentInfo(doc, f"{doc}.txt", doc, f"hash-{doc}-{seed}", 0, n), chunks, vecs)


MANIFEST = {"embedding": {"model": "m", "dim": DIM}, "chunking": {"tokens": 200, "overlap": 32}}


def test_round_trip_and_search(engine, tmp_path):
    writer = engine.writer(tmp_path)
    with writer.locked():
        writer.commit(set(), [update("a", 3), update("b", 2, seed=1, word="beta")], MANIFEST)
    backend = engine.open(tmp_path)
    assert len(backend) == 5
    assert {d.doc_id for d in backend.documents()} == {"a", "b"}
    top = backend.lexical_search("beta", 10)
    assert {c for c, _ in top} == {"b:00000", "b:00001"}
    vec = update("b", 2, seed=1).vectors[1]
    assert backend.vector_search(vec, 1)[0][0] == "b:00001"
    assert backend.get_chunks(["a:00002"])[0].text == "alpha text a part 2"
    assert backend.manifest["counts"] == {"documents": 2, "chunks": 5, "pages": 0}
    assert backend.lexical_search("the of and", 10) == []  # stop words only: nothing, no error
    # the analyzer that decides highlighting: stemmed, stop words dropped, as BM25 matched
    assert backend.analyze("The Batteries of storage") == ["batteri", "storag"]
    assert backend.analyze("the of and") == []


def test_leftovers_of_an_interrupted_write_are_removed_at_start_up(engine, tmp_path):
    writer = engine.writer(tmp_path)
    with writer.locked():
        writer.commit(set(), [update("a", 2)], MANIFEST)
    assert writer.remove_leftovers() == 0  # nothing to clean after a finished write
    assert len(engine.open(tmp_path)) == 2


def test_chunks_come_back_whole_and_in_the_order_asked(engine, tmp_path):
    chunks = [
        Chunk("p:00000", "p", "/d/report.pdf", "Annual report", "Storage grew.", 3, 4, 0, 13),
        Chunk("p:00001", "p", "/d/report.pdf", "", "Untitled part ünïcode", None, None, 13, 34),
    ]
    vecs = np.eye(2, DIM, dtype=np.float32)
    info = DocumentInfo("p", "/d/report.pdf", "Annual report", "h", 4, 2)
    engine.writer(tmp_path).commit(set(), [DocumentUpdate(info, chunks, vecs)], MANIFEST)
    backend = engine.open(tmp_path)
    assert backend.get_chunks(["p:00001", "p:00000"]) == chunks[::-1]
    assert backend.documents() == [info]
    with pytest.raises(KeyError):
        backend.get_chunks(["nowhere"])


def test_incremental_update_keeps_reuses_and_removes(engine, tmp_path):
    writer = engine.writer(tmp_path)
    writer.commit(set(), [update("a", 3), update("b", 2, seed=1), update("d", 2, seed=4)], MANIFEST)
    # keep a (its stored vectors), change d, drop b, add c
    writer.commit(
        {"a"}, [update("c", 1, seed=2, word="delta"), update("d", 1, seed=5, word="gamma")], MANIFEST
    )
    backend = engine.open(tmp_path)
    assert [c.doc_id for c in backend.all_chunks()] == ["a", "a", "a", "c", "d"]
    assert {d.doc_id: d.content_hash for d in backend.documents()} == {
        "a": "hash-a-0",
        "c": "hash-c-2",
        "d": "hash-d-5",
    }
    for i, vec in enumerate(update("a", 3).vectors):
        assert backend.vector_search(vec, 1)[0][0] == f"a:{i:05d}"
    assert [c for c, _ in backend.lexical_search("gamma", 10)] == ["d:00000"]
    assert [c for c, _ in backend.lexical_search("delta", 10)] == ["c:00000"]
    with pytest.raises(KeyError):  # d's second chunk went with its old version
        backend.get_chunks(["d:00001"])
    assert writer.existing()[1].keys() == {"a", "c", "d"}


def test_keep_reuses_the_stored_vectors_exactly(tmp_path):
    writer = LocalWriter(tmp_path)
    writer.commit(set(), [update("a", 3), update("b", 2, seed=1)], MANIFEST)
    writer.commit({"a"}, [update("c", 1, seed=2)], MANIFEST)
    backend = LocalBackend.open(tmp_path)
    np.testing.assert_array_equal(
        np.load(backend.folder / store.EMBEDDINGS)[:3], update("a", 3).vectors.astype(np.float32)
    )


def _break_mid_write(engine, monkeypatch):
    """Make the write fail after the chunks are written and before readers are switched."""

    def broken(*args, **kwargs):
        raise OSError("disk full")

    if engine.name == "local":
        monkeypatch.setattr(vectors, "save", broken)
    else:
        from search.backends.milvus import schema

        monkeypatch.setattr(schema, "docs_rows", broken)


def test_failure_while_writing_leaves_the_previous_index(engine, tmp_path, monkeypatch):
    writer = engine.writer(tmp_path)
    writer.commit(set(), [update("a", 3)], MANIFEST)
    reader = engine.open(tmp_path)
    _break_mid_write(engine, monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        writer.commit(set(), [update("b", 2)], MANIFEST)
    assert [d.doc_id for d in engine.open(tmp_path).documents()] == ["a"]
    assert reader.vector_search(update("a", 3).vectors[2], 1)[0][0] == "a:00002"
    if engine.name == "local":
        assert not list(tmp_path.glob(".tmp-v-*")), "the half-written version folder is cleaned up"
    else:
        live = reader.collection
        assert sorted(writer.client.list_collections()) == [live, live + "_docs"], "half-built one dropped"


def test_a_reader_keeps_its_version_while_a_new_one_is_published(engine, tmp_path):
    writer = engine.writer(tmp_path)
    writer.commit(set(), [update("a", 2)], MANIFEST)
    old = engine.open(tmp_path)
    writer.commit(set(), [update("b", 3, word="beta")], MANIFEST)
    assert old.vector_search(update("a", 2).vectors[1], 1)[0][0] == "a:00001"
    assert old.get_chunks(["a:00001"])[0].doc_id == "a"
    new = engine.open(tmp_path)
    assert [d.doc_id for d in new.documents()] == ["b"]
    assert {c for c, _ in new.vector_search(update("a", 2).vectors[1], 5)} <= {
        "b:00000",
        "b:00001",
        "b:00002",
    }


KILL_SCRIPT = """
import sys; sys.path.insert(0, {cwd!r})
from pathlib import Path
from tests.test_index_store import update, MANIFEST
from search.backends import open_writer
from search.settings import Settings
w = open_writer(Settings(index_dir=Path({path!r}), backend={name!r}))
i = 0
while True:
    i += 1
    w.commit(set(), [update(f"d{{i}}", 400, seed=i)], MANIFEST)
    print(i, flush=True)
"""


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the writer and everything it started (the embedded Milvus server), then wait for all."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(200):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("the killed writer's process group did not exit")


def test_sigkill_at_any_moment_leaves_a_loadable_index(engine, tmp_path):
    """Kill a writer that commits in a loop at random moments after its first commit; every time the
    index must load with one whole version (the last published), and answer searches."""
    engine.writer(tmp_path).commit(set(), [update("seed", 50)], MANIFEST)
    engine.release()  # Milvus Lite: one process at a time per file
    script = textwrap.dedent(KILL_SCRIPT.format(cwd=os.getcwd(), path=str(tmp_path), name=engine.name))
    rng = np.random.default_rng(0)
    for delay in rng.uniform(0.0, 1.5, size=5 if engine.name == "local" else 3):  # Milvus: ~9 s a round
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"1", "the writer died before its first commit"
        time.sleep(float(delay))  # somewhere inside a later commit (or between two)
        _kill_group(proc)
        backend = engine.open(tmp_path)
        assert len(backend) == 400
        docs = backend.documents()
        assert len(docs) == 1 and docs[0].chunks == len(backend) and docs[0].doc_id.startswith("d")
        doc = docs[0].doc_id  # "d<i>", written with seed i: its vectors are known
        assert (
            backend.vector_search(update(doc, 400, seed=int(doc[1:])).vectors[17], 1)[0][0] == f"{doc}:00017"
        )
        assert backend.lexical_search("part 17", 1)[0][0] == f"{doc}:00017"
        engine.release()


def test_missing_index_says_what_to_do(engine, tmp_path):
    with pytest.raises(IndexNotFoundError, match="python -m ingest"):
        engine.open(tmp_path / "nowhere")
    assert engine.writer(tmp_path / "nowhere").existing() == ({}, {})


def test_index_of_another_format_version_is_refused(tmp_path):
    writer = LocalWriter(tmp_path)
    writer.commit(set(), [update("a", 1)], MANIFEST)
    folder = store.current_version(tmp_path)
    manifest = json.loads((folder / store.MANIFEST).read_text())
    manifest["format_version"] = 999
    (folder / store.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="rebuild"):
        LocalBackend.open(tmp_path)


def test_old_versions_are_pruned(engine, tmp_path):
    writer = engine.writer(tmp_path)
    for i in range(4):
        writer.commit(set(), [update(f"d{i}", 1)], MANIFEST)
    if engine.name == "local":
        assert len(list(tmp_path.glob("v-*"))) == store.KEEP_VERSIONS
    else:
        assert len(writer.client.list_collections()) == 2 * 2, "live and previous, each with its docs"


def test_second_writer_is_refused_while_one_holds_the_lock(engine, tmp_path):
    writer = engine.writer(tmp_path)
    with (
        writer.locked(),
        pytest.raises(SearchError, match="another ingest"),
        engine.writer(tmp_path).locked(),
    ):
        pass


def test_index_from_another_embedding_model_is_refused(engine, tmp_path):
    from search.pipeline import Searcher

    engine.writer(tmp_path).commit(set(), [update("a", 1)], MANIFEST)
    settings = engine.settings(tmp_path, embedding_model="some/other-model")
    fake = type("E", (), {"name": "some/other-model"})()
    with pytest.raises(IndexMismatchError, match="built with embedding model 'm'"):
        Searcher(engine.open(tmp_path), fake, settings)  # type: ignore[arg-type]


def test_hnsw_index_finds_the_same_neighbours_as_exact_search(tmp_path):
    flat, hnsw = LocalWriter(tmp_path / "flat"), LocalWriter(tmp_path / "hnsw", vector_index="hnsw")
    docs = [update(f"d{i}", 20, seed=i) for i in range(10)]
    flat.commit(set(), docs, MANIFEST)
    hnsw.commit(set(), docs, MANIFEST)
    a, b = LocalBackend.open(tmp_path / "flat"), LocalBackend.open(tmp_path / "hnsw", ef_search=200)
    assert b.manifest["vectors"]["kind"] == "hnsw"
    rng = np.random.default_rng(3)
    for _ in range(10):
        q = rng.normal(size=DIM).astype(np.float32)
        q /= np.linalg.norm(q)
        assert [c for c, _ in a.vector_search(q, 5)] == [c for c, _ in b.vector_search(q, 5)]


def test_staging_left_by_an_interrupted_write_is_removed_at_the_next_write(tmp_path):
    """A kill during a write leaves a fresh `.tmp-v-*` folder; it used to stay until a later write
    found it older than an hour."""
    writer = LocalWriter(tmp_path)
    with writer.locked():
        writer.commit(set(), [update("a", 2)], MANIFEST)
    leftover = store.new_version_folder(tmp_path)  # what a killed writer leaves, just now
    (leftover / store.CHUNKS).write_text("half a file", encoding="utf-8")
    (tmp_path / ".CURRENT.0badc0de.tmp").write_text("v-half\n", encoding="utf-8")
    live = (tmp_path / store.CURRENT).read_text()

    with LocalWriter(tmp_path).locked():
        assert not leftover.exists() and not (tmp_path / ".CURRENT.0badc0de.tmp").exists()
    assert (tmp_path / store.CURRENT).read_text() == live
    assert len(LocalBackend.open(tmp_path)) == 2


def test_a_live_writers_staging_folder_is_not_removed(tmp_path):
    writer = LocalWriter(tmp_path)
    with writer.locked():
        staging = store.new_version_folder(tmp_path)  # a write in progress
        assert LocalWriter(tmp_path).remove_leftovers() == 0  # the other writer holds the lock
        assert staging.is_dir()
    assert LocalWriter(tmp_path).remove_leftovers() == 1  # now it is a leftover
    assert not staging.exists()
