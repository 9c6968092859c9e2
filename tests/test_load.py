"""Loading files: every kind of bad input fails with a specific one-line reason naming the file,
legacy encodings decode sensibly, and PDF pages come back one string per page."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
from pathlib import Path

import pytest

from ingest.formats import ReadLimits
from ingest.load import (
    MB,
    SUPPORTED_SUFFIXES,
    Document,
    LoadError,
    default_doc_id,
    discover,
    file_hash,
    load_file,
    text_document,
)
from tests.pdfs import make_image_only_pdf, make_pdf

LIMIT = 50 * MB


def load(path: Path, **kwargs) -> Document:
    return load_file(path, max_bytes=kwargs.pop("max_bytes", LIMIT), **kwargs)


def load_error(path: Path, **kwargs) -> LoadError:
    with pytest.raises(LoadError) as info:
        load(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{kwargs.get('source', path)}: ")
    return info.value


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.pdf"])
def test_zero_byte_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    assert load_error(path).reason == "empty file"


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:  # sparse: 120 MB on paper, nothing written
        handle.truncate(120 * MB)
    assert load_error(path, max_bytes=50 * MB).reason == "file is 120.0 MB, over the 50 MB limit"


def test_random_bytes_named_pdf(tmp_path: Path) -> None:
    path = tmp_path / "noise.pdf"
    path.write_bytes(os.urandom(4000))
    assert load_error(path).reason.startswith("not a readable PDF:")


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_pdf(tmp_path: Path, fraction: float) -> None:
    whole = make_pdf(tmp_path / "whole.pdf", ["First page text.", "Second page text."]).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(whole[: int(len(whole) * fraction)])
    reason = load_error(path).reason
    assert reason.startswith("not a readable PDF:")
    assert "truncated" in reason


def test_pdf_header_with_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"this is not a pdf body at all\n" * 50)
    assert load_error(path).reason.startswith("not a readable PDF:")


def test_text_file_renamed_to_pdf(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("just some notes, not a PDF\n", encoding="utf-8")
    assert load_error(path).reason.startswith("not a readable PDF: no PDF header")


def test_encrypted_pdf_needing_a_password(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "locked.pdf", ["Top secret text."], encrypt_password="hunter2")
    assert load_error(path).reason == "encrypted PDF (password required)"


def test_encrypted_pdf_with_empty_user_password_loads(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "restricted.pdf", ["Readable despite encryption."], encrypt_password="")
    doc = load(path)
    assert doc.pages == ["Readable despite encryption."]


def test_image_only_pdf_with_ocr_off(tmp_path: Path) -> None:
    path = make_image_only_pdf(tmp_path / "scan.pdf", pages=2)
    reason = load_error(path, limits=ReadLimits(ocr=False)).reason
    assert reason == "no extractable text (scanned or image-only PDF?); OCR is off (setting ocr)"


def test_image_only_pdf_without_ocr_pages_left(tmp_path: Path) -> None:
    path = make_image_only_pdf(tmp_path / "scan.pdf", pages=2)
    reason = load_error(path, limits=ReadLimits(max_ocr_pages=0)).reason
    assert reason.startswith("no extractable text, and no OCR pages left (2 scanned page(s) not OCR'd")
    assert "max_ocr_pages=0" in reason


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,  # NUL bytes
        bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 17, 0x7F, 0x80, 0x9F]) * 200,  # no NUL
        random.Random(0).randbytes(3000),
    ],
    ids=["png", "control-bytes", "random"],
)
@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_binary_content_with_text_suffix(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"blob{suffix}"
    path.write_bytes(data)
    assert load_error(path).reason == "binary content, not text"


@pytest.mark.parametrize("data", [b"   \n\t\n  \r\n", "\ufeff \n".encode(), "\u3000\n".encode()])
def test_whitespace_only_text(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "blank.md"
    path.write_bytes(data)
    assert load_error(path).reason == "no text"


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    assert load_error(tmp_path / "sheet.xlsx").reason == "unsupported file type .xlsx"
    assert load_error(tmp_path / "gone.txt").reason == "no such file"


def test_error_names_the_source_given(tmp_path: Path) -> None:
    path = tmp_path / "upload-123.txt"
    path.write_bytes(b"")
    error = load_error(path, source="report.txt")
    assert str(error) == "report.txt: empty file"
    assert error.path == "report.txt"


def test_message_only_form_of_load_error() -> None:
    error = LoadError("x.txt: no text to index")
    assert str(error) == "x.txt: no text to index"
    assert error.path is None


# --- text decoding -----------------------------------------------------------------------------

PHRASE = "Le café est naïve, très élégant à côté de la forêt.\n"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1252", "café naïve\n"),
        ("latin-1", "café naïve\n"),
        ("cp1252", PHRASE),
        ("latin-1", PHRASE),
        ("cp1252", "Smart “quotes” — café naïve résumé\n"),
        ("latin-1", "Ærøskøbing, straße, Grüße über alles.\n"),
    ],
)
def test_legacy_western_encodings_round_trip(tmp_path: Path, encoding: str, text: str) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    assert load(path).pages == [text]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_and_without_bom(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes(PHRASE.encode(encoding))
    assert load(path).pages == [PHRASE]


def test_utf8_bom_stripped_and_newlines_normalised(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf# Title\r\nline one\r\nline two\rline three\n")
    doc = load(path)
    assert doc.pages == ["# Title\nline one\nline two\nline three\n"]
    assert doc.title == "Title"


def test_cyrillic_legacy_text_is_not_forced_to_western(tmp_path: Path) -> None:
    text = "Привет, как дела? Это тестовый документ на русском языке, и он довольно длинный.\n"
    path = tmp_path / "ru.txt"
    path.write_bytes(text.encode("cp1251"))
    assert load(path).pages == [text]


# --- titles, ids, hashes ---------------------------------------------------------------------


def test_markdown_title_is_first_h1_outside_code(tmp_path: Path) -> None:
    path = tmp_path / "guide.markdown"
    path.write_text("Intro line\n```bash\n# not a title\n```\n## Sub\n#  Real Title  ##\n", encoding="utf-8")
    assert load(path).title == "Real Title"


def test_titles_fall_back_to_file_stem(tmp_path: Path) -> None:
    (tmp_path / "plain notes.txt").write_text("# Looks like a heading\nbody\n", encoding="utf-8")
    (tmp_path / "no-heading.md").write_text("## Only level two\nbody\n", encoding="utf-8")
    assert load(tmp_path / "plain notes.txt").title == "plain notes"
    assert load(tmp_path / "no-heading.md").title == "no-heading"
    untitled = make_pdf(tmp_path / "untitled.pdf", ["Some text."])
    assert load(untitled).title == "untitled"
    blank = make_pdf(tmp_path / "blank-title.pdf", ["Some text."], title="   ")
    assert load(blank).title == "blank-title"


def test_ids_sources_and_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello world\n")
    doc = load(path)
    assert doc.content_hash == hashlib.sha256(b"hello world\n").hexdigest() == file_hash(path)
    assert doc.doc_id == hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    assert doc.doc_id == default_doc_id(path)
    assert doc.source == str(path)
    assert doc.paged is False
    monkeypatch.chdir(tmp_path)
    relative = load(Path("a.txt"))
    assert relative.doc_id == doc.doc_id  # same file, same id, however it was named
    assert relative.source == "a.txt"
    custom = load(path, doc_id="doc-1", source="uploads/Shown Name.txt")
    assert (custom.doc_id, custom.source, custom.title) == ("doc-1", "uploads/Shown Name.txt", "Shown Name")


def test_text_document_for_non_file_text() -> None:
    doc = text_document("Body\r\ntext", title="T", source="pasted")
    assert doc.pages == ["Body\ntext"]
    assert doc.content_hash == hashlib.sha256(b"T\nBody\ntext").hexdigest()
    assert doc.doc_id == doc.content_hash[:16]
    assert doc.text == "Body\ntext"


def test_file_hash_streams_large_files(tmp_path: Path) -> None:
    data = os.urandom(3 * MB + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert file_hash(path) == hashlib.sha256(data).hexdigest()


# --- PDFs ------------------------------------------------------------------------------------


def test_multi_page_pdf_keeps_pages_and_metadata_title(tmp_path: Path) -> None:
    pages = [
        "Page one talks about apples.\nIt has an exam-\nple of hyphenation.",
        "",
        "Page three is about “cherries” — and café naïve.",
    ]
    path = make_pdf(tmp_path / "fruit.pdf", pages, title="Fruit Report")
    doc = load(path)
    assert doc.paged is True
    assert doc.title == "Fruit Report"
    assert len(doc.pages) == 3
    assert doc.pages[0] == "Page one talks about apples.\nIt has an example of hyphenation."
    assert doc.pages[1] == ""
    assert doc.pages[2] == 'Page three is about "cherries" - and café naïve.'
    assert doc.text == "\n\n".join(doc.pages)


def test_make_pdf_refuses_text_that_spills_onto_another_page(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        make_pdf(tmp_path / "long.pdf", ["Short page.", "line\n" * 200])
    with pytest.raises(ValueError, match="does not fit"):
        make_pdf(tmp_path / "huge.pdf", ["word " * 20000])


def test_make_pdf_is_deterministic(tmp_path: Path) -> None:
    a = make_pdf(tmp_path / "a.pdf", ["Same text."], title="T").read_bytes()
    b = make_pdf(tmp_path / "b.pdf", ["Same text."], title="T").read_bytes()
    assert a == b


def test_damaged_but_recoverable_pdf_loads_without_log_spam(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_pdf(tmp_path / "ok.pdf", ["Alpha page.", "Beta page."]).read_bytes()
    match = re.search(rb"startxref\s+(\d+)", data)
    assert match
    path = tmp_path / "bad-xref.pdf"
    path.write_bytes(data[: match.start(1)] + b"99999" + data[match.end(1) :])
    with caplog.at_level(logging.WARNING):
        doc = load(path)
    assert doc.pages == ["Alpha page.", "Beta page."]
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    assert logging.getLogger("pypdf").level == logging.NOTSET  # restored after loading


def test_uppercase_suffix_is_supported(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "SCAN.PDF", ["Upper case suffix."])
    assert load(path).pages == ["Upper case suffix."]


# --- discover ------------------------------------------------------------------------------


def test_discover_recurses_sorts_and_explains_skips(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / "b" / "deep").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a.md").write_text("a", encoding="utf-8")
    (root / "b" / "deep" / "c.txt").write_text("c", encoding="utf-8")
    (root / "b" / "z.PDF").write_bytes(b"%PDF-")
    (root / "b" / "image.png").write_bytes(b"\x89PNG")
    (root / "b" / "sheet.xlsx").write_bytes(b"PK")
    (root / "Makefile").write_text("all:", encoding="utf-8")
    (root / ".hidden.md").write_text("h", encoding="utf-8")
    (root / ".git" / "notes.md").write_text("g", encoding="utf-8")
    single = tmp_path / "single.markdown"
    single.write_text("s", encoding="utf-8")
    missing = tmp_path / "missing"

    found, skipped = discover([root, single, missing, root / "a.md"])

    assert found == [
        root / "a.md",
        root / "b" / "deep" / "c.txt",
        root / "b" / "image.png",
        root / "b" / "z.PDF",
        single,
    ]
    assert skipped == [
        (root / "Makefile", "unsupported file type (none)"),
        (root / "b" / "sheet.xlsx", "unsupported file type .xlsx"),
        (missing, "no such file or folder"),
    ]
    assert {p.suffix.lower() for p in found} <= SUPPORTED_SUFFIXES


def test_discover_accepts_an_explicit_hidden_file(tmp_path: Path) -> None:
    path = tmp_path / ".notes.md"
    path.write_text("x", encoding="utf-8")
    assert discover([path]) == ([path], [])
