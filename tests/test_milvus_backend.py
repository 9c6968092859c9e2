"""What only the Milvus backend has: its errors, its settings, and a restart of the engine."""

import json
from pathlib import Path

import numpy as np
import pytest

from search.backends.milvus import client as mc
from search.errors import IndexMismatchError, SearchError
from tests.engines import HAS_MILVUS, Engine
from tests.test_index_store import MANIFEST, update

pytestmark = pytest.mark.skipif(not HAS_MILVUS, reason="needs `pip install -e .[milvus]`")


@pytest.fixture
def milvus():
    engine = Engine("milvus")
    yield engine
    engine.release()


def test_an_unreachable_server_is_one_clear_line(milvus, tmp_path, monkeypatch):
    monkeypatch.setattr(mc, "CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(SearchError, match=r"cannot reach the Milvus server at http://127\.0\.0\.1:9/") as err:
        milvus.open(tmp_path, milvus_uri="http://127.0.0.1:9/")
    assert "\n" not in str(err.value) and "milvus_uri" in str(err.value)


def test_embedded_milvus_refuses_hnsw_and_bad_names_before_writing(milvus, tmp_path):
    with pytest.raises(SearchError, match="no HNSW"):
        milvus.writer(tmp_path, vector_index="hnsw")
    with pytest.raises(SearchError, match="not a valid Milvus collection name"):
        milvus.writer(tmp_path, milvus_collection="my-index")
    assert not (tmp_path / mc.DEFAULT_DB).exists()


def test_server_collection_names_follow_the_index_folder():
    a = mc.base_name("", "http://milvus:19530", Path("/data/evals/scifact-1234"))
    b = mc.base_name("", "http://milvus:19530", Path("/data/other/scifact-1234"))
    assert a.startswith("idx_scifact_1234_") and a != b
    assert mc.base_name("docs", "http://milvus:19530", Path("/x")) == "docs"
    assert mc.base_name("", "/x/milvus.db", Path("/x")) == "chunks"


def test_after_a_restart_the_collections_are_loaded_again(milvus, tmp_path):
    milvus.writer(tmp_path).commit(set(), [update("a", 30)], MANIFEST)
    milvus.release()  # stops the embedded engine: nothing is loaded any more
    backend = milvus.open(tmp_path)
    assert backend.vector_search(update("a", 30).vectors[7], 1)[0][0] == "a:00007"
    assert backend.lexical_search("part 7", 1)[0][0] == "a:00007"


def test_ivf_flat_finds_the_exact_nearest_chunk(milvus, tmp_path):
    docs = [update(f"d{i}", 50, seed=i) for i in range(10)]
    milvus.writer(tmp_path, vector_index="ivf_flat").commit(set(), docs, MANIFEST)
    backend = milvus.open(tmp_path)
    assert backend.manifest["vectors"]["milvus_index"] == "IVF_FLAT"
    for doc in docs[:3]:
        assert backend.vector_search(doc.vectors[5], 1)[0][0] == doc.chunks[5].id


def test_an_index_of_another_format_version_is_refused(milvus, tmp_path):
    from search.backends.milvus import schema

    writer = milvus.writer(tmp_path)
    writer.commit(set(), [update("a", 1)], MANIFEST)
    live = mc.live_collection(writer.client, writer.base, writer.uri, tmp_path)
    row = writer.client.get(live + mc.DOCS_SUFFIX, ids=[schema.MANIFEST_KEY], output_fields=["key", "info"])[
        0
    ]
    manifest = {**json.loads(row["info"]), "format_version": 999}
    writer.client.upsert(
        live + mc.DOCS_SUFFIX,
        [{"key": schema.MANIFEST_KEY, "info": json.dumps(manifest), "placeholder": [0, 0]}],
    )
    with pytest.raises(IndexMismatchError, match="rebuild"):
        milvus.open(tmp_path)


def test_chunk_text_over_the_milvus_limit_is_refused_by_name(milvus, tmp_path):
    from search.backends.base import DocumentUpdate
    from search.models import Chunk

    big = update("big", 1)
    chunk = Chunk("big:00000", "big", "big.txt", "big", "word " * 14_000)
    with pytest.raises(SearchError, match=r"chunk big:00000 of big\.txt"):
        milvus.writer(tmp_path).commit(
            set(), [DocumentUpdate(big.info, [chunk], np.ones((1, 8), np.float32))], MANIFEST
        )
    assert milvus.writer(tmp_path).existing() == ({}, {})


def test_the_command_lines_work_unchanged_with_backend_milvus(tmp_path, capsys):
    """Ingest, an unchanged re-run, a removal (file gone), and a search, all with `--backend milvus`."""
    from ingest.__main__ import main as ingest_main
    from search.__main__ import main as search_main
    from search.backends.milvus import release_embedded
    from tests.test_ingest import make_corpus

    root = make_corpus(tmp_path / "docs")
    index = tmp_path / "idx"
    flags = ["--index", str(index), "--backend", "milvus"]
    try:
        assert ingest_main([str(root), *flags]) == 0
        assert "5 documents, 3 pages" in capsys.readouterr().out
        assert (index / "milvus.db").is_file() and not (index / "CURRENT").exists()
        assert ingest_main([str(root), *flags]) == 0
        assert "up to date" in capsys.readouterr().out
        (root / "cheese.pdf").unlink()
        assert ingest_main([str(root), *flags, "--prune"]) == 0  # ingest removes only when asked
        capsys.readouterr()
        assert search_main(["volcano eruption lava", *flags, "--no-rerank", "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["fused"] and result["reranked"] == []  # the /search shape, fused list alone
        cited = {h["citation"] for h in result["fused"]}
        assert not any(c.startswith("cheese.pdf") for c in cited), "the removed file is gone"
        bm25_first = [h for h in result["fused"] if h["ranks"].get("bm25") == 1]
        assert bm25_first and bm25_first[0]["file"] == "volcano.md"
    finally:
        release_embedded(str(index / "milvus.db"))
    bad = ["--index", str(index), "--backend", "milvus", "--milvus-collection", "no-such"]
    assert search_main(["volcano", *bad, "--no-rerank"]) == 2
    assert "not a valid Milvus collection name" in capsys.readouterr().err
