"""Text from pictures of pages, offline: rapidocr (PaddleOCR's PP-OCR models on ONNX Runtime).

The models ship inside the `rapidocr-onnxruntime` wheel, so OCR needs no download. It is slow on a
CPU (seconds per page, see the README), which is why callers bound how many pages they OCR. The
recognised boxes come back in no reliable order; they are put into lines (boxes whose vertical
middles fall within one another's height) read left to right, and a gap of more than a line's
height between lines starts a new paragraph, so sentence splitting sees the page's structure.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

#: One engine per process (loading the models takes about a second); ONNX Runtime sessions are
#: safe to call from several threads, but the wrapper keeps state per call, so calls are serialised.
_engine_lock = threading.Lock()
_engine: Any = None


def _get_engine() -> Any:
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR

        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        # the default shrinks a page to 2000 pixels on its longer side first: an A4 page at 200 dpi
        # (2339 px) then lost words to running together (57% of a dense page's words read at 3000,
        # 46% at 2000; bench/ocr.py)
        _engine = RapidOCR(max_side_len=3000)
    return _engine


def ocr_image(image: Any) -> str:
    """The text on a PIL image, as lines and paragraphs; "" when there is none."""
    import numpy as np

    pixels = np.asarray(image.convert("RGB"))
    with _engine_lock:
        try:
            found, _ = _get_engine()(pixels)
        except Exception as exc:  # ONNX Runtime reports an allocation failure as a runtime error
            if "bad_alloc" in str(exc) or "Failed to allocate" in str(exc):
                raise MemoryError("OCR ran out of memory") from exc
            raise
    return boxes_to_text([(box, text) for box, text, _score in found or []])


def boxes_to_text(boxes: list[tuple[Any, str]]) -> str:
    """Recognised (quadrilateral, text) pairs as text in reading order: lines top to bottom, words
    left to right, a blank line where the gap between lines is over one line height."""
    items = []
    for quad, text in boxes:
        ys = [float(p[1]) for p in quad]
        xs = [float(p[0]) for p in quad]
        if text.strip():
            items.append((min(ys), max(ys), min(xs), text.strip()))
    items.sort()
    lines: list[list[tuple[float, float, float, str]]] = []
    for item in items:
        top, bottom = item[0], item[1]
        if lines:
            last = lines[-1]
            mid = (top + bottom) / 2
            if min(i[0] for i in last) <= mid <= max(i[1] for i in last):
                last.append(item)
                continue
        lines.append([item])
    out: list[str] = []
    previous_bottom = None
    for line in lines:
        top = min(i[0] for i in line)
        bottom = max(i[1] for i in line)
        if previous_bottom is not None and top - previous_bottom > bottom - top:
            out.append("")
        out.append(" ".join(i[3] for i in sorted(line, key=lambda i: i[2])))
        previous_bottom = bottom
    return "\n".join(out)
