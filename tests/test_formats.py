"""Word, PowerPoint and web pages: what is read (and what is left out), titles, and how a passage is
cited. Files other producers wrote (tests/fixtures/formats, see SOURCES.md) and generated ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunk import Chunker
from ingest.load import MB, Document, LoadError, load_file
from search.judgments import passage_key
from search.models import Chunk
from search.settings import Settings
from tests.office_files import FIXTURES, make_docx, make_pptx


def load(path: Path, **kwargs: object) -> Document:
    return load_file(path, max_bytes=50 * MB, **kwargs)


def reason(path: Path, **kwargs: object) -> str:
    with pytest.raises(LoadError) as info:
        load(path, **kwargs)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
    return info.value.reason


# --- files other producers wrote ----------------------------------------------------------------


def test_word_paragraphs_and_tables_in_reading_order_nested_tables_included() -> None:
    doc = load(FIXTURES / "blk-paras-and-tables.docx")
    assert not doc.paged and doc.title == "blk-paras-and-tables"
    text = doc.text
    assert text.index("Lorem ipsum") < text.index("Text before") < text.index("Donec semper")
    assert "Table Between" in text  # a table nested in a table cell


def test_word_comments_headers_and_footers_are_left_out() -> None:
    commented = load(FIXTURES / "comments-rich-para.docx").text
    assert "Some text worthy of note." in commented and "Text with hyperlink" not in commented
    sections = load(FIXTURES / "hdr-header-footer.docx").text
    assert "section with header" in sections
    assert "Header for section-1" not in sections and "Footer for section 1" not in sections


def test_word_heading_styles_start_sections() -> None:
    doc = load(FIXTURES / "par-known-styles.docx")
    assert doc.sections == ((doc.text.index("Heading 1"), "Heading 1"),)


def test_slides_are_pages_with_titles_tables_and_notes() -> None:
    deck = load(FIXTURES / "python-pptx-test.pptx")
    assert deck.paged and deck.pages == ["Presentation Title Text\nSubtitle Text"]
    tables = load(FIXTURES / "tbl-cell.pptx")
    assert len(tables.pages) == 3 and tables.pages[2] == "a | b | c\nd | e | f\ng | h | i"
    notes = load(FIXTURES / "sld-notes.pptx")
    assert notes.pages == ["Notes: Notes", ""]  # the empty second slide keeps its number


def test_a_deck_without_text_is_refused_by_name() -> None:
    assert reason(FIXTURES / "shp-groupshape.pptx") == "no text on any slide"


def test_web_page_from_another_producer_keeps_the_article() -> None:
    doc = load(FIXTURES / "libffi-thread-safety.html")
    assert doc.title.startswith("Thread Safety")
    assert "libffi is not completely thread-safe" in doc.text
    assert "Permission is hereby granted" not in doc.text  # an HTML comment


# --- generated files ----------------------------------------------------------------------------

REPORT = [
    ("h1", "Harbour annual report"),
    ("p", "The port handled more ships than ever before in its history."),
    ("h1", "3 Dredging programme"),
    ("h2", "3.1 Northern channel"),
    ("p", "The dredgers removed forty thousand cubic metres of silt from the northern channel."),
    ("table", [["Phase", "Volume"], ["One", "40,000 m3"]]),
    ("h1", "4 Wildlife"),
    ("p", "Terns returned to the sandbank once the dredgers had left."),
]


def test_word_headings_become_the_citation_of_each_passage(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "report.docx", REPORT, title="Harbour report 2024")
    doc = load(path)
    assert doc.title == "Harbour report 2024"
    assert "RUNNING HEADER TEXT" not in doc.text and "Phase | Volume\nOne | 40,000 m3" in doc.text
    # a heading directly followed by a subheading is not a section of its own
    assert [label for _, label in doc.sections] == [
        "Harbour annual report",
        "3 Dredging programme › 3.1 Northern channel",
        "4 Wildlife",
    ]
    chunks = Chunker.for_model(Settings().embedding_model, 40, 8).chunk(doc)
    cited = {c.citation() for c in chunks if "silt" in c.text}
    assert cited == {"report.docx, § 3 Dredging programme › 3.1 Northern channel"}
    # sections are chunked apart, so no passage mixes two sections
    assert all(("Terns" in c.text) == (c.section == "4 Wildlife") for c in chunks)


def test_slides_are_cited_and_judged_as_slides(tmp_path: Path) -> None:
    path = make_pptx(
        tmp_path / "deck.pptx",
        [
            ("Welcome", "Agenda for the harbour board", ""),
            ("Budget", "Spending on quay repairs", "Ask about the crane"),
            ("Dredging", "Forty thousand cubic metres of silt", "Mention the terns"),
        ],
    )
    doc = load(path)
    assert doc.title == "Welcome" and len(doc.pages) == 3
    assert doc.pages[2] == "Dredging\nForty thousand cubic metres of silt\nNotes: Mention the terns"
    chunk = Chunk("d:1", "d", str(path), "Welcome", "silt", page_start=3, page_end=3)
    assert chunk.citation() == "deck.pptx, slide 3"
    assert passage_key(chunk) == passage_key(Chunk("d:2", "d", str(path), "", "x", page_start=3))
    two = Chunk("d:1", "d", "deck.pptx", "", "x", page_start=2, page_end=3)
    assert two.citation() == "deck.pptx, slides 2–3"
    assert Chunk("p:1", "p", "a.pdf", "", "x", page_start=2).citation() == "a.pdf, p. 2"


def test_a_slide_limit_cuts_the_deck_and_says_so(tmp_path: Path) -> None:
    path = make_pptx(tmp_path / "long.pptx", [(f"Slide {i}", f"Body {i}", "") for i in range(1, 6)])
    doc = load(path, max_pages=3)
    assert len(doc.pages) == 3
    assert doc.notes == ("only the first 3 of 5 slides were indexed (limit max_pdf_pages=3)",)


def test_web_page_boilerplate_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "news.htm"
    path.write_text(
        "<html><head><title>Harbour news</title><style>.x{color:red}</style>"
        "<script>var tracking = 'SCRIPTTEXT';</script></head><body>"
        "<nav><a href='/'>Home</a> <a href='/about'>About NAVTEXT</a></nav>"
        "<div class='cookie-banner'>We use cookies COOKIETEXT. Accept all</div>"
        "<article><h1>Dredging the northern channel</h1>"
        "<p>The harbour dredging programme removed forty thousand cubic metres of silt from the "
        "northern channel in the spring, the harbour master said.</p>"
        "<p>Work resumes in autumn when the terns have left the sandbank near the lighthouse.</p>"
        "</article><footer>Copyright Port of X FOOTERTEXT</footer></body></html>",
        encoding="utf-8",
    )
    doc = load(path)
    assert doc.title == "Dredging the northern channel"
    assert "forty thousand cubic metres" in doc.text and "terns have left" in doc.text
    for noise in ("SCRIPTTEXT", "NAVTEXT", "COOKIETEXT", "FOOTERTEXT", "color:red"):
        assert noise not in doc.text


def test_a_web_page_with_no_article_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    path.write_text("<html><head><script>var x = 1;</script></head><body><script>y()</script></body></html>")
    assert reason(path).startswith("no main text found in the web page")


def test_a_text_file_renamed_to_docx_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_text("just text", encoding="utf-8")
    assert reason(path).startswith("not a readable .docx file: not a zip package")


def test_ocr_page_limits_combine_per_file_and_per_ingest() -> None:
    from ingest.formats import NO_LIMIT, ReadLimits

    settings = Settings(max_ocr_pages=50)
    assert ReadLimits.of(settings).max_ocr_pages == 50
    assert ReadLimits.of(settings, ocr_pages_left=7).max_ocr_pages == 7
    assert ReadLimits.of(settings, ocr_pages_left=0).max_ocr_pages == 0  # the run's budget is spent
    unlimited = Settings(max_ocr_pages=0)  # 0: no limit per file
    assert ReadLimits.of(unlimited).max_ocr_pages == NO_LIMIT
    assert ReadLimits.of(unlimited, ocr_pages_left=3).max_ocr_pages == 3
    assert ReadLimits.of(Settings(ocr=False)).ocr is False
