"""The two command lines, run in-process: ingest a folder, then search it with and without reranking."""

import json
import re

from ingest.__main__ import main as ingest_main
from search.__main__ import main as search_main
from tests.test_ingest import make_corpus


def test_ingest_then_search(tmp_path, capsys, monkeypatch, tiny_zerank_path):
    root = make_corpus(tmp_path / "docs")
    (root / "notes.xyz").write_text("not indexed")
    index = tmp_path / "idx"
    assert ingest_main([str(root), "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "5 documents, 3 pages" in out and "notes.xyz: unsupported file type .xyz" in out

    assert ingest_main([str(root), "--index", str(index)]) == 0
    assert "up to date" in capsys.readouterr().out

    monkeypatch.setenv("SEARCH_RERANKER_MODEL", str(tiny_zerank_path))
    assert search_main(["cheese aging caves", "--index", str(index), "--top-k", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["stages"]) == {"bm25", "dense", "fused", "reranked"}
    assert len(result["stages"]["reranked"]) == 4
    assert result["reranker"]["loaded"] and result["reranker"]["device"] == "cpu"
    assert result["stages"]["fused"][0]["citation"].startswith("cheese.pdf, p.")

    assert search_main(["cheese aging caves", "--index", str(index), "--top-k", "4"]) == 0
    table = capsys.readouterr().out
    assert "Hybrid (BM25 + dense, fused)" in table and f"Reranked by {tiny_zerank_path}" in table
    assert re.search(r"(▲\d+|▼\d+|=|from #\d+)", table)
    assert "agreement: overlap@4" in table and "rerank" in table

    assert search_main(["cheese", "--index", str(index), "--no-rerank"]) == 0
    assert "Reranked" in capsys.readouterr().out


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert search_main(["anything", "--index", str(tmp_path / "none"), "--no-rerank"]) == 2
    assert "no index at" in capsys.readouterr().err
    root = make_corpus(tmp_path / "docs")
    ingest_main([str(root), "--index", str(tmp_path / "idx")])
    capsys.readouterr()
    assert search_main(["   ", "--index", str(tmp_path / "idx"), "--no-rerank"]) == 2
    assert "query is empty" in capsys.readouterr().err
