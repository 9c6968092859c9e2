"""Hostile files are refused (or cut) with a reason naming the limit, cheaply and in the loader's
worker process: zip bombs, packages of thousands of parts, nested zips, XML entity attacks, a
50,000-slide deck, a 100-megapixel image and a decompression-bomb PNG. All are small on disk."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.formats import ReadLimits
from ingest.isolate import load_isolated
from ingest.load import MB, Document, LoadError
from ingest.pdf_ocr import _scale
from tests.office_files import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    docx_parts,
    docx_with_doctype,
    docx_with_nested_zip,
    docx_zip_bomb,
    png_header_only,
    pptx_with_slides,
    word_xml,
    write_zip,
)

#: The worker's limits for these loads: a refusal must come from the checks, well inside them.
TIMEOUT_S, MEMORY_MB = 60.0, 1024


def isolated(path: Path, **limits: object) -> Document:
    return load_isolated(
        path,
        max_bytes=50 * MB,
        max_pages=1000,
        timeout_s=TIMEOUT_S,
        memory_mb=MEMORY_MB,
        limits=ReadLimits(**limits),  # type: ignore[arg-type]
    )


def refusal(path: Path, **limits: object) -> str:
    started = time.monotonic()
    with pytest.raises(LoadError) as info:
        isolated(path, **limits)
    assert time.monotonic() - started < TIMEOUT_S  # refused by a check, not stopped by the clock
    assert "load_timeout_s" not in info.value.reason and "load_memory_mb" not in info.value.reason
    return info.value.reason


def test_a_part_inflating_to_gigabytes_is_refused_from_the_zip_directory(tmp_path: Path) -> None:
    bomb = docx_zip_bomb(tmp_path / "bomb.docx", gigabytes=2)
    assert bomb.stat().st_size < 5 * MB
    reason = refusal(bomb)
    assert reason.startswith("refused: the package would unpack to 2,048 MB (word/media/bomb.bin: 2,048 MB)")
    assert reason.endswith("over the 500 MB limit (limit max_unzipped_mb=500)")


def test_a_package_of_thousands_of_parts_is_refused(tmp_path: Path) -> None:
    many = write_zip(tmp_path / "many.docx", docx_parts(word_xml("Many parts.")), extra=20_000)
    assert refusal(many) == (
        "refused: the package has 20,003 parts, over the limit of 10,000 (limit max_zip_members=10000)"
    )


def test_a_50000_slide_deck_is_refused_by_its_part_count(tmp_path: Path) -> None:
    deck = pptx_with_slides(tmp_path / "huge.pptx", 50_000)
    reason = refusal(deck)
    assert "50,001 parts" in reason and "max_zip_members" in reason


def test_a_nested_zip_is_never_opened_and_the_note_says_so(tmp_path: Path) -> None:
    doc = isolated(docx_with_nested_zip(tmp_path / "nested.docx"))
    assert doc.text == "The nested package report."
    assert doc.notes == ("1 embedded file(s) not read: word/embeddings/nested.zip",)


@pytest.mark.parametrize("doctype", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "xxe"])
def test_xml_entity_attacks_are_refused(tmp_path: Path, doctype: str) -> None:
    body = "&lol9;" if "lolz" in doctype else "&secret;"
    reason = refusal(docx_with_doctype(tmp_path / "entities.docx", doctype, body))
    assert reason.startswith("refused: part word/document.xml declares a DTD (<!DOCTYPE>)")
    assert "root:" not in reason  # nothing of /etc/passwd


def test_a_100_megapixel_image_is_refused_before_decoding(tmp_path: Path) -> None:
    photo = png_header_only(tmp_path / "big.png", 10_000, 10_000, rows=10_000)  # a whole, valid image
    assert photo.stat().st_size < MB
    assert refusal(photo) == (
        "refused: the image is 10,000 x 10,000 pixels (100 megapixels), over the 40-megapixel limit "
        "(limit max_image_megapixels=40)"
    )


def test_a_decompression_bomb_png_is_refused(tmp_path: Path) -> None:
    bomb = png_header_only(tmp_path / "bomb.png", 50_000, 50_000)
    assert bomb.stat().st_size < 100_000
    reason = refusal(bomb)
    assert reason.startswith("refused:") and "limit max_image_megapixels=40" in reason


def test_image_limits_hold_with_ocr_off_too(tmp_path: Path) -> None:
    bomb = png_header_only(tmp_path / "bomb.png", 50_000, 50_000)
    assert refusal(bomb, ocr=False) == "an image is read by OCR, which is off (setting ocr=false)"


def test_a_huge_scanned_page_is_rendered_within_the_pixel_limit() -> None:
    limits = ReadLimits(ocr_dpi=150, max_image_megapixels=40)
    width, height = 14_400.0, 14_400.0  # a 200-inch square page, PDF's largest
    scale = _scale((width, height), limits)
    assert (width * scale) * (height * scale) <= 40e6 * 1.0001
    assert _scale((595.0, 842.0), limits) == pytest.approx(150 / 72)  # A4 at the set resolution
