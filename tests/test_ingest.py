"""Ingest end to end with the real embedding model: incremental equals rebuild, bad input is
reported by name and loses nothing, and search over the result cites the right file and page."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import file_sources, run_ingest
from search.backends import open_backend, open_writer
from search.backends.local import store
from search.embedding import Embedder
from search.errors import IndexMismatchError, QueryError
from search.models import BM25, DENSE, FUSED
from search.pipeline import Searcher
from search.rerank.base import RerankResult
from search.settings import Settings
from tests.pdfs import make_pdf

TOPICS = {
    "tea.md": "# Green tea\n\nGreen tea is steamed or pan-fired after picking. Matcha is ground shade tea.",
    "rust.txt": "Rust prevents data races at compile time through ownership and borrowing rules.",
    "volcano.md": "# Volcanoes\n\nA stratovolcano is built from layers of lava and ash. Pumice floats.",
    "bikes.txt": "Derailleur gears move the chain between sprockets; a hub gear hides them in the wheel.",
}
FILLER = " ".join(f"Dairy note {i} records the batch, the date and the cellar shelf." for i in range(14))
PDF_PAGES = [
    "Cheese making. Rennet curdles milk into curds and whey. " + FILLER,
    "Aging caves keep cheese at 12 degrees Celsius and high humidity so a rind forms slowly. " + FILLER,
    "Blue cheese gets its veins from Penicillium roqueforti spores pierced into the wheel. " + FILLER,
]


def make_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in TOPICS.items():
        (root / name).write_text(text, encoding="utf-8")
    make_pdf(root / "cheese.pdf", PDF_PAGES, title="Cheese")
    return root


def ingest(root: Path, index: Path, embedder: Embedder, **kwargs):
    settings = Settings(index_dir=index)
    sources, skipped = file_sources([root], max_bytes=1024 * 1024)
    report = run_ingest(
        sources,
        open_writer(settings),
        settings,
        embedder=embedder,
        skipped=skipped,
        show_progress=False,
        **kwargs,
    )
    return report, settings


def searcher(settings: Settings, embedder: Embedder) -> Searcher:
    return Searcher(open_backend(settings), embedder, settings)


def test_incremental_updates_equal_a_rebuild(tmp_path, embedder):
    root = make_corpus(tmp_path / "docs")
    first, settings = ingest(root, tmp_path / "inc", embedder)
    assert len(first.added) == 5 and first.pages == 3
    (root / "rust.txt").write_text("Rust's borrow checker rejects dangling references.", encoding="utf-8")
    (root / "bikes.txt").unlink()
    (root / "kites.md").write_text("# Kites\n\nA kite needs wind of about 10 km/h to fly.", encoding="utf-8")
    report, settings = ingest(root, tmp_path / "inc", embedder, prune=True)
    assert report.updated == [str(root / "rust.txt")]
    assert report.removed == [str(root / "bikes.txt")]
    assert report.added == [str(root / "kites.md")]
    assert report.unchanged == 3
    assert report.new_chunks == 2  # only the changed and the new file were embedded

    _rebuilt, rebuilt_settings = ingest(root, tmp_path / "full", embedder)
    inc, full = open_backend(settings), open_backend(rebuilt_settings)
    assert [c.to_dict() for c in inc.all_chunks()] == [c.to_dict() for c in full.all_chunks()]
    a, b = searcher(settings, embedder), searcher(rebuilt_settings, embedder)
    for query in ["borrow checker", "cheese rind humidity", "kite wind speed", "tea"]:
        la, _ = a.retrieve(query, 10)
        lb, _ = b.retrieve(query, 10)
        for stage in (BM25, DENSE, FUSED):
            assert [d for d, _ in la[stage]] == [d for d, _ in lb[stage]]
            np.testing.assert_allclose([s for _, s in la[stage]], [s for _, s in lb[stage]], atol=1e-5)


def test_unchanged_rerun_writes_nothing(tmp_path, embedder):
    root = make_corpus(tmp_path / "docs")
    ingest(root, tmp_path / "idx", embedder)
    current = (tmp_path / "idx" / store.CURRENT).read_text()
    report, _ = ingest(root, tmp_path / "idx", embedder)
    assert not report.changed and report.new_chunks == 0 and report.unchanged == 5
    assert "up to date" in report.summary()
    assert (tmp_path / "idx" / store.CURRENT).read_text() == current


def test_bad_files_are_reported_by_name_and_the_rest_indexed(tmp_path, embedder):
    root = make_corpus(tmp_path / "docs")
    (root / "empty.txt").write_bytes(b"")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    (root / "blob.md").write_bytes(bytes(range(256)) * 64)
    (root / "locked.pdf").write_bytes(
        make_pdf(tmp_path / "l.pdf", ["secret"], encrypt_password="pw").read_bytes()
    )
    (root / "huge.txt").write_text("word " * 300_000, encoding="utf-8")
    (root / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    report, settings = ingest(root, tmp_path / "idx", embedder)
    reasons = dict((Path(name).name, reason) for name, reason in report.skipped)
    assert set(reasons) == {"empty.txt", "broken.pdf", "blob.md", "locked.pdf", "huge.txt", "photo.jpg"}
    assert "empty" in reasons["empty.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert "binary" in reasons["blob.md"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "limit" in reasons["huge.txt"]
    assert "not a readable image" in reasons["photo.jpg"]
    assert report.documents == 5
    assert {Path(d.source).name for d in open_backend(settings).documents()} == {*TOPICS, "cheese.pdf"}


def test_a_file_that_turns_bad_keeps_its_indexed_version(tmp_path, embedder):
    root = make_corpus(tmp_path / "docs")
    ingest(root, tmp_path / "idx", embedder)
    (root / "cheese.pdf").write_bytes(b"%PDF-1.4 truncated")
    report, settings = ingest(root, tmp_path / "idx", embedder)
    assert any("kept the version indexed before" in reason for _, reason in report.skipped)
    hits = searcher(settings, embedder).search("Penicillium roqueforti veins", rerank=False)
    assert hits.final[0].chunk.citation() == "cheese.pdf, p. 3"


def test_search_cites_file_and_page(tmp_path, embedder):
    root = make_corpus(tmp_path / "docs")
    _, settings = ingest(root, tmp_path / "idx", embedder)
    result = searcher(settings, embedder).search("At what temperature do aging caves keep cheese?", top_k=3)
    top = result.final[0]
    assert top.chunk.citation() == "cheese.pdf, p. 2"
    assert set(result.stages) == {BM25, DENSE, FUSED}
    assert top.rank(FUSED) == 1 and top.score(FUSED) > 0
    assert {"embed", "bm25", "dense", "fusion", "total"} <= set(result.timings_ms)
    assert result.reranker is not None and not result.reranker.loaded


def test_queries_empty_and_huge(tmp_path, embedder):
    root = make_corpus(tmp_path / "docs")
    _, settings = ingest(root, tmp_path / "idx", embedder)
    s = searcher(settings, embedder)
    for bad in ["", "   \n\t"]:
        with pytest.raises(QueryError, match="empty"):
            s.search(bad)
    long = ("volcano pumice lava " * 600)[:10_000]
    result = s.search(long)
    assert result.final and "volcano" in result.final[0].chunk.text.lower()
    assert any("reads only the first 256 word pieces" in w for w in result.warnings)
    result = s.search(long + " more words")
    cut = [w for w in result.warnings if w.startswith("query cut from 100")]
    assert cut and cut[0].endswith("to 10000 characters")


def test_index_from_another_embedding_model_is_refused(tmp_path, embedder):
    root = make_corpus(tmp_path / "docs")
    _, settings = ingest(root, tmp_path / "idx", embedder)
    other = replace(settings, embedding_model="some/other-model")
    fake = type("E", (), {"name": "some/other-model"})()
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Searcher(open_backend(other), fake, other)  # type: ignore[arg-type]


def test_reranked_list_is_the_fused_top_depth_reordered(tmp_path, embedder):
    class Reverse:
        """A reranker that inverts the fused order: every move is known in advance."""

        name, backend, device = "reverse", "test", "cpu"

        def score(self, query, documents, progress=None):
            return RerankResult([float(i) for i in range(len(documents))])

    root = make_corpus(tmp_path / "docs")
    _, settings = ingest(root, tmp_path / "idx", embedder)
    s = Searcher(open_backend(settings), embedder, settings, reranker=Reverse())
    result = s.search("cheese", top_k=2, rerank_depth=4)
    fused_ids = [d for d, _ in s.retrieve("cheese", settings.candidates)[0][FUSED]]
    assert [h.chunk.id for h in result.stages["reranked"]] == fused_ids[:4][::-1][:2]
    assert result.stages["reranked"][0].rank(FUSED) == 4
    assert "rerank" in result.timings_ms
