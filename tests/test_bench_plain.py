"""The benchmark's plain script answers like the product's first stage on the same index files, so
the side-by-side ratio compares plumbing, not different work."""

from __future__ import annotations

from bench.plain import open_plain
from ingest.pipeline import file_sources, run_ingest
from search.backends import open_writer
from search.models import FUSED
from search.pipeline import Searcher
from search.settings import Settings

DOCS = [
    "Green tea leaves are steamed soon after picking to stop oxidation.",
    "Pumice is a volcanic rock so full of gas bubbles that it floats on water.",
    "Black tea is fully oxidised before it is dried.",
    "Basalt is a dense volcanic rock that sinks.",
]


def test_plain_script_fuses_the_same_candidates_as_the_product(tmp_path, embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(DOCS):
        (docs / f"d{i}.txt").write_text(text, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", candidates=4)
    sources, _ = file_sources([docs], max_bytes=1 << 20)
    run_ingest(sources, open_writer(settings), settings, embedder=embedder, show_progress=False)
    searcher = Searcher.open(settings, with_reranker=False)
    plain = open_plain(settings.index_dir, settings)
    rows = {c.id: row for row, c in enumerate(searcher.backend.all_chunks())}  # FAISS and BM25 row order
    for query in ("volcanic rock that floats", "oxidised tea"):
        lists, _ = searcher.retrieve(query, 4)
        product = [str(rows[d]) for d, _ in lists[FUSED]]
        assert [d for d, _ in plain(query, 4, searcher.fusion)] == product
