"""PDF bytes to page texts: pypdf kept quiet, encrypted and damaged files refused with a reason,
a page whose text cannot be extracted left out with a note, and light cleanup of what is read."""

from __future__ import annotations

import io
import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ingest.errors import LoadError
from ingest.formats import Parsed, Progress, ReadLimits
from ingest.text import normalize_newlines

log = logging.getLogger(__name__)

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


def read_pdf(
    data: bytes,
    name: str,
    max_pages: int = 0,
    limits: ReadLimits | None = None,
    progress: Progress | None = None,
) -> Parsed:
    """Page texts (1 per page, the first `max_pages` if over 0), the metadata title of a PDF, and
    notes on pages left out: over the page or OCR limit, or text extraction failed (by page
    number). Pages without a text layer are OCR'd within `limits` (`ingest.pdf_ocr`)."""
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

    from ingest.pdf_ocr import ocr_blank_pages

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
        except LimitReachedError as exc:
            raise LoadError(name, f"refused: the file {_over_limit(exc)}") from None
        except Exception as exc:  # pypdf raises many types for damaged files
            hint = "" if b"%%EOF" in data[-2048:] else " (file looks truncated)"
            raise LoadError(name, f"not a readable PDF: {_short(exc)}{hint}") from exc
        if not pages:
            raise LoadError(name, "not a readable PDF: no pages")

        pages, notes = _first_pages(pages, max_pages)
        texts, failed = _page_texts(pages, name)
        title = _pdf_title(reader)
        if not any(t and t.strip() for t in texts):
            failed += _refuse_bombs(pages, failed, name)
    if len(failed) == len(pages):
        raise LoadError(name, "not a readable PDF: text extraction failed on every page")
    limits = limits or ReadLimits()
    texts, ocr_notes, ocr_pages, ocr_seconds = ocr_blank_pages(data, texts, limits, progress)
    if not any(t.strip() for t in texts):
        if not limits.ocr:
            raise LoadError(name, _OFF)
        if ocr_pages == 0:
            raise LoadError(name, f"no extractable text, and no OCR pages left ({ocr_notes[0]})")
        raise LoadError(name, f"no extractable text: OCR found none on its {ocr_pages} scanned page(s)")
    return Parsed(texts, True, title, [*failed, *notes, *ocr_notes], [], ocr_pages, ocr_seconds)


def _page_texts(pages: list[Any], name: str) -> tuple[list[str | None], list[str]]:
    """Cleaned text per page (None for a page that fails), and a note per failed page naming it:
    pypdf refuses a page over its decompression cap, and a damaged page raises anything."""
    from pypdf.errors import LimitReachedError

    texts: list[str | None] = []
    failed: list[str] = []
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(clean_pdf_text(page.extract_text() or ""))
        except LimitReachedError as exc:
            log.warning("%s: page %d: over a pypdf limit: %s", name, number, _short(exc))
            failed.append(f"page {number} left out: it {_over_limit(exc)}")
            texts.append(None)
        except Exception as exc:
            log.warning("%s: page %d: text extraction failed: %s", name, number, _short(exc))
            failed.append(f"page {number} left out: its text could not be extracted ({_short(exc)})")
            texts.append(None)
    return texts, failed


def _first_pages(pages: list[Any], max_pages: int) -> tuple[list[Any], list[str]]:
    """The first `max_pages` pages (0: all), and a note naming the limit when some are left out."""
    if 0 < max_pages < len(pages):
        note = f"only the first {max_pages:,} of {len(pages):,} pages were indexed"
        note += f" (limit max_pdf_pages={max_pages})"
        return pages[:max_pages], [note]
    return pages, []


def _refuse_bombs(pages: list[Any], failed: list[str], name: str) -> list[str]:
    """Notes of pages that inflate past pypdf's limits in a PDF without text; a bomb is refused
    with that reason (not "no extractable text", nor handed to OCR)."""
    notes = _inflation_probe(pages, failed)
    bombs = [note for note in (*failed, *notes) if LIMIT_NOTE in note]
    if bombs:
        more = f" (and {len(bombs) - 1} more such pages)" if len(bombs) > 1 else ""
        raise LoadError(name, f"refused: {bombs[0].replace(' left out: it', '')}{more}")
    return notes


def _inflation_probe(pages: list[Any], failed: list[str]) -> list[str]:
    """Notes for pages whose streams inflate past pypdf's limits although text extraction never
    decoded them (no font resource: pypdf returns "" at once). A PDF without text is checked so,
    since "no extractable text" would hide a decompression bomb; each stream is decoded only up
    to the limit, and this runs in the load's worker process (time and memory bounded)."""
    from pypdf.errors import LimitReachedError

    noted = {note.split(" left out:")[0] for note in failed}
    notes: list[str] = []
    for number, page in enumerate(pages, start=1):
        if f"page {number}" in noted:
            continue
        try:
            for stream in _page_streams(page):
                stream.get_data()
        except LimitReachedError as exc:
            notes.append(f"page {number} left out: it {_over_limit(exc)}")
        except Exception:  # damaged beyond this check: "no extractable text" stays the reason
            continue
    return notes


def _page_streams(page: Any) -> Iterator[Any]:
    """The page's content streams and the streams of its XObjects (images, forms)."""
    contents = page.get_contents()
    if contents is not None:
        yield contents
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    for ref in xobjects.get_object().values() if xobjects is not None else ():
        obj = ref.get_object()
        if hasattr(obj, "get_data"):
            yield obj


#: Words every over-the-limit note carries (how `read_pdf` tells them from other failures).
LIMIT_NOTE = "decompression bomb"


def _over_limit(exc: BaseException) -> str:
    """Why pypdf stopped reading: its safety limits on inflated data, named with the main one."""
    from pypdf import get_configuration

    limit = get_configuration().zlib_maximum_output_length
    return (
        f"inflates past pypdf's safety limits (a {LIMIT_NOTE}?): streams may decompress to at "
        f"most {limit:,} bytes (zlib_maximum_output_length); pypdf said: {_short(exc)}"
    )


def _pdf_title(reader: object) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None  # type: ignore[attr-defined]
    except Exception:
        return None
    if not isinstance(title, str):
        return None
    title = " ".join(title.replace("\x00", "").split())
    return title or None


_OFF = "no extractable text (scanned or image-only PDF?); OCR is off (setting ocr)"
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
