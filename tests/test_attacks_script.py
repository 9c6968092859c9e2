"""The attack script only targets this machine, bounds itself, and its padded PDFs are real PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import attacks


@pytest.mark.parametrize("url", ["http://example.com:7860", "http://10.0.0.5:7860", "file:///etc"])
def test_only_local_urls_are_accepted(url: str) -> None:
    with pytest.raises(SystemExit):
        attacks.parse_args(["--url", url])


@pytest.mark.parametrize(
    "argv", [["--attack", "crash"], ["--calls", "100000"], ["--file-mb", "500"], ["--seconds", "5000"]]
)
def test_unbounded_or_incomplete_runs_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        attacks.parse_args(["--url", "http://127.0.0.1:7920", *argv])


def test_padded_pdf_is_big_on_disk_and_reads_as_one_page_of_text(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    path = attacks.padded_pdf(tmp_path / "p.pdf", "quince jelly ledger", 1.5)
    assert path.stat().st_size > 1.5 * attacks.MB
    doc = pdfium.PdfDocument(str(path))
    try:
        assert len(doc) == 1 and "quince jelly ledger" in doc[0].get_textpage().get_text_range()
    finally:
        doc.close()
