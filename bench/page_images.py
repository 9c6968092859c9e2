"""Page images: time to render a cited PDF page with its passage highlighted, and a cache hit.

    python bench/page_images.py [--pdf data/sample/reports/annual-grid-report-2025.pdf] [--scale 1.5]

Every page of the PDF is rendered once (a passage of ~900 characters from its text highlighted) into
a fresh cache folder, then asked for again. Prints medians and maxima in ms and the PNG sizes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))


def main() -> None:
    from ingest.load import load_file
    from webapp.page_image import render_page

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=Path("data/sample/reports/annual-grid-report-2025.pdf"))
    parser.add_argument("--scale", type=float, default=1.5)
    args = parser.parse_args()
    pages = load_file(args.pdf, max_bytes=1 << 30).pages
    with tempfile.TemporaryDirectory() as tmp:
        render_page(args.pdf, 1, cache_dir=Path(tmp) / "warm")  # imports and PDFium start-up
        first, hit, sizes, marked = [], [], [], 0
        for number, text in enumerate(pages, start=1):
            passage = text[len(text) // 4 : len(text) // 4 + 900]
            t0 = time.perf_counter()
            image = render_page(args.pdf, number, cache_dir=Path(tmp), passage=passage, scale=args.scale)
            t1 = time.perf_counter()
            render_page(args.pdf, number, cache_dir=Path(tmp), passage=passage, scale=args.scale)
            t2 = time.perf_counter()
            first.append((t1 - t0) * 1000)
            hit.append((t2 - t1) * 1000)
            sizes.append(image.path.stat().st_size / 1024 if image.path else 0)
            marked += image.highlighted > 0
    print(
        f"{args.pdf.name}: {len(pages)} pages at scale {args.scale}; passage found on {marked}/{len(pages)}"
    )
    print(f"render + highlight: median {statistics.median(first):.0f} ms, max {max(first):.0f} ms")
    print(f"cache hit:          median {statistics.median(hit):.2f} ms, max {max(hit):.2f} ms")
    print(f"PNG size:           median {statistics.median(sizes):.0f} KiB")


if __name__ == "__main__":
    main()
