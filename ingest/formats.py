"""Which file types are read, by what, and within which limits: the one table `load_file` follows.

Every reader takes the file's bytes and returns `Parsed` (page texts, a title if the file names
one, notes on what was left out, and OCR costs); each lives in its own module and imports its
library lazily, so a text-only ingest never loads python-docx, trafilatura or the OCR models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from search.settings import Settings

MB = 1024 * 1024
PDF_SUFFIXES = {".pdf"}
TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
DOCX_SUFFIXES = {".docx"}
PPTX_SUFFIXES = {".pptx"}
HTML_SUFFIXES = {".html", ".htm"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"}
SUPPORTED_SUFFIXES = (
    PDF_SUFFIXES | TEXT_SUFFIXES | DOCX_SUFFIXES | PPTX_SUFFIXES | HTML_SUFFIXES | IMAGE_SUFFIXES
)

#: The kinds read, in words, for help texts and messages.
KINDS = "PDF, Word (.docx), PowerPoint (.pptx), web pages (.html), text (.txt, .md) and images (OCR)"

#: A page count that stands for "no limit" (a setting of 0).
NO_LIMIT = 10**9

#: `progress(done, total)`: pages OCR'd so far of a file; lets a slow file show it is moving.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """The per-file limits a reader obeys beyond size, pages and characters (see `Settings`).
    Plain data, so it crosses to the loader's worker process as JSON."""

    ocr: bool = Settings.ocr
    max_ocr_pages: int = Settings.max_ocr_pages
    ocr_dpi: int = Settings.ocr_dpi
    max_image_megapixels: float = Settings.max_image_megapixels
    max_zip_members: int = Settings.max_zip_members
    max_unzipped_mb: float = Settings.max_unzipped_mb

    @classmethod
    def of(cls, settings: Settings, ocr_pages_left: int | None = None) -> ReadLimits:
        """The settings' limits; `ocr_pages_left` (what the ingest run has left, None: no limit)
        caps OCR further. `max_ocr_pages` here is a count (0: none left), never "no limit"."""
        per_file = settings.max_ocr_pages if settings.max_ocr_pages > 0 else NO_LIMIT
        pages = max(0, min(per_file, NO_LIMIT if ocr_pages_left is None else ocr_pages_left))
        return cls(
            settings.ocr,
            pages,
            settings.ocr_dpi,
            settings.max_image_megapixels,
            settings.max_zip_members,
            settings.max_unzipped_mb,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReadLimits:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(slots=True)
class Parsed:
    """What a reader found in one file, before the generic cleanup and character limit."""

    pages: list[str]
    paged: bool
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    #: (char offset into the pages joined by blank lines, heading path): where each section begins
    sections: list[tuple[int, str]] = field(default_factory=list)
    ocr_pages: int = 0
    ocr_seconds: float = 0.0


def parse(
    suffix: str, data: bytes, name: str, max_pages: int, limits: ReadLimits, progress: Progress | None
) -> Parsed:
    """The reader for `suffix` applied to `data` (`name` is what errors call the file)."""
    if suffix in DOCX_SUFFIXES:
        from ingest.docx import read_docx

        return read_docx(data, name, limits)
    if suffix in PPTX_SUFFIXES:
        from ingest.pptx import read_pptx

        return read_pptx(data, name, max_pages, limits)
    if suffix in HTML_SUFFIXES:
        from ingest.html import read_html

        return read_html(data, name)
    if suffix in IMAGE_SUFFIXES:
        from ingest.images import read_image

        return read_image(data, name, max_pages, limits, progress)
    raise ValueError(f"no reader for {suffix}")  # PDF and text are read by `load_file` itself
