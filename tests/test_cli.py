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
    monkeypatch.setenv("SEARCH_RERANKER", "zerank")
    assert search_main(["cheese aging caves", "--index", str(index), "--top-k", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # the same shape as the app's /search API
    assert {"query", "fused", "reranked", "timings_ms", "agreement", "fusion", "reranker"} <= set(result)
    assert len(result["reranked"]) == 4 and result["reranked"][0]["movement"]
    assert result["reranker"]["loaded"] and result["reranker"]["device"] == "cpu"
    assert result["fused"][0]["citation"].startswith("cheese.pdf, p.")

    assert search_main(["cheese aging caves", "--index", str(index), "--top-k", "4"]) == 0
    table = capsys.readouterr().out
    assert "Hybrid (BM25 + dense, fused)" in table and f"Reranked by {tiny_zerank_path}" in table
    assert re.search(r"(▲\d+|▼\d+|=|from #\d+)", table)
    assert "[relative fused score " in table and "[rerank score " in table
    assert re.search(r"(▲ to #\d+|▼ to #\d+|= #\d+)", table)  # the left column says where hits went
    assert "Reranking changed the place of" in table or "Reranking kept the top" in table
    assert "agreement: overlap@4" in table and "rerank" in table

    assert search_main(["cheese", "--index", str(index), "--no-rerank"]) == 0
    alone = capsys.readouterr().out
    assert "reranking: skipped (--no-rerank)" in alone and "│" not in alone and "Reranked" not in alone


def test_without_a_reranker_the_right_column_says_why_in_one_line(tmp_path, capsys, monkeypatch):
    root = make_corpus(tmp_path / "docs")
    assert ingest_main([str(root), "--index", str(tmp_path / "idx")]) == 0
    capsys.readouterr()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("ZEROENTROPY_API_KEY", raising=False)
    monkeypatch.delenv("SEARCH_RERANKER", raising=False)
    monkeypatch.setenv("COLUMNS", "240")
    assert search_main(["cheese", "--index", str(tmp_path / "idx"), "--top-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "reranker: none: no GPU for zerank-1 (set ZEROENTROPY_API_KEY for hosted zerank-1)" in out
    assert "Not reranked" in out and "No reranker here" in out and "SEARCH_CROSS_ENCODER_MODEL" in out


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert search_main(["anything", "--index", str(tmp_path / "none"), "--no-rerank"]) == 2
    assert "no index at" in capsys.readouterr().err
    root = make_corpus(tmp_path / "docs")
    ingest_main([str(root), "--index", str(tmp_path / "idx")])
    capsys.readouterr()
    assert search_main(["   ", "--index", str(tmp_path / "idx"), "--no-rerank"]) == 2
    assert "query is empty" in capsys.readouterr().err


def test_the_side_by_side_table_fits_80_columns_with_every_score_whole(
    tmp_path, capsys, monkeypatch, tiny_zerank_path
):
    """Ranks 8-10 used to print "[fused score…" cut off, and scores as "1" beside "0.2467"."""
    root = make_corpus(tmp_path / "docs")
    long_name = root / "a-very-long-file-name-about-cheese-caves-and-their-humidity-2025.txt"
    long_name.write_text("Cheese aging caves keep a humidity of 90 percent and a cool 12 degrees.")
    index = tmp_path / "idx"
    assert ingest_main([str(root), "--index", str(index)]) == 0
    monkeypatch.setenv("SEARCH_RERANKER_MODEL", str(tiny_zerank_path))
    monkeypatch.setenv("SEARCH_RERANKER", "zerank")
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    assert search_main(["cheese aging caves", "--index", str(index), "--top-k", "10", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert search_main(["cheese aging caves", "--index", str(index), "--top-k", "10"]) == 0
    table = capsys.readouterr().out
    too_wide = [line for line in table.splitlines() if len(line) > 80]
    assert not too_wide, too_wide
    fused = re.findall(r"\[relative fused score (\d+\.\d{4})\]", table)
    reranked = re.findall(r"\[rerank score (\d+\.\d{4})\]", table)
    assert len(fused) == len(result["fused"]) >= 6 and len(reranked) == len(result["reranked"])
    assert fused == [f"{h['score']:.4f}" for h in result["fused"]]  # one format, the same as the app's
    assert "fused score…" not in table and "a-very-long-file-name" in table
