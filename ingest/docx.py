"""Word documents (.docx) with python-docx: paragraphs, headings and tables in reading order.

The body is read in document order (tables where they stand, one line per row with cells joined
by " | "); headers, footers, comments and footnotes are left out, as they repeat or annotate rather
than say. Headings ("Heading 1".."Heading 9" styles) give each passage a heading path, which its
citation shows ("report.docx, § 3 Dredging programme").
"""

from __future__ import annotations

import io
import re
from typing import Any

from ingest.errors import LoadError
from ingest.formats import Parsed, ReadLimits
from ingest.package import check_package

_HEADING = re.compile(r"^heading ([1-9])$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: A heading path longer than this is cut from the left (the nearest headings matter most).
MAX_SECTION_CHARS = 160


def read_docx(data: bytes, name: str, limits: ReadLimits) -> Parsed:
    """The body text as one page, with the sections its headings start."""
    notes = check_package(data, name, ".docx", limits)
    from docx import Document as open_docx

    try:
        document = open_docx(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors ...
        raise LoadError(name, f"not a readable .docx file: {type(exc).__name__}: {exc}"[:200]) from None
    parts: list[str] = []
    sections: list[tuple[int, str]] = []
    path: list[str] = []
    offset = 0
    for block in blocks:
        level, text = _block(block)
        if not text:
            continue
        if level:
            path = [*path[: level - 1], text]
            sections.append((offset, " › ".join(path)[-MAX_SECTION_CHARS:]))
        parts.append(text)
        offset += len(text) + 2
    if not parts:
        raise LoadError(name, "no text in the document body")
    return Parsed(["\n\n".join(parts)], False, _title(document), notes, _with_body(sections, parts))


def _block(block: Any) -> tuple[int, str]:
    """(heading level or 0, text) of a paragraph or a table."""
    if hasattr(block, "rows"):
        return 0, _table_text(block)
    text = _clean(block.text)
    style = getattr(block.style, "name", "") or ""
    match = _HEADING.match(style)
    return (int(match.group(1)) if match and text else 0), text


def _table_text(table: Any) -> str:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(_cell_text(cell).split())
            if text and (not cells or cells[-1] != text):  # a merged cell repeats per grid column
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def _cell_text(cell: Any) -> str:
    """A cell's paragraphs and nested tables, in order."""
    return "\n".join(text for _, text in map(_block, cell.iter_inner_content()) if text)


def _clean(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _with_body(sections: list[tuple[int, str]], parts: list[str]) -> list[tuple[int, str]]:
    """Sections that hold more than their heading: a heading directly followed by a subheading
    would otherwise be cited for the subheading's passages."""
    kept = []
    for i, (start, label) in enumerate(sections):
        following = sections[i + 1][0] if i + 1 < len(sections) else None
        heading_only = following is not None and following <= start + len(label.split(" › ")[-1]) + 2
        if not heading_only:
            kept.append((start, label))
    return kept


def _title(document: Any) -> str | None:
    """The core properties' title, else the first paragraph in the Title style or a level-1 heading."""
    try:
        title = (document.core_properties.title or "").strip()
    except Exception:
        title = ""
    if title:
        return " ".join(title.split())[:300]
    for paragraph in document.paragraphs[:200]:
        style = (getattr(paragraph.style, "name", "") or "").lower()
        if style in {"title", "heading 1"} and paragraph.text.strip():
            return " ".join(paragraph.text.split())[:300]
    return None
