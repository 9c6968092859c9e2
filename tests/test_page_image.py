"""A cited PDF page renders to a cached PNG with the passage highlighted, and a page that cannot be
rendered says why."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ingest.load import load_file
from tests.pdfs import make_pdf
from webapp import page_image
from webapp.page_image import render_page

FIRST = (
    "Tidal turbines in the outer channel produced 14 GWh in 2025, enough for about four thousand homes, "
    "and ran for 96 percent of the hours the tide allowed."
)
SECOND = (
    "Silt in the inner basin rose by eleven centimetres, so the harbour board dredged the approach "
    "twice and moved the survey buoys to the new channel edge before the spring tides."
)


@pytest.fixture
def report(tmp_path) -> Path:
    return make_pdf(tmp_path / "report.pdf", ["Cover page.", f"{FIRST}\n\n{SECOND}"], title="Harbour")


def _marker_rows(path: Path) -> np.ndarray:
    """Rows of the image that hold highlight colour (the translucent amber over white paper)."""
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    amber = (pixels[..., 0] > 240) & (pixels[..., 1] > 215) & (pixels[..., 1] < 245) & (pixels[..., 2] < 200)
    return np.nonzero(amber.sum(axis=1) > 20)[0]


def test_the_passage_lines_are_highlighted_on_the_cited_page(report, tmp_path):
    text = load_file(report, max_bytes=1 << 20).pages[1]
    passage = text[text.index("Silt in the inner basin") :]  # as ingest extracted it, line breaks kept
    assert "\n" in passage
    image = render_page(report, 2, cache_dir=tmp_path / "cache", passage=passage)
    assert image.ok and image.pages == 2 and image.reason == ""
    assert image.highlighted >= 2  # the second paragraph wraps onto two or more lines
    with Image.open(image.path) as png:
        assert png.format == "PNG" and png.size == (893, 1263)  # A4 at 1.5 px per point
    rows = _marker_rows(image.path)
    plain = render_page(report, 2, cache_dir=tmp_path / "cache")
    assert plain.ok and plain.highlighted == 0 and plain.path != image.path
    assert len(_marker_rows(plain.path)) == 0
    first_only = render_page(report, 2, cache_dir=tmp_path / "cache", passage=FIRST)
    first_rows = _marker_rows(first_only.path)
    # the two paragraphs are marked on separate bands of the page, the first above the second
    assert len(rows) > 20 and len(first_rows) > 20
    assert first_rows.max() < rows.min()


def test_rendering_is_cached_by_content_page_scale_and_passage(report, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = render_page(report, 1, cache_dir=cache)

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again instead of using the cache")

    monkeypatch.setattr(page_image, "_render", no_render)
    again = render_page(report, 1, cache_dir=cache)
    assert again == first
    monkeypatch.undo()
    assert render_page(report, 1, cache_dir=cache, scale=0.5).path != first.path
    assert render_page(report, 1, cache_dir=cache, passage="Cover page").path != first.path
    make_pdf(report, ["A different cover."], title="Harbour")  # same name, new content
    changed = render_page(report, 1, cache_dir=cache)
    assert changed.ok and changed.path != first.path and changed.pages == 1
    assert not [p for p in cache.iterdir() if not p.name.endswith(".png")]  # no temp files left


def test_a_damaged_cache_file_is_rendered_again(report, tmp_path):
    first = render_page(report, 1, cache_dir=tmp_path)
    first.path.write_bytes(b"not a png")
    again = render_page(report, 1, cache_dir=tmp_path)
    assert again.ok and again.path == first.path
    with Image.open(again.path) as png:
        assert png.format == "PNG"


def test_the_cache_keeps_at_most_max_files(report, tmp_path):
    for scale in (0.3, 0.4, 0.5, 0.6):
        assert render_page(report, 1, cache_dir=tmp_path, scale=scale, max_files=2).ok
    assert len(list(tmp_path.glob("*.png"))) == 2


def test_pages_that_cannot_be_rendered_say_why(report, tmp_path):
    cache = tmp_path / "cache"
    out_of_range = render_page(report, 3, cache_dir=cache)
    assert not out_of_range.ok and out_of_range.pages == 2
    assert out_of_range.reason == "page 3 does not exist: report.pdf has 2"
    assert "does not exist" in render_page(report, 0, cache_dir=cache).reason

    locked = make_pdf(tmp_path / "locked.pdf", ["secret"], encrypt_password="pw")
    assert (
        render_page(locked, 1, cache_dir=cache).reason == "locked.pdf is an encrypted PDF (password required)"
    )
    opens = make_pdf(tmp_path / "opens.pdf", ["no password needed"], encrypt_password="")
    assert render_page(opens, 1, cache_dir=cache).ok

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    assert "not a readable PDF" in render_page(broken, 1, cache_dir=cache).reason
    missing = render_page(tmp_path / "gone.pdf", 1, cache_dir=cache)
    assert not missing.ok and missing.reason.startswith("cannot read gone.pdf")
    assert len(list(cache.glob("*.png"))) == 1  # only the PDF that opens without a password


def test_a_passage_not_on_the_page_renders_without_highlight(report, tmp_path):
    image = render_page(report, 1, cache_dir=tmp_path, passage=SECOND)
    assert image.ok and image.highlighted == 0


def test_concurrent_renders_are_safe(report, tmp_path):
    def one(i: int):
        return render_page(report, 1 + i % 2, cache_dir=tmp_path, scale=0.2 + i / 100)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(12)))
    assert all(r.ok for r in results) and len({r.path for r in results}) == 12
