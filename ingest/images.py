"""Photos and scans of pages (.png, .jpg, .jpeg, .tif, .tiff, .webp), read by OCR (`ingest.ocr`).

An image is judged by its header before any pixel is decoded: one over `max_image_megapixels` is
refused (a 100-megapixel photo, or a decompression bomb: a small PNG that declares a huge canvas),
so decoding can never cost more than the limit. A multi-page TIFF is one page per frame (a faxed or
scanned letter), cited by page; a single image is cited by its file name.
"""

from __future__ import annotations

import io
import time
import warnings

from ingest.errors import LoadError
from ingest.formats import Parsed, Progress, ReadLimits
from ingest.ocr import ocr_image


def read_image(
    data: bytes, name: str, max_pages: int, limits: ReadLimits, progress: Progress | None
) -> Parsed:
    """OCR'd text of each frame (the first `max_pages` and `max_ocr_pages`); refused when OCR is off."""
    if not limits.ocr:
        raise LoadError(name, "an image is read by OCR, which is off (setting ocr=false)")
    if limits.max_ocr_pages <= 0:
        raise LoadError(name, "not read: no OCR pages left in this ingest (limit max_ocr_pages_per_ingest)")
    image = open_image(data, name, limits.max_image_megapixels)
    frames = max(1, getattr(image, "n_frames", 1))
    notes = []
    todo = frames
    for cap, setting in ((max_pages, "max_pdf_pages"), (limits.max_ocr_pages, "max_ocr_pages")):
        if 0 < cap < todo:
            todo = cap
            notes = [f"only the first {cap:,} of {frames:,} pages were OCR'd (limit {setting}={cap})"]
    pages = []
    started = time.perf_counter()
    for index in range(todo):
        if progress is not None:
            progress(index, todo)
        try:
            image.seek(index)
            check_pixels(image.size, name, limits.max_image_megapixels)
            pages.append(ocr_image(image))
        except (LoadError, MemoryError):
            raise
        except Exception as exc:  # a truncated or corrupt frame
            raise LoadError(name, f"not a readable image: {type(exc).__name__}: {exc}"[:200]) from None
    if progress is not None:
        progress(todo, todo)
    if not any(p.strip() for p in pages):
        raise LoadError(name, "no text found by OCR in the image")
    return Parsed(pages, frames > 1, None, notes, ocr_pages=todo, ocr_seconds=time.perf_counter() - started)


def open_image(data: bytes, name: str, max_megapixels: float) -> object:
    """The image, opened lazily (header only), refused over `max_megapixels` before decoding."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # Pillow's own cap (about 179 MP) came first
        raise LoadError(name, f"refused: {exc} (limit max_image_megapixels={max_megapixels:g})") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise LoadError(name, f"not a readable image: {exc}"[:200]) from None
    check_pixels(image.size, name, max_megapixels)
    return image


def check_pixels(size: tuple[int, int], name: str, max_megapixels: float) -> None:
    width, height = size
    megapixels = width * height / 1e6
    if 0 < max_megapixels < megapixels:
        raise LoadError(
            name,
            f"refused: the image is {width:,} x {height:,} pixels ({megapixels:,.0f} megapixels), over "
            f"the {max_megapixels:g}-megapixel limit (limit max_image_megapixels={max_megapixels:g})",
        )
