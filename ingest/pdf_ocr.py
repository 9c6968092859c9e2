"""Scanned PDF pages: a page with (next to) no text layer is rendered with PDFium and OCR'd.

Only such pages are OCR'd, so a mixed PDF (typed pages and scanned ones) keeps its own text where it
has it, and every page keeps its number. Pages are rendered at `ocr_dpi`, less for a page so large
that it would pass `max_image_megapixels`, and at most `max_ocr_pages` of them per file.
"""

from __future__ import annotations

import math
import time

from ingest.formats import Progress, ReadLimits
from ingest.ocr import ocr_image
from ingest.pdf import clean_pdf_text

#: A page whose text layer has fewer characters than this (a stamped page number, a scanner's
#: footer) counts as a scan.
MIN_TEXT_CHARS = 16


def blank_pages(texts: list[str | None]) -> list[int]:
    """0-based indexes of pages whose text layer is (nearly) empty. A page whose text could not be
    extracted (None: pypdf's decompression cap, a damaged stream) is not one: rendering it would
    inflate the very stream that was refused."""
    return [i for i, text in enumerate(texts) if text is not None and len(text.strip()) < MIN_TEXT_CHARS]


def ocr_blank_pages(
    data: bytes, texts: list[str | None], limits: ReadLimits, progress: Progress | None
) -> tuple[list[str], list[str], int, float]:
    """(page texts with scans OCR'd, notes, pages OCR'd, seconds). OCR text replaces a page's text
    layer only where it found more; a page that failed extraction stays empty."""
    blank = blank_pages(texts)
    texts = [text or "" for text in texts]
    if not blank or not limits.ocr:
        return texts, [], 0, 0.0
    budget = max(0, limits.max_ocr_pages)
    todo, left_out = blank[:budget], blank[budget:]
    notes = []
    if left_out:
        shown = ", ".join(str(i + 1) for i in left_out[:10]) + (" ..." if len(left_out) > 10 else "")
        notes.append(
            f"{len(left_out):,} scanned page(s) not OCR'd (pages {shown}): over the OCR limit "
            f"(limit max_ocr_pages={limits.max_ocr_pages}, or the ingest's max_ocr_pages_per_ingest)"
        )
    if not todo:
        return texts, notes, 0, 0.0
    import pypdfium2 as pdfium

    started = time.perf_counter()
    pdf = pdfium.PdfDocument(data)
    try:
        for done, index in enumerate(todo):
            if progress is not None:
                progress(done, len(todo))
            page = pdf[index]
            try:
                image = page.render(scale=_scale(page.get_size(), limits)).to_pil()
            finally:
                page.close()
            found = clean_pdf_text(ocr_image(image))
            if len(found.strip()) > len(texts[index].strip()):
                texts[index] = found
    finally:
        pdf.close()
    if progress is not None:
        progress(len(todo), len(todo))
    return texts, notes, len(todo), time.perf_counter() - started


def _scale(size: tuple[float, float], limits: ReadLimits) -> float:
    """Pixels per PDF point: `ocr_dpi`, lowered so the page stays within `max_image_megapixels`."""
    width, height = size
    scale = max(1, limits.ocr_dpi) / 72
    if limits.max_image_megapixels > 0 and width > 0 and height > 0:
        scale = min(scale, math.sqrt(limits.max_image_megapixels * 1e6 / (width * height)))
    return scale
