"""Bounded work per file and per ingest: limits cut or refuse with a reason naming the limit, pages
that cannot be read are reported by number, loading runs in a killable worker process, and an
ingest can be cancelled without touching the index."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.isolate import IngestCancelled, load_isolated
from ingest.load import MB, LoadError, load_file
from ingest.pipeline import file_sources, run_ingest
from search.backends import open_writer
from search.backends.local import store
from search.embedding import Embedder
from search.settings import Settings
from tests.pdfs import bomb_pdf, make_pdf

PAGE = "Rennet curdles milk into curds and whey; the curds are pressed into wheels and salted. "


def test_text_over_the_char_limit_is_cut_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("word " * 10_000, encoding="utf-8")
    doc = load_file(path, max_bytes=MB, max_chars=1000)
    assert len(doc.text) == 1000
    assert doc.notes == (
        "only the first 1,000 of 50,000 characters were indexed (limit max_file_chars=1000)",
    )
    assert load_file(path, max_bytes=MB, max_chars=0).notes == ()


def test_pdf_over_the_page_limit_keeps_its_first_pages(tmp_path: Path) -> None:
    # distinct bodies: identical pages would read as one long running header and be stripped
    words = PAGE.split()
    bodies = [" ".join(words[i:] + words[:i]) for i in range(1, 8)]
    path = make_pdf(tmp_path / "many.pdf", [f"Page {i}. {body}" for i, body in enumerate(bodies, start=1)])
    doc = load_file(path, max_bytes=MB, max_pages=3)
    assert [p.split(".")[0] for p in doc.pages] == ["Page 1", "Page 2", "Page 3"]
    assert doc.notes == ("only the first 3 of 7 pages were indexed (limit max_pdf_pages=3)",)


def test_pdf_char_limit_drops_later_pages_whole(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "three.pdf", [PAGE * 3, PAGE * 3, PAGE * 3])
    first = len(load_file(path, max_bytes=MB).pages[0])
    doc = load_file(path, max_bytes=MB, max_chars=first + 10)
    assert len(doc.pages) == 2 and len(doc.pages[1]) == 10  # page numbers of what is kept hold
    assert "max_file_chars" in doc.notes[0]


def test_a_page_over_the_decompression_cap_is_reported_by_number(tmp_path: Path) -> None:
    """pypdf refuses a stream that inflates past its cap; that page used to vanish without a word."""
    import pypdf

    path = make_pdf(tmp_path / "capped.pdf", ["Short page one.", PAGE * 20, "Short page three."])
    with pypdf.apply_configuration(zlib_maximum_output_length=1000):
        doc = load_file(path, max_bytes=MB)
    assert "Short page one" in doc.pages[0] and doc.pages[1] == "" and "three" in doc.pages[2]
    assert len(doc.notes) == 1
    assert doc.notes[0].startswith("page 2 left out: it inflates past pypdf's safety limits")
    assert "at most 1,000 bytes (zlib_maximum_output_length)" in doc.notes[0]


def test_a_pdf_whose_pages_all_inflate_past_the_cap_is_refused_naming_the_limit(tmp_path: Path) -> None:
    """Not "no extractable text": the reason is the limit (a decompression bomb)."""
    import pypdf

    path = make_pdf(tmp_path / "capped.pdf", [PAGE * 20, PAGE * 20])
    with pypdf.apply_configuration(zlib_maximum_output_length=1000), pytest.raises(LoadError) as exc:
        load_file(path, max_bytes=MB)
    reason = str(exc.value)
    assert "refused: page 1 inflates past pypdf's safety limits (a decompression bomb?)" in reason
    assert "at most 1,000 bytes" in reason and "(and 1 more such pages)" in reason


@pytest.mark.parametrize("image", [False, True])
def test_a_real_decompression_bomb_is_refused_in_the_worker_with_the_limit(
    tmp_path: Path, image: bool
) -> None:
    """100 KB that inflate to 100 MB, with pypdf's default cap (75 MB), in the isolated loader: it
    was "no extractable text" (no font, so pypdf's text extraction never decoded the stream)."""
    path = bomb_pdf(tmp_path / "bomb.pdf", 100_000_000, image=image)
    assert path.stat().st_size < 200_000
    with pytest.raises(LoadError, match=r"refused: page 1 inflates past .*at most 75,000,000 bytes"):
        load_isolated(path, max_bytes=MB, timeout_s=60)


def test_isolated_load_equals_in_process_load(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "doc.pdf", [PAGE, "Second page. " + PAGE], title="Cheese")
    text = tmp_path / "note.md"
    text.write_text("# Caf\u00e9 \U0001f9c0\n\nText with emoji and accents.", encoding="utf-8")
    for path in (pdf, text):
        options = {"max_bytes": MB, "doc_id": "d1", "source": f"shown/{path.name}", "max_pages": 1}
        assert load_isolated(path, **options) == load_file(path, **options)
    with pytest.raises(LoadError) as info:
        load_isolated(tmp_path / "missing.txt", max_bytes=MB, source="missing.txt")
    assert str(info.value) == "missing.txt: no such file"


def test_isolated_load_over_the_time_limit_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"plain words and more words\n" * (30 * MB // 27))
    with pytest.raises(LoadError) as info:
        load_isolated(path, max_bytes=64 * MB, source="big.txt", timeout_s=0.02)
    assert info.value.path == "big.txt"
    assert "limit load_timeout_s=0.02" in info.value.reason


def test_isolated_load_over_the_memory_limit_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"plain words and more words\n" * (40 * MB // 27))
    with pytest.raises(LoadError) as info:
        load_isolated(path, max_bytes=64 * MB, source="big.txt", memory_mb=40, timeout_s=60)
    assert info.value.path == "big.txt"
    assert "limit load_memory_mb=40" in info.value.reason
    # the next load gets a healthy worker
    small = tmp_path / "small.txt"
    small.write_text("fine", encoding="utf-8")
    assert load_isolated(small, max_bytes=MB).text == "fine"


def test_isolated_load_stops_when_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"plain words and more words\n" * (30 * MB // 27))
    with pytest.raises(IngestCancelled):
        load_isolated(path, max_bytes=64 * MB, cancelled=lambda: True)


# --- the pipeline ------------------------------------------------------------------------------


def corpus(root: Path) -> Path:
    root.mkdir()
    (root / "a.txt").write_text("Green tea is steamed after picking. " * 5, encoding="utf-8")
    (root / "b.txt").write_text("Volcanoes erupt lava and ash. " * 400, encoding="utf-8")
    (root / "c.txt").write_text("Bicycles have gears and chains. " * 5, encoding="utf-8")
    make_pdf(root / "d.pdf", [f"Page {i}. {PAGE}" for i in range(1, 5)])
    return root


def ingest(root: Path, settings: Settings, embedder: Embedder, **kwargs):
    sources, skipped = file_sources([root], max_bytes=MB)
    return run_ingest(
        sources,
        open_writer(settings),
        settings,
        embedder=embedder,
        skipped=skipped,
        show_progress=False,
        **kwargs,
    )


def test_limits_in_the_pipeline_refuse_or_cut_and_the_rest_goes_in(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(index_dir=tmp_path / "index", max_pdf_pages=2, max_file_chars=900)
    report = ingest(corpus(tmp_path / "docs"), settings, embedder)
    assert {Path(s).name for s in report.added} == {"a.txt", "b.txt", "c.txt", "d.pdf"}
    warned = {Path(s).name: note for s, note in report.warnings}
    assert warned == {
        "b.txt": "only the first 900 of 12,000 characters were indexed (limit max_file_chars=900)",
        "d.pdf": "only the first 2 of 4 pages were indexed (limit max_pdf_pages=2)",
    }
    assert "  note " in report.summary() and report.to_dict()["warnings"] == report.warnings

    # a file whose chunks would pass the per-ingest limit is refused; later, smaller files go in
    tight = replace(settings, index_dir=tmp_path / "index2", max_ingest_chunks=2, max_file_chars=0)
    report = ingest(tmp_path / "docs", tight, embedder)
    refused = {Path(s).name: reason for s, reason in report.skipped}
    assert set(refused) == {"b.txt", "d.pdf"}
    assert refused["b.txt"].startswith("refused: its ") and "(limit max_ingest_chunks=2)" in refused["b.txt"]
    assert {Path(s).name for s in report.added} == {"a.txt", "c.txt"} and report.chunks == 2


@pytest.mark.parametrize("isolate", [True, False])
def test_cancelled_ingest_leaves_the_index_as_it_was(
    tmp_path: Path, embedder: Embedder, isolate: bool
) -> None:
    root = corpus(tmp_path / "docs")
    settings = Settings(index_dir=tmp_path / "index", isolate_loading=isolate)
    first = ingest(root, settings, embedder)
    live = (settings.index_dir / store.CURRENT).read_text()
    (root / "a.txt").write_text("Changed text about oolong. " * 3, encoding="utf-8")
    (root / "e.txt").write_text("A new file about harbours. " * 3, encoding="utf-8")

    calls = []

    def after_one_file() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(IngestCancelled):
        ingest(root, settings, embedder, cancelled=after_one_file)
    assert (settings.index_dir / store.CURRENT).read_text() == live
    assert not list(settings.index_dir.glob(".tmp-v-*"))
    again = ingest(root, settings, embedder, cancelled=lambda: False)  # the lock was released
    assert {Path(s).name for s in again.updated} == {"a.txt"} and first.documents + 1 == again.documents


def test_cancel_between_embedding_batches(tmp_path: Path, embedder: Embedder) -> None:
    root = corpus(tmp_path / "docs")
    settings = Settings(index_dir=tmp_path / "index", embed_batch_size=1, isolate_loading=False)
    seen: list[int] = []

    class Counting:
        def __init__(self, inner: Embedder) -> None:
            self.inner = inner

        def embed(self, texts, show_progress: bool = False):
            seen.append(len(texts))
            return self.inner.embed(texts)

    def cancel_during_embedding() -> bool:
        return len(seen) >= 2

    with pytest.raises(IngestCancelled):
        run_ingest(
            file_sources([root], MB)[0],
            open_writer(settings),
            settings,
            embedder=Counting(embedder),  # type: ignore[arg-type]
            show_progress=False,
            cancelled=cancel_during_embedding,
        )
    assert seen == [8, 8]  # groups of 8 x embed_batch_size, stopped after the second
    assert not (settings.index_dir / store.CURRENT).exists()


def test_the_worker_process_is_reused(tmp_path: Path) -> None:
    from ingest import isolate

    path = tmp_path / "a.txt"
    path.write_text("one", encoding="utf-8")
    load_isolated(path, max_bytes=MB)
    pids = {w.proc.pid for w in isolate._POOL._idle}
    load_isolated(path, max_bytes=MB)
    assert pids and {w.proc.pid for w in isolate._POOL._idle} == pids
    assert all(os.path.exists(f"/proc/{pid}") for pid in pids)
