"""End to end on the shipped sample corpus: it ingests cleanly, and every example query finds its
answer — the right file, and for PDFs the right page — near the top of the hybrid list."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import file_sources, run_ingest
from search.pipeline import Searcher
from tests.engines import ENGINES, Engine

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
QUERIES = json.loads((REPO / "data" / "sample_queries.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=ENGINES)
def searcher(request, tmp_path_factory, embedder) -> Iterator[Searcher]:
    """The sample corpus indexed on each engine (local files; embedded Milvus)."""
    engine = Engine(request.param)
    settings = engine.settings(tmp_path_factory.mktemp("sample") / "index")
    sources, skipped = file_sources([SAMPLE], max_bytes=50 * 1024 * 1024)
    report = run_ingest(
        sources,
        engine.writer(settings.index_dir),
        settings,
        embedder=embedder,
        skipped=skipped,
        show_progress=False,
    )
    assert report.skipped == [], report.summary()
    assert report.documents >= 30 and report.pages >= 3
    yield Searcher(engine.open(settings.index_dir), embedder, settings)
    engine.release()


def test_sample_pdfs_are_multi_page():
    pdfs = sorted(SAMPLE.rglob("*.pdf"))
    assert len(pdfs) >= 2


@pytest.mark.parametrize("case", QUERIES, ids=[q["query"][:40] for q in QUERIES])
def test_example_query_cites_the_right_file_and_page(searcher, case):
    result = searcher.search(case["query"], top_k=5, rerank=False)
    found = [
        h.chunk.citation()
        for h in result.final
        if Path(h.chunk.source).resolve() == (SAMPLE / case["source"]).resolve()
        and (case["page"] is None or h.chunk.page_start <= case["page"] <= h.chunk.page_end)
    ]
    assert found, (
        f"{case['source']} p.{case['page']} not in top 5: {[h.chunk.citation() for h in result.final]}"
    )
