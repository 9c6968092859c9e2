"""OCR cost per page: a scanned A4 page of typed text at 150 dpi, read through `load_file` as a
scanned PDF and as a PNG photo, with the machine's load average (OCR takes every core it can).

    python bench/ocr.py [--pages 3] [--dpi 150]

Prints the model load time, the median and maximum seconds per page, and the share of the page's
words that OCR recovered (a sanity check that the figure is for a page actually read).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

#: The vocabulary of the generated page (a real sentence's words, so OCR's language model helps as
#: it would on a real scan).
WORDS = " ".join(
    (
        "the harbour board approved a dredging programme for the northern channel where silt had",
        "narrowed the fairway and pilots reported that larger ships waited for the tide before entering",
    )
).split(" ")


def page_image(dpi: int, seed: int) -> tuple[object, list[str]]:
    """A white A4 page with 40 lines of 11-point text, as a scanner at `dpi` would give it."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = int(8.27 * dpi), int(11.69 * dpi)
    font = ImageFont.load_default(size=max(8, round(11 / 72 * dpi)))
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    words: list[str] = []
    for line in range(40):
        text = " ".join(WORDS[(seed + line * 7 + i) % len(WORDS)] for i in range(11))
        words += text.split()
        draw.text((dpi, dpi + line * (height - 2 * dpi) // 40), text, fill=0, font=font)
    return image, words


def recall(text: str, words: list[str]) -> float:
    found = re.findall(r"[a-z]+", text.lower())
    pool = {w: found.count(w) for w in set(found)}
    hit = 0
    for word in words:
        if pool.get(word, 0) > 0:
            pool[word] -= 1
            hit += 1
    return hit / len(words)


def main() -> None:
    from fpdf import FPDF

    from ingest.load import load_file
    from ingest.ocr import _get_engine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    t0 = time.perf_counter()
    _get_engine()
    print(f"OCR models loaded in {time.perf_counter() - t0:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        pdf, images = FPDF(format="A4"), []
        for seed in range(args.pages):
            image, words = page_image(args.dpi, seed)
            images.append((image, words))
            pdf.add_page()
            pdf.image(image, x=0, y=0, w=210, h=297)
        pdf.output(f"{tmp}/scan.pdf")
        doc = load_file(Path(f"{tmp}/scan.pdf"), max_bytes=1 << 30)
        pdf_per_page = doc.ocr_seconds / doc.ocr_pages
        pdf_recall = statistics.mean(recall(t, w) for t, (_, w) in zip(doc.pages, images, strict=True))
        photo_times, photo_recall = [], []
        for i, (image, words) in enumerate(images):
            image.save(f"{tmp}/photo{i}.png")
            t0 = time.perf_counter()
            photo = load_file(Path(f"{tmp}/photo{i}.png"), max_bytes=1 << 30)
            photo_times.append(time.perf_counter() - t0)
            photo_recall.append(recall(photo.text, words))
    print(
        f"scanned PDF, {args.pages} A4 pages at {args.dpi} dpi: {pdf_per_page:.1f} s a page, "
        f"{pdf_recall:.0%} of words read"
    )
    print(
        f"PNG photo of a page: median {statistics.median(photo_times):.1f} s, max {max(photo_times):.1f} s, "
        f"{statistics.mean(photo_recall):.0%} of words read"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
