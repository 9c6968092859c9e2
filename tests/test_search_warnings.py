"""A query BM25 cannot match says so: otherwise dense-only results look like hybrid ones."""

from __future__ import annotations

import pytest

from ingest.pipeline import file_sources, run_ingest
from search.backends import open_backend, open_writer
from search.embedding import Embedder
from search.models import BM25, DENSE
from search.pipeline import Searcher
from search.settings import Settings

NOTE = "BM25 matched nothing for this query"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Searcher:
    root = tmp_path_factory.mktemp("docs")
    (root / "tea.md").write_text("# Green tea\n\nGreen tea is steamed after picking.", encoding="utf-8")
    (root / "rust.txt").write_text("Rust prevents data races through ownership.", encoding="utf-8")
    (root / "lava.txt").write_text("A stratovolcano is built from layers of lava and ash.", encoding="utf-8")
    (root / "bike.txt").write_text("Derailleur gears move the chain between sprockets.", encoding="utf-8")
    settings = Settings(index_dir=root.parent / "index", reranker="none")
    sources, _ = file_sources([root], max_bytes=1 << 20)
    run_ingest(sources, open_writer(settings), settings, embedder=embedder, show_progress=False)
    return Searcher(open_backend(settings), embedder, settings)


@pytest.mark.parametrize(
    "query",
    [
        "the and of it",
        "?!... ---",
        "\U0001f375\U0001f375",
        "\u0437\u0435\u043b\u0451\u043d\u044b\u0439 \u0447\u0430\u0439",
    ],
    ids=["stop words", "punctuation", "emoji", "cyrillic"],
)
def test_a_query_bm25_cannot_match_gets_a_warning(searcher: Searcher, query: str) -> None:
    result = searcher.search(query, rerank=False)
    assert result.stages[BM25] == [] and result.stages[DENSE]
    (warning,) = [w for w in result.warnings if w.startswith(NOTE)]
    assert warning.endswith("the results come from dense retrieval alone")
    why = "none of its words occur" if query.startswith("\u0437") else "no word BM25 indexes"
    assert why in warning


def test_a_query_bm25_matches_gets_no_such_warning(searcher: Searcher) -> None:
    result = searcher.search("green tea", rerank=False)
    assert result.stages[BM25] and not any(w.startswith(NOTE) for w in result.warnings)
