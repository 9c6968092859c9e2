""" "No good match": the verdict (search/match.py) on hand-made lists, and on the sample index through
the real pipeline, the JSON payload and the CLI: nonsense and stop-word-only queries get it, none of
the sample's 42 judged queries does. Also the stop words that never count as matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.__main__ import main as search_main
from search.backends import open_backend
from search.embedding import Embedder
from search.match import classify
from search.models import BM25
from search.payload import result_json
from search.pipeline import Searcher
from search.settings import Settings
from search.stopwords import content_words
from tests.app_fixtures import REPO, sample_index

SAMPLE_QUERIES = [e["query"] for e in json.loads((REPO / "data" / "sample_queries.json").read_text("utf-8"))]
NONSENSE = ("zzqxv", "qwxz vbnmq", "were did", "the of and", "how many were there")


def test_classify_levels() -> None:
    dense = [("a", 0.62), ("b", 0.40)]
    assert classify([("a", 3.0)], dense, 0.35).level == "good"
    assert classify([("a", 3.0)], dense, 0.35).message == ""
    weak = classify([], dense, 0.35, "none of its words occur in these documents")
    assert weak.level == "weak" and "0.62" in weak.message and not weak.lexical
    none = classify([], [("a", 0.21)], 0.35)
    assert none.level == "none" and none.message.startswith("No good match") and none.top_similarity == 0.21
    assert classify([], [], 0.35).level == "none"  # an empty index: nothing at all
    assert classify([], [("a", 0.35)], 0.35).level == "weak"  # the threshold itself is close enough


def test_stop_words_are_not_content() -> None:
    assert content_words("How many homes were left in the dark?") == ["homes", "left", "dark"]
    assert content_words("were did the") == []
    assert content_words("zzqxv") == ["zzqxv"]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Searcher:
    index = sample_index(tmp_path_factory, embedder)
    settings = Settings(index_dir=index, reranker="none")
    return Searcher(open_backend(settings), embedder, settings)


@pytest.mark.parametrize("query", NONSENSE)
def test_nonsense_and_stop_word_queries_get_no_good_match(searcher: Searcher, query: str) -> None:
    result = searcher.search(query, rerank=False)
    assert result.match is not None and result.match.level == "none", (query, result.match)
    payload = result_json(result, 10)
    assert payload["match"] == "none" and payload["match_message"].startswith("No good match")
    assert payload["top_similarity"] < searcher.settings.no_match_similarity


def test_no_judged_sample_query_gets_the_message(searcher: Searcher) -> None:
    assert len(SAMPLE_QUERIES) == 42
    levels = {q: searcher.search(q, rerank=False).match for q in SAMPLE_QUERIES}
    bad = {q: m.level for q, m in levels.items() if m is None or m.level != "good"}
    assert not bad


def test_stop_words_match_in_bm25_but_not_for_the_reader(searcher: Searcher) -> None:
    """BM25 keeps Lucene's short list, so "were" still scores; the verdict ignores it."""
    result = searcher.search("were did", rerank=False)
    assert result.stages[BM25]  # BM25 matched "were" / "did" somewhere
    assert result.match is not None and not result.match.lexical


def test_cli_says_so_above_the_list(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    index: Path = sample_index(tmp_path_factory, embedder)
    assert search_main(["zzqxv", "--index", str(index), "--no-rerank"]) == 0
    out = capsys.readouterr().out
    assert out.index("No good match") < out.index("Hybrid (BM25 + dense, fused)")
    assert "relative fused score" in out
    assert search_main(["zzqxv", "--index", str(index), "--no-rerank", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["match"] == "none" and data["fusion_note"]


def test_a_long_query_says_how_much_the_embedder_read(searcher: Searcher, embedder: Embedder) -> None:
    query = " ".join(["How much battery storage did the grid operator add in the third quarter"] * 160)
    result = searcher.search(query, rerank=False)
    pieces = embedder.count_tokens(result.query)  # as run: cut at max_query_chars
    assert f"the embedder read 254 of {pieces} word pieces" in result.fusion_note
    assert result_json(result, 10)["fusion_note"] == result.fusion_note
    short = searcher.search("battery storage", rerank=False)
    assert "read the whole query" in short.fusion_note and result.match and result.match.level == "good"


def test_onnx_counts_word_pieces_from_the_embedding_pass(embedder: Embedder) -> None:
    counted = getattr(embedder, "embed_query_counted", None)
    if counted is None:
        pytest.skip("the torch embedder counts apart")
    for text in ("zzqxv", "a b " * 700, "Section 302 of the Indian Penal Code " * 90):
        vector, pieces = counted(text)
        assert pieces == embedder.count_tokens(text)
        assert vector.tolist() == pytest.approx(embedder.embed_query(text).tolist(), abs=1e-6)


def test_the_app_shows_the_verdict_above_the_columns(searcher: Searcher) -> None:
    from webapp import status as status_view

    nonsense = searcher.search("zzqxv", rerank=False)
    banner = status_view.match_html(nonsense)
    assert "hs-match-none" in banner and "No good match" in banner
    assert status_view.match_html(searcher.search("battery storage capacity", rerank=False)) == ""
    footer = status_view.footer_html(nonsense, 10)
    assert "Fusion: adaptive fusion: BM25 matched nothing" in footer and "relative" in footer
