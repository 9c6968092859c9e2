"""A cited PDF page as a PNG, with the passage's lines highlighted: rendered lazily, cached on disk.

    image = render_page(Path("report.pdf"), 5, cache_dir=Path("data/page-cache"), passage=hit.text)
    if image.ok: show image.path (image.highlighted rectangles mark the passage)
    else:        say image.reason ("encrypted PDF (password required)", "page 9 of 5 does not exist")

Rendering is pypdfium2 (PDFium); highlighting uses PDFium's text layer: each line of the passage
(as ingest extracted it) is searched on the page in reading order, and the characters from the
first match to the last are boxed with a translucent marker. A page without a text layer, or a
passage the text layer spells differently, is shown without highlight (`highlighted == 0`).

Cache: one PNG per (file content hash, page, scale, passage), written atomically under `cache_dir`;
the oldest files beyond `max_files` are removed. PDFium is not thread-safe, so every call into it
holds one module lock (a page renders in tens of milliseconds; cache hits never take the lock).
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Default resolution: 1.5 pixels per PDF point (108 dpi; an A4 page is 893 × 1263 px).
DEFAULT_SCALE = 1.5
#: The longest side of a rendered page, in pixels; larger pages are rendered at a smaller scale.
MAX_SIDE_PX = 2400
#: Cached PNGs kept; the least recently written beyond this are removed.
MAX_CACHE_FILES = 512
#: Passage lines shorter than this are not searched alone (too likely to match elsewhere).
MIN_LINE_CHARS = 12
HIGHLIGHT_RGBA = (255, 200, 0, 90)

#: PDFium is not thread-safe (one library state for every document): every pypdfium2 call in the
#: process runs under this lock, from opening the document to closing it (ingest does not use
#: PDFium; it reads PDFs with pypdf in a worker process).
_pdfium_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class PageImage:
    """A rendered page (`path` set) or why there is none (`reason` set)."""

    page: int
    path: Path | None = None
    pages: int = 0
    highlighted: int = 0
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.path is not None


def render_page(
    pdf: Path,
    page: int,
    *,
    cache_dir: Path,
    passage: str | None = None,
    scale: float = DEFAULT_SCALE,
    content_hash: str | None = None,
    max_files: int = MAX_CACHE_FILES,
) -> PageImage:
    """Page `page` (1-based) of `pdf` as a cached PNG, `passage` highlighted where the text layer
    allows. Never raises for a bad file or page: the result's `reason` says what is wrong."""
    pdf = Path(pdf)
    try:
        digest = content_hash or _file_digest(pdf)
    except OSError as exc:
        return PageImage(page, reason=f"cannot read {pdf.name}: {exc.strerror or exc}")
    if page < 1:
        return PageImage(page, reason=f"page {page} does not exist (pages start at 1)")
    target = Path(cache_dir) / _cache_name(digest, page, scale, passage)
    cached = _from_cache(target, page) if target.is_file() else None
    if cached is not None:
        return cached
    with _pdfium_lock:
        result = _render(pdf, page, scale, passage, target)
    if result.ok:
        _trim_cache(Path(cache_dir), max_files, keep=target)
    return result


def _cache_name(digest: str, page: int, scale: float, passage: str | None) -> str:
    marked = hashlib.sha256(" ".join((passage or "").split()).encode("utf-8")).hexdigest()[:16]
    return f"{digest[:32]}-p{page}-s{round(scale * 1000)}-{marked if passage else 'plain'}.png"


def _from_cache(target: Path, page: int) -> PageImage | None:
    """The cached image with its page count and highlight count; None (and the file removed) when
    it cannot be read, so the page is rendered again."""
    from PIL import Image

    try:
        with Image.open(target) as image:
            info = image.info  # text chunks written before the pixels: no decoding
            pages, marked = int(info.get("pages", 0)), int(info.get("highlighted", 0))
    except (OSError, ValueError):
        target.unlink(missing_ok=True)
        return None
    return PageImage(page, target, pages, marked)


