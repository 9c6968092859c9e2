"""Turn files on disk into `Document`s: plain text per page, a title, and stable ids.

Every failure is a `LoadError` whose one-line message names the file and says what is wrong with
it, so the CLI and the app can list skipped files without a traceback. Loading is deliberately
lossless-ish: PDF page text gets light cleanup only, so chunk char offsets stay meaningful.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ingest.pdf_text import pdf_title, strip_page_furniture
from search.errors import DocumentError
from search.settings import Settings

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".pdf", ".txt", ".md", ".markdown"}
TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
#: Sizes are reported and limited in MiB; callers turn `Settings.max_file_mb` into bytes with this.
MB = 1024 * 1024

_HASH_BLOCK = 1 << 20
#: Share of control / replacement characters above which decoded "text" is treated as binary.
_MAX_BAD_CHAR_RATIO = 0.01
#: Legacy encodings preferred when charset-normalizer ranks them (near) equal to its best guess:
#: short Western files are otherwise often "detected" as cp1006/cp775 and decoded as mojibake.
_PREFERRED_LEGACY = ("cp1252", "latin_1", "iso8859_15")


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

    @property
    def text(self) -> str:
        """The full text the chunker offsets refer to: pages joined by a blank line."""
        return "\n\n".join(self.pages)


class LoadError(DocumentError):
    """A file that cannot be indexed; `str()` is `<file>: <reason>` on one line.

    `LoadError(path, reason)` is the normal form; `LoadError(message)` is accepted too (then
    `.path` is None and `.reason` is the whole message).
    """

    def __init__(self, path: str | Path, reason: str | None = None) -> None:
        if reason is None:
            self.path: str | None = None
            self.reason = " ".join(str(path).split())
            super().__init__(self.reason)
        else:
            self.path = str(path)
            self.reason = " ".join(reason.split())
            super().__init__(f"{self.path}: {self.reason}")


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
) -> Document:
    """Load one PDF, text or markdown file; raise `LoadError` with a specific reason otherwise.

    Past `max_pages` PDF pages or `max_chars` characters (0: no limit) the rest of the file is left
    out, and `Document.notes` says so, naming the limit.
    """
    path = Path(path)
    shown = source if source is not None else str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(shown, _unsupported_reason(path))
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

    content_hash = hashlib.sha256(data).hexdigest()
    doc_id = doc_id or default_doc_id(path)
    stem = PurePath(shown).stem or path.stem  # an upload's display name, not its temp name
    if suffix == ".pdf":
        pages, meta_title, notes = _read_pdf(data, shown, max_pages)
        pages = strip_page_furniture(pages)  # running headers/footers: not what a passage says
        pages, cut = limit_chars(pages, max_chars)
        title = pdf_title(meta_title, pages, stem)
        return Document(doc_id, shown, title, pages, True, content_hash, (*notes, *cut))
    text = decode_text(data, shown)
    title = (markdown_title(text) if suffix in MARKDOWN_SUFFIXES else None) or stem
    pages, cut = limit_chars([text], max_chars)
    return Document(doc_id, shown, title, pages, False, content_hash, cut)


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


# --- text files ------------------------------------------------------------------------------

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_text(data: bytes, name: str) -> str:
    """Decode text bytes: BOM, then strict UTF-8, then BOM-less UTF-16, then a legacy guess.

    Raises `LoadError` for binary content and for text that is only whitespace.
    """
    text = _decode(data)
    if text is None or _looks_binary(text):
        raise LoadError(name, "binary content, not text")
    text = normalize_newlines(text).lstrip("\ufeff")
    if not text.strip():
        raise LoadError(name, "no text")
    return text


def _decode(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            # "replace" so one bad byte does not drop a file; many bad bytes read as binary later
            return data[len(bom) :].decode(encoding, errors="replace")
    if b"\x00" in data:
        return _decode_utf16_without_bom(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_legacy(data)


def _decode_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a BOM has NULs on one byte parity (for mostly-Latin text); binary does not."""
    if len(data) % 2:
        return None
    half = len(data) // 2
    even, odd = data[0::2].count(0), data[1::2].count(0)
    if odd >= 0.3 * half and even <= 0.02 * half:
        encoding = "utf-16-le"
    elif even >= 0.3 * half and odd <= 0.02 * half:
        encoding = "utf-16-be"
    else:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _decode_legacy(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    best = results.best()
    if best is None:
        return None
    by_encoding = {match.encoding: match for match in results}
    for encoding in _PREFERRED_LEGACY:
        match = by_encoding.get(encoding)
        if match and match.chaos <= best.chaos + 0.05 and match.coherence >= best.coherence - 0.1:
            return str(match)
    return str(best)


#: Control characters (C0 bar whitespace and ESC, DEL, C1), lone surrogates and U+FFFD.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")


def _looks_binary(text: str) -> bool:
    sample = text[:1_000_000]
    return len(_BAD_CHARS.findall(sample)) > _MAX_BAD_CHAR_RATIO * len(sample)


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def markdown_title(text: str) -> str | None:
    """The first level-1 `# ` heading outside fenced code blocks (where `#` is a comment)."""
    fenced = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (heading := _atx_h1(line)) is not None:
            return heading or None
    return None


def _atx_h1(line: str) -> str | None:
    """The text of a level-1 ATX heading line (`# Title`, `  # Title ##`), else None.

    String methods, not a regex: a pattern with a lazy body before optional trailing blanks is
    quadratic on a heading followed by a long run of spaces (`# x` + 40,000 spaces took 16 s).
    """
    body = line.lstrip(" ")
    if len(line) - len(body) > 3 or len(body) < 3 or body[0] != "#" or body[1] not in " \t":
        return None
    content = body[1:].strip(" \t")
    if not content:  # "#" and blanks only: a heading with no text
        return ""
    closed = content.rstrip("#")  # a closing sequence: blanks, then #s, at the end of the line
    if closed != content and closed and closed[-1] in " \t":
        content = closed
    return content.strip()


# --- PDFs ------------------------------------------------------------------------------------


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved_level = logging.NOTSET


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning per odd object in sloppy PDFs; keep only errors while loading.
    Reference-counted, so loads in parallel threads restore the caller's level correctly."""
    global _quiet_depth, _quiet_saved_level
    logger = logging.getLogger("pypdf")
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved_level = logger.level
            logger.setLevel(logging.ERROR)
        _quiet_depth += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                logger.setLevel(_quiet_saved_level)


def _short(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    if not message:
        return type(exc).__name__
    return message if len(message) <= 120 else message[:117] + "..."


def _read_pdf(data: bytes, name: str, max_pages: int = 0) -> tuple[list[str], str | None, list[str]]:
    """Page texts (1 per page, the first `max_pages` if over 0), the metadata title of a PDF, and
    notes on pages left out: over the page limit, or text extraction failed (by page number)."""
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    if b"%PDF-" not in data[:1024]:
        raise LoadError(name, "not a readable PDF: no PDF header (is it really a PDF?)")
    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")
                except DependencyError:
                    raise LoadError(
                        name, "encrypted PDF (AES; install the 'cryptography' package to open it)"
                    ) from None
                if opened == PasswordType.NOT_DECRYPTED:
                    raise LoadError(name, "encrypted PDF (password required)")
            pages = list(reader.pages)
        except LoadError:
            raise
        except FileNotDecryptedError:
            raise LoadError(name, "encrypted PDF (password required)") from None
        except Exception as exc:  # pypdf raises many types for damaged files
            hint = "" if b"%%EOF" in data[-2048:] else " (file looks truncated)"
            raise LoadError(name, f"not a readable PDF: {_short(exc)}{hint}") from exc
        if not pages:
            raise LoadError(name, "not a readable PDF: no pages")

        notes: list[str] = []
        if 0 < max_pages < len(pages):
            notes.append(
                f"only the first {max_pages:,} of {len(pages):,} pages were indexed "
                f"(limit max_pdf_pages={max_pages})"
            )
            pages = pages[:max_pages]
        texts, failed = _page_texts(pages, name)
        if not any(t.strip() for t in texts):
            if len(failed) == len(pages):
                raise LoadError(name, "not a readable PDF: text extraction failed on every page")
            raise LoadError(name, "no extractable text (scanned or image-only PDF?)")
        notes[:0] = failed
        return texts, _pdf_title(reader), notes


def _page_texts(pages: list[Any], name: str) -> tuple[list[str], list[str]]:
    """Cleaned text per page (empty for a page that fails), and a note per failed page naming it:
    pypdf refuses a page over its decompression cap, and a damaged page raises anything."""
    texts: list[str] = []
    failed: list[str] = []
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(clean_pdf_text(page.extract_text() or ""))
        except Exception as exc:
            log.warning("%s: page %d: text extraction failed: %s", name, number, _short(exc))
            failed.append(f"page {number} left out: its text could not be extracted ({_short(exc)})")
            texts.append("")
    return texts, failed


def _pdf_title(reader: object) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None  # type: ignore[attr-defined]
    except Exception:
        return None
    if not isinstance(title, str):
        return None
    title = " ".join(title.replace("\x00", "").split())
    return title or None


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-\n(?=[^\W\d_A-Z])")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def clean_pdf_text(text: str) -> str:
    """Light cleanup only: drop control chars and trailing spaces, join "exam-\\nple", and collapse
    runs of blank lines; line breaks are kept since they carry sentence/heading structure."""
    text = normalize_newlines(text)
    text = _CONTROL.sub("", text)
    # per line with rstrip, not `[ \t]+$` with re.M: that regex is quadratic in a run of spaces
    text = "\n".join(line.rstrip(" \t\u00a0") for line in text.split("\n"))
    text = _HYPHEN_BREAK.sub("", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()
