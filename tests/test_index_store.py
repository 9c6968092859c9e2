"""The local index on disk: round trip, atomic swap under failure and under SIGKILL, clear errors."""

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
from search.errors import IndexMismatchError, IndexNotFoundError
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


def test_round_trip_and_search(tmp_path):
    writer = LocalWriter(tmp_path)
    with writer.locked():
        writer.commit(set(), [update("a", 3), update("b", 2, seed=1, word="beta")], MANIFEST)
    backend = LocalBackend.open(tmp_path)
    assert len(backend) == 5
    assert {d.doc_id for d in backend.documents()} == {"a", "b"}
    top = backend.lexical_search("beta", 10)
    assert {c for c, _ in top} == {"b:00000", "b:00001"}
    vec = update("b", 2, seed=1).vectors[1]
    assert backend.vector_search(vec, 1)[0][0] == "b:00001"
    assert backend.get_chunks(["a:00002"])[0].text == "alpha text a part 2"
    assert backend.manifest["counts"] == {"documents": 2, "chunks": 5, "pages": 0}


def test_keep_reuses_stored_vectors_and_removes_the_rest(tmp_path):
    writer = LocalWriter(tmp_path)
    writer.commit(set(), [update("a", 3), update("b", 2, seed=1)], MANIFEST)
    writer.commit({"a"}, [update("c", 1, seed=2)], MANIFEST)
    backend = LocalBackend.open(tmp_path)
    assert [c.doc_id for c in backend.all_chunks()] == ["a", "a", "a", "c"]
    np.testing.assert_array_equal(
        np.load(backend.folder / store.EMBEDDINGS)[:3], update("a", 3).vectors.astype(np.float32)
    )


def test_failure_while_writing_leaves_the_previous_index(tmp_path, monkeypatch):
    writer = LocalWriter(tmp_path)
    writer.commit(set(), [update("a", 3)], MANIFEST)
    before = (tmp_path / store.CURRENT).read_text()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(vectors, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        writer.commit(set(), [update("b", 2)], MANIFEST)
    assert (tmp_path / store.CURRENT).read_text() == before
    assert [d.doc_id for d in LocalBackend.open(tmp_path).documents()] == ["a"]
    assert not list(tmp_path.glob(".tmp-v-*")), "the half-written version folder is cleaned up"


def test_sigkill_at_any_moment_leaves_a_loadable_index(tmp_path):
    """Kill a writer that commits in a loop at random moments; every time an index must load."""
    writer = LocalWriter(tmp_path)
    writer.commit(set(), [update("seed", 50)], MANIFEST)
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(os.getcwd())!r})
        from tests.test_index_store import update, MANIFEST
        from search.backends.local import LocalWriter
        w = LocalWriter({str(tmp_path)!r})
        i = 0
        while True:
            i += 1
            w.commit(set(), [update(f"d{{i}}", 400, seed=i)], MANIFEST)
            print(i, flush=True)
    """)
    rng = np.random.default_rng(0)
    for delay in rng.uniform(0.05, 1.5, size=6):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        time.sleep(float(delay))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        backend = LocalBackend.open(tmp_path)
        assert len(backend) in (50, 400)
        docs = backend.documents()
        assert len(docs) == 1 and docs[0].chunks == len(backend)


def test_missing_and_mismatched_indexes_say_what_to_do(tmp_path):
    with pytest.raises(IndexNotFoundError, match="python -m ingest"):
        LocalBackend.open(tmp_path / "nowhere")
    writer = LocalWriter(tmp_path)
    writer.commit(set(), [update("a", 1)], MANIFEST)
    folder = store.current_version(tmp_path)
    manifest = json.loads((folder / store.MANIFEST).read_text())
    manifest["format_version"] = 999
    (folder / store.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="rebuild"):
        LocalBackend.open(tmp_path)


def test_old_versions_are_pruned(tmp_path):
    writer = LocalWriter(tmp_path)
    for i in range(5):
        writer.commit(set(), [update(f"d{i}", 1)], MANIFEST)
    assert len(list(tmp_path.glob("v-*"))) == store.KEEP_VERSIONS


def test_second_writer_is_refused_while_one_holds_the_lock(tmp_path):
    from search.errors import SearchError

    writer = LocalWriter(tmp_path)
    with writer.locked(), pytest.raises(SearchError, match="another ingest"), LocalWriter(tmp_path).locked():
        pass


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
