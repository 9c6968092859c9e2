"""Running headers and footers are stripped at load time; junk PDF metadata titles are replaced."""

from __future__ import annotations

import pytest

from ingest.load import load_file
from ingest.pdf_text import is_junk_title, pdf_title, strip_page_furniture
from tests.pdfs import make_pdf

HEADER = "Northmere Tide Authority - Quarterly Review"
BODIES = [
    "Spring tides reached 6.1 metres at Halvard harbour in March.",
    f"Neap tides were the lowest since 2019.\n{HEADER}\nis quoted here in the body, so it stays.",
    "The new gauge at Kestrel Point reports every six minutes.",
    "Storm surge warnings were issued on four days in January.",
    "Dredging of the outer channel finished in the second quarter.",
]


def _paged(bodies: list[str]) -> list[str]:
    n = len(bodies)
    return [f"{HEADER}\n\n{body}\n\nPage {i} of {n}" for i, body in enumerate(bodies, start=1)]


def test_running_header_and_page_footer_are_stripped_from_a_pdf(tmp_path):
    path = make_pdf(tmp_path / "tides.pdf", _paged(BODIES), title="Tides 2025")
    doc = load_file(path, max_bytes=1 << 20)
    assert len(doc.pages) == 5
    for page, body in zip(doc.pages, BODIES, strict=True):
        assert "Page " not in page and " of 5" not in page
        assert page.split("\n")[0] == body.split("\n")[0]
    assert doc.pages[1].count(HEADER) == 1  # the quotation in the middle of page 2 is kept
    assert doc.pages[0] == BODIES[0]
    assert HEADER not in doc.text.replace(BODIES[1].split("\n")[1], "")


def test_lines_on_few_pages_or_short_documents_are_kept():
    bodies = ["Whales sing.", "Seals bark.", "Gulls cry.", "Crabs click.", "Terns dive."]
    pages = [f"Chapter {i}\n{body}\nFooter note" for i, body in enumerate(bodies)]
    for i in (2, 3, 4):
        pages[i] = pages[i].replace("Footer note", "Other")
    out = strip_page_furniture(pages)
    # "Chapter N" recurs on every page (digits ignored): stripped; "Footer note" is on 2 of 5 pages
    # (under 60 %): kept; "Other" is on 3 of 5 (60 %): stripped
    assert out == [
        "Whales sing.\nFooter note",
        "Seals bark.\nFooter note",
        "Gulls cry.",
        "Crabs click.",
        "Terns dive.",
    ]
    two = ["Header\nOne.\nPage 1", "Header\nTwo.\nPage 2"]
    assert strip_page_furniture(two) == two  # fewer than 3 pages: nothing is furniture
    assert strip_page_furniture(["", "", "a"]) == ["", "", "a"]


def test_left_and_right_running_heads_are_both_stripped():
    heads = ["A. Smith and B. Jones", "Tidal Power in Practice"]
    bodies = [f"Body of page {i}, about topic {chr(65 + i)}.\nA second line here." for i in range(8)]
    pages = [f"{heads[i % 2]}\n{body}\n{i + 1}" for i, body in enumerate(bodies)]
    assert strip_page_furniture(pages) == bodies


def test_a_recurring_line_in_the_middle_of_pages_is_body_text():
    words = ["alpha", "beta", "gamma", "delta"]
    pages = [
        f"Top {i}\n{w} one\n{w} two\nsame line\n{w} three\n{w} four\nend {i * 7}" for i, w in enumerate(words)
    ]
    out = strip_page_furniture(pages)
    assert out[1] == "beta one\nbeta two\nsame line\nbeta three\nbeta four"


@pytest.mark.parametrize(
    "title",
    [
        None,
        "",
        "   ",
        "Binder1.pdf",
        "report_final_v3.DOCX",
        "scan 0042.doc",
        "Microsoft Word - Annual report.docx",
        "Microsoft PowerPoint - deck",
        "untitled",
        "Untitled-2",
        "Document1",
        "2024-03-01",
        "--- 17 ---",
    ],
)
def test_junk_titles(title):
    assert is_junk_title(title)


@pytest.mark.parametrize("title", ["Annual Report 2025", "PDF Reference, version 1.7", "Doc Martens history"])
def test_real_titles(title):
    assert not is_junk_title(title)


def test_junk_metadata_title_falls_back_to_the_first_heading_then_the_file_name(tmp_path):
    page = "Tidal Energy Outlook\n\nThe harbour turbines produced 14 GWh in 2025."
    for junk in ("Binder1.pdf", "Microsoft Word - outlook.docx", "untitled", None):
        doc = load_file(make_pdf(tmp_path / "outlook.pdf", [page], title=junk), max_bytes=1 << 20)
        assert doc.title == "Tidal Energy Outlook", junk
    kept = load_file(make_pdf(tmp_path / "real.pdf", [page], title="Outlook 2026"), max_bytes=1 << 20)
    assert kept.title == "Outlook 2026"
    long_first_line = "The harbour turbines produced 14 GWh in 2025, " * 4
    doc = load_file(
        make_pdf(tmp_path / "q3-notes.pdf", [long_first_line], title="Binder1.pdf"), max_bytes=1 << 20
    )
    assert doc.title == "q3-notes"


def test_pdf_title_prefers_real_metadata():
    assert pdf_title("  Annual   Report ", ["Heading\nbody"], "file") == "Annual Report"
    assert pdf_title("Binder1.pdf", ["", "Heading on page 2\nBody text."], "file") == "Heading on page 2"
    assert pdf_title("", ["12\nBody."], "file") == "file"
    assert pdf_title(None, ["Heading that runs\non into a sentence."], "file") == "file"