def _render(pdf: Path, page: int, scale: float, passage: str | None, target: Path) -> PageImage:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        return PageImage(page, reason=_open_reason(pdf, exc))
    except OSError as exc:
        return PageImage(page, reason=f"cannot read {pdf.name}: {exc.strerror or exc}")
    try:
        count = len(document)
        if page > count:
            return PageImage(page, pages=count, reason=f"page {page} does not exist: {pdf.name} has {count}")
        try:
            image, marked = _draw(document[page - 1], scale, passage)
        except Exception as exc:  # PDFium on a damaged page, PIL out of memory, ...
            return PageImage(page, pages=count, reason=f"page {page} cannot be rendered: {_short(exc)}")
    finally:
        document.close()
    try:
        _save_atomic(image, target, {"pages": str(count), "highlighted": str(marked)})
    except OSError as exc:
        return PageImage(page, pages=count, reason=f"cannot write the page image: {exc.strerror or exc}")
    return PageImage(page, target, count, marked)


def _open_reason(pdf: Path, exc: Exception) -> str:
    text = str(exc).lower()
    if "password" in text:
        return f"{pdf.name} is an encrypted PDF (password required)"
    if "format" in text or "file" in text:
        return f"{pdf.name} is not a readable PDF ({_short(exc)})"
    return f"{pdf.name} cannot be opened: {_short(exc)}"


def _draw(page: Any, scale: float, passage: str | None) -> tuple[Any, int]:
    """Render one page and mark the passage on it: (PIL image, rectangles drawn)."""
    from PIL import Image, ImageDraw

    width, height = page.get_size()
    scale = min(scale, MAX_SIDE_PX / max(width, height, 1.0))
    bitmap = page.render(scale=scale)
    image = bitmap.to_pil().convert("RGB")
    boxes = _passage_boxes(page, passage) if passage and passage.strip() else []
    if not boxes:
        return image, 0
    convert = bitmap.get_posconv(page)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, bottom, right, top in boxes:
        x0, y0 = convert.to_bitmap(left, top)
        x1, y1 = convert.to_bitmap(right, bottom)
        draw.rectangle(
            (min(x0, x1) - 1, min(y0, y1) - 1, max(x0, x1) + 1, max(y0, y1) + 1), fill=HIGHLIGHT_RGBA
        )
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    return image, len(boxes)


def _passage_boxes(page: Any, passage: str) -> list[tuple[float, float, float, float]]:
    """Text rectangles (PDF units) covering the passage on this page; [] when it cannot be found."""
    textpage = page.get_textpage()
    try:
        span = _passage_span(textpage, passage)
        if span is None:
            return []
        start, end = span
        n = textpage.count_rects(start, end - start)
        return [textpage.get_rect(i) for i in range(n)]
    finally:
        textpage.close()


def _passage_span(textpage: Any, passage: str) -> tuple[int, int] | None:
    """Character range from the first to the last passage line found on the page, in reading order.
    Lines are searched from where the previous one matched, so a repeated phrase elsewhere on the
    page does not stretch the range; a range far longer than the passage is not trusted."""
    lines = [" ".join(line.split()) for line in passage.split("\n")]
    lines = [line for line in lines if len(line) >= MIN_LINE_CHARS] or [" ".join(passage.split())]
    position, first, last = 0, None, None
    for line in lines:
        searcher = textpage.search(line, index=position, match_case=False)
        found = searcher.get_next()
        if found is None:
            continue
        start, count = found
        first = start if first is None else first
        last = start + count
        position = last
    if first is None or last is None:
        return None
    if last - first > 2 * len(passage) + 200:
        return None
    return first, last


def _save_atomic(image: Any, target: Path, info: dict[str, str]) -> None:
    from PIL.PngImagePlugin import PngInfo

    target.parent.mkdir(parents=True, exist_ok=True)
    meta = PngInfo()
    for key, value in info.items():
        meta.add_text(key, value)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        image.save(tmp, format="PNG", pnginfo=meta)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _trim_cache(cache_dir: Path, max_files: int, keep: Path) -> None:
    try:
        files = [p for p in cache_dir.glob("*.png") if p != keep]
        if len(files) < max_files:
            return
        files.sort(key=lambda p: p.stat().st_mtime)
        for old in files[: len(files) - max_files + 1]:
            old.unlink(missing_ok=True)
    except OSError:  # another process trimming at the same time: the next call tries again
        pass


def _file_digest(path: Path) -> str:
    stat = path.stat()
    return _digest_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, remembered while its size and modification time stay the same."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
