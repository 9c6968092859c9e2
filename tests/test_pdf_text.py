"""Running headers and footers are stripped at load time; junk PDF metadata titles are replaced."""

from __future__ import annotations

from pathlib import Path

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


SPEC_TITLE = "Shared MIME-info Database"
SPEC_BODIES = [
    "X Desktop Group (http://www.freedesktop.org)\nThomas Leonard\ntal197 at users.sf.net\n"
    "1. Introduction\nThis is version 0.21 of the specification.",
    "2. Unified system\nEveryone is keen to see the databases merged into one.",
    "2.1. Directory layout\nApplications must be able to extend the database.",
    "3. The source XML files\nEach application provides its own XML file of types.",
]


def test_a_title_repeated_as_running_header_is_the_title_and_stays_on_page_1(tmp_path):
    """Like the freedesktop.org specification: no metadata title, the title printed at the top of
    every page, and page 1's next line an organisation with its web address."""
    pages = [f"{SPEC_TITLE}\n{body}" for body in SPEC_BODIES]
    doc = load_file(make_pdf(tmp_path / "shared-mime-info-spec.pdf", pages), max_bytes=1 << 20)
    assert doc.title == SPEC_TITLE
    assert doc.pages[0].split("\n")[:2] == [SPEC_TITLE, "X Desktop Group (http://www.freedesktop.org)"]
    for page in doc.pages[1:]:  # furniture everywhere else
        assert SPEC_TITLE not in page
    # with a real metadata title, a running header that is not the title is stripped from page 1 too
    titled = load_file(make_pdf(tmp_path / "titled.pdf", pages, title="MIME spec"), max_bytes=1 << 20)
    assert titled.title == "MIME spec" and SPEC_TITLE not in titled.text


@pytest.mark.parametrize(
    "line",
    [
        "X Desktop Group (http://www.freedesktop.org)",
        "www.example.org",
        "tal197 at users.sf.net",
        "Contact: editor@example.com",
        "© 2024 Northmere Grid Authority",
        "Copyright 2018 The Authors",
    ],
)
def test_url_email_and_copyright_lines_are_no_title(line):
    assert is_junk_title(line)
    # as the metadata title, and as page 1's first line: the next heading is taken instead
    assert pdf_title(line, ["Tidal Report\nThe turbines ran all year."], "file") == "Tidal Report"
    assert pdf_title(None, [f"{line}\nTidal Report\nThe turbines ran all year."], "file") == "Tidal Report"


def test_the_real_freedesktop_spec_gets_its_printed_title():
    """The PDF the issue was found with, where Debian ships it (shared-mime-info's documentation)."""
    path = Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")
    if not path.is_file():
        pytest.skip("shared-mime-info-spec.pdf is not installed here")
    doc = load_file(path, max_bytes=1 << 24)
    assert doc.title == "Shared MIME-info Database"
    assert doc.pages[0].startswith("Shared MIME-info Database\n")
    assert not any(p.startswith("Shared MIME-info Database") for p in doc.pages[1:])
