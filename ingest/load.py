"""Turn files on disk into `Document`s: plain text per page, a title, and stable ids.

Every failure is a `LoadError` whose one-line message names the file and says what is wrong with
it, so the CLI and the app can list skipped files without a traceback. Loading is deliberately
lossless-ish: PDF page text gets light cleanup only, so chunk char offsets stay meaningful.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from ingest.errors import LoadError
from ingest.formats import (
    MARKDOWN_SUFFIXES,
    MB,
    PDF_SUFFIXES,
    SUPPORTED_SUFFIXES,
    TEXT_SUFFIXES,
    Progress,
    ReadLimits,
    parse,
)
from ingest.pdf import read_pdf
from ingest.pdf_text import pdf_title, strip_page_furniture
from ingest.text import decode_text, markdown_title, normalize_newlines
from search.settings import Settings

#: Sizes are reported and limited in MiB (`MB`); the suffix sets live in `ingest.formats`.
__all__ = ["MB", "SUPPORTED_SUFFIXES", "TEXT_SUFFIXES", "Document", "LoadError", "load_file"]

_HASH_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded file (or text) before chunking; `pages` keeps PDF page boundaries for citations."""

    doc_id: str
    source: str
    title: str
    pages: list[str]
    paged: bool
    content_hash: str
    #: What the reader should know about how this file went in: pages that could not be read,
    #: text cut at a limit. Empty for a file read whole.
    notes: tuple[str, ...] = ()
    #: (char offset into `text`, heading path) where each section starts (.docx); cited with a hit.
    sections: tuple[tuple[int, str], ...] = ()
    #: Pages (or images) read by OCR, and the seconds that took.
    ocr_pages: int = 0
    ocr_seconds: float = 0.0

    @property
    def text(self) -> str:
        """The full text the chunker offsets refer to: pages joined by a blank line."""
        return "\n\n".join(self.pages)


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders into loadable files, and say why anything else was left out.

    Folders are walked recursively in sorted order; hidden files and folders inside them (names
    starting with ".") are ignored silently, as are duplicates. Paths given explicitly are never
    treated as hidden, so `discover([Path(".notes/a.md")])` works.
    """
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def consider(path: Path) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        if not path.is_file():
            skipped.append((path, "not a regular file"))
        elif path.suffix.lower() in SUPPORTED_SUFFIXES:
            found.append(path)
        else:
            skipped.append((path, _unsupported_reason(path)))

    for raw in paths:
        path = Path(raw)
        if not path.exists():
            skipped.append((path, "no such file or folder"))
        elif path.is_dir():
            for file in _walk(path):
                consider(file)
        else:
            consider(path)
    return found, skipped


def _walk(root: Path) -> list[Path]:
    """Files under `root` sorted by path, skipping hidden entries; folder symlinks are not
    followed (no loops), file symlinks are."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        files.extend(Path(dirpath) / name for name in filenames if not name.startswith("."))
    return sorted(files)


def _unsupported_reason(path: Path) -> str:
    return f"unsupported file type {path.suffix.lower()}" if path.suffix else "unsupported file type (none)"


def file_hash(path: Path) -> str:
    """sha256 hex of a file's bytes, read in blocks so large files need no extra memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def default_doc_id(path: Path) -> str:
    """Stable per location: the same file re-ingested keeps its id, so re-indexing replaces it."""
    return doc_id_of_resolved(Path(path).resolve())


def doc_id_of_resolved(path: Path) -> str:
    """`default_doc_id` of a path that is already resolved (saves a `resolve()` per file)."""
    return hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:16]


def load_file(
    path: Path,
    *,
    max_bytes: int,
    doc_id: str | None = None,
    source: str | None = None,
    max_pages: int = Settings.max_pdf_pages,
    max_chars: int = Settings.max_file_chars,
    limits: ReadLimits | None = None,
    progress: Progress | None = None,
) -> Document:
    """Load one file of a supported type (`ingest.formats`); raise `LoadError` with a specific
    reason otherwise.

    Past `max_pages` pages (slides) or `max_chars` characters (0: no limit) the rest of the file is
    left out, and `Document.notes` says so, naming the limit; `limits` bound OCR and Office
    packages, and `progress(done, total)` hears of each page OCR'd.
    """
    path = Path(path)
    shown = source if source is not None else str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(shown, _unsupported_reason(path))
    data = _read_bytes(path, shown, max_bytes)
    content_hash = hashlib.sha256(data).hexdigest()
    doc_id = doc_id or default_doc_id(path)
    stem = PurePath(shown).stem or path.stem  # an upload's display name, not its temp name
    limits = limits or ReadLimits()
    if suffix in TEXT_SUFFIXES:
        text = decode_text(data, shown)
        title = (markdown_title(text) if suffix in MARKDOWN_SUFFIXES else None) or stem
        pages, cut = limit_chars([text], max_chars)
        return Document(doc_id, shown, title, pages, False, content_hash, cut)
    if suffix in PDF_SUFFIXES:
        parsed = read_pdf(data, shown, max_pages, limits, progress)
        parsed.title = pdf_title(parsed.title, parsed.pages, stem)  # page 1 as printed: may be the header
        parsed.pages = strip_page_furniture(parsed.pages, parsed.title)  # not what a passage says
    else:
        parsed = parse(suffix, data, shown, max_pages, limits, progress)
    pages, cut = limit_chars(parsed.pages, max_chars)
    total = sum(len(p) + 2 for p in pages)
    return Document(
        doc_id,
        shown,
        parsed.title or stem,
        pages,
        parsed.paged,
        content_hash,
        (*parsed.notes, *cut),
        tuple((start, label) for start, label in parsed.sections if start < total),
        parsed.ocr_pages,
        round(parsed.ocr_seconds, 3),
    )


def _read_bytes(path: Path, shown: str, max_bytes: int) -> bytes:
    """The file's bytes, refused when missing, empty, not a regular file or over `max_bytes`."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise LoadError(shown, "not a regular file")
        if size == 0:
            raise LoadError(shown, "empty file")
        if size > max_bytes:
            raise LoadError(shown, f"file is {size / MB:.1f} MB, over the {max_bytes / MB:g} MB limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise LoadError(shown, "no such file") from None
    except OSError as exc:
        raise LoadError(shown, f"cannot read file: {exc.strerror or exc}") from exc
    if not data:  # the file shrank between stat and read
        raise LoadError(shown, "empty file")
    return data


def limit_chars(pages: list[str], max_chars: int) -> tuple[list[str], tuple[str, ...]]:
    """`pages` cut to `max_chars` characters in all (0: no limit), and a note if anything was cut.

    Pages after the cut are dropped, so page numbers of what is kept stay right."""
    total = sum(len(p) for p in pages)
    if max_chars <= 0 or total <= max_chars:
        return pages, ()
    kept: list[str] = []
    room = max_chars
    for page in pages:
        if room <= 0:
            break
        kept.append(page[:room])
        room -= len(page)
    return kept, (
        f"only the first {max_chars:,} of {total:,} characters were indexed "
        f"(limit max_file_chars={max_chars})",
    )


def text_document(text: str, *, title: str, source: str, doc_id: str | None = None) -> Document:
    """A `Document` for text that never was a file (pasted text, test fixtures, datasets)."""
    text = normalize_newlines(text).lstrip("\ufeff")
    content_hash = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    return Document(doc_id or content_hash[:16], source, title, [text], False, content_hash)
