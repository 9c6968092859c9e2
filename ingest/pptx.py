"""Slide decks (.pptx) with python-pptx: one page per slide, so a hit cites "deck.pptx, slide 3" and
counts as that slide for judgments, as a PDF hit counts as its page.

A slide's page is its title, then the text of its other shapes (text boxes, placeholders, tables,
shapes inside groups) in the deck's order, then its speaker notes. An empty slide keeps an empty
page, so slide numbers stay right.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from ingest.errors import LoadError
from ingest.formats import Parsed, ReadLimits
from ingest.package import check_package

#: Nesting of group shapes followed; deeper groups are skipped (a hostile deck could nest without end).
_MAX_GROUP_DEPTH = 16


def read_pptx(data: bytes, name: str, max_slides: int, limits: ReadLimits) -> Parsed:
    """Slide texts, one per slide (the first `max_slides` if over 0), and the deck's title."""
    notes = check_package(data, name, ".pptx", limits)
    from pptx import Presentation

    try:
        deck = Presentation(io.BytesIO(data))
        slides = list(deck.slides)
    except Exception as exc:  # python-pptx raises KeyError, ValueError, lxml errors ...
        raise LoadError(name, f"not a readable .pptx file: {type(exc).__name__}: {exc}"[:200]) from None
    if not slides:
        raise LoadError(name, "no slides")
    if 0 < max_slides < len(slides):
        notes.append(
            f"only the first {max_slides:,} of {len(slides):,} slides were indexed "
            f"(limit max_pdf_pages={max_slides})"
        )
        slides = slides[:max_slides]
    try:
        pages = [_slide_text(slide) for slide in slides]
    except Exception as exc:
        raise LoadError(name, f"not a readable .pptx file: {type(exc).__name__}: {exc}"[:200]) from None
    if not any(p.strip() for p in pages):
        raise LoadError(name, "no text on any slide")
    return Parsed(pages, True, _title(deck, slides), notes)


def _slide_text(slide: Any) -> str:
    title_shape = slide.shapes.title
    lines = [_shape_text(title_shape)] if title_shape is not None else []
    for shape in _shapes(slide.shapes, 0):
        if title_shape is None or shape.shape_id != title_shape.shape_id:
            lines.append(_shape_text(shape))
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = slide.notes_slide.notes_text_frame.text.strip()
        if notes:
            lines.append(f"Notes: {notes}")
    return "\n".join(line for line in lines if line)


def _shapes(shapes: Any, depth: int) -> Iterator[Any]:
    for shape in shapes:
        if hasattr(shape, "shapes"):  # a group
            if depth < _MAX_GROUP_DEPTH:
                yield from _shapes(shape.shapes, depth + 1)
        else:
            yield shape


def _shape_text(shape: Any) -> str:
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [" | ".join(c.text.strip() for c in row.cells if c.text.strip()) for row in shape.table.rows]
        return "\n".join(r for r in rows if r)
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        return _clean(shape.text_frame.text)
    return ""


def _clean(text: str) -> str:
    # python-pptx returns a line break inside a paragraph as a vertical tab
    return "\n".join(line.strip() for line in text.replace("\x0b", "\n").split("\n") if line.strip())


def _title(deck: Any, slides: list[Any]) -> str | None:
    try:
        title = (deck.core_properties.title or "").strip()
    except Exception:
        title = ""
    if not title:
        for slide in slides[:5]:
            shape = slide.shapes.title
            if shape is not None and shape.text_frame.text.strip():
                title = shape.text_frame.text.strip()
                break
    return " ".join(title.split())[:300] or None
