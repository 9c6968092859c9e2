"""A real browser on the app: Playwright for Python driving Debian's headless chromium types a query,
sees both columns, the gain line, movement badges both ways and the shipped ✓ marks, opens a hit's
details, opens the Evaluate tab on the sample's table, and saves screenshots; without a reranker the
right column is the card that says what is missing."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import make_service, running_app, sample_index, shared_service

QUERY = "How much battery storage capacity did the grid operator have in the third quarter?"
#: Debian's chromium as root: no sandbox, no GPU, and no lookups of outside hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def _chromium() -> str:
    """The system chromium (`.ci/run` installs it with apt-get); skip only where there is none."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no chromium on this machine and it could not be installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any) -> Iterator[str]:
    service = shared_service(tmp_path_factory, tiny_zerank_path, embedder)
    with running_app(service, tmp_path_factory.mktemp("gradio-tmp")) as url:
        yield url


def test_search_in_a_browser_shows_both_columns_moves_and_details(app_url: str, tmp_path: Path) -> None:
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page, _ = searched(browser, app_url, 1400, 1000)

            reranked = page.locator("#col-reranked details.hs-hit")
            reranked.first.wait_for(timeout=60_000)
            fused = page.locator("#col-fused details.hs-hit")
            assert fused.count() == 10 and reranked.count() == 10
            assert (
                page.locator("#col-fused .hs-col-title")
                .inner_text()
                .startswith("Hybrid (BM25 + dense, fused)")
            )
            assert page.locator("#col-reranked .hs-col-title").inner_text().startswith("Reranked by ")
            badges = page.locator("#col-reranked .hs-move")
            assert badges.count() >= 1
            assert any(t != "=" for t in badges.all_inner_texts())
            assert page.locator("#col-fused mark").count() >= 1  # query terms highlighted
            # the query ships judged (page 3 of the grid report): ✓ marks and NDCG before → after
            gain = page.locator("#gain-line .hs-gain").inner_text()
            assert gain.startswith("Reranking: NDCG@10 ") and gain.endswith("on this query"), gain
            assert page.locator("#col-fused .hs-rel").count() >= 1
            for column in ("#col-fused", "#col-reranked"):  # the tiny random reranker may drop page 3
                assert "NDCG@10" in page.locator(f"{column} .hs-col-title").inner_text()
            assert page.locator("#col-fused .hs-went").count() >= 1  # where each hit went
            assert "Timings" in page.locator("#search-footer").inner_text()
            assert "overlap@10" in page.locator("#search-footer").inner_text()

            reranked.first.locator("summary").click()
            details = page.locator("#col-reranked details.hs-hit[open]")
            details.locator("table.hs-stages").wait_for(timeout=5_000)
            table = details.locator("table.hs-stages").inner_text()
            for stage in ("BM25", "Dense", "Fused", "Reranked"):
                assert stage in table
            assert details.locator(".hs-full").inner_text().strip()
            shot = tmp_path / "search.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            _keep(shot)

            page.get_by_role("tab", name="Evaluate").click()
            table = page.locator("#eval-out table").first
            table.wait_for(timeout=120_000)
            text = page.locator("#eval-out").inner_text()
            assert "sample judgments" in text and "BM25" in text and "Hybrid" in text
            shot = tmp_path / "evaluate.png"
            page.screenshot(path=str(shot), full_page=True)
            _keep(shot)
        finally:
            browser.close()


def searched(browser: Any, url: str, width: int, height: int) -> tuple[Any, Any]:
    """A new page of `width` x `height` on the app with QUERY typed and submitted; (page, query box)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, wait_until="domcontentloaded")
    box = page.locator("#query textarea, #query input").first
    box.wait_for(timeout=30_000)
    box.fill(QUERY)
    box.press("Enter")
    return page, box


def _keep(shot: Path) -> None:
    keep = os.environ.get("APP_SCREENSHOT_DIR")  # to look at it after the run
    if keep:
        shutil.copy(shot, Path(keep) / shot.name)


def test_an_example_pick_searches_once_and_a_phone_sees_the_results(
    app_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Picking an example fills the box and searches: one first stage, no Enter needed. On a
    phone the intro and examples are folded away and the page moves to the results."""
    from search.pipeline import Searcher

    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    searches: list[str] = []
    original = Searcher.first_stage

    def counting(self: Searcher, query: str, *args: Any, **kwargs: Any) -> Any:
        searches.append(query)
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(Searcher, "first_stage", counting)  # the app serves from this process
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for width, height in ((1280, 1000), (420, 900)):
                searches.clear()
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(app_url, wait_until="domcontentloaded")
                example = page.locator("#examples button.gallery-item").first
                example.wait_for(timeout=30_000)
                example.click()
                page.locator("#col-reranked details.hs-hit").first.wait_for(timeout=60_000)
                page.wait_for_timeout(1_500)  # time for a second search, if one were coming
                box = page.locator("#query textarea, #query input").first
                assert box.input_value() and searches == [box.input_value()], searches
                if width == 420:
                    assert not page.locator(".hs-intro .hs-wide").is_visible()  # folded: one line
                    top = page.locator("#col-fused details.hs-hit").first.bounding_box()["y"]
                    assert 0 <= top < height * 0.6, top  # the results are on screen, high up
                    overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
                    assert overflow <= 2, f"the page scrolls sideways by {overflow} px"
                    shot = tmp_path / "phone-after-example.png"
                    page.screenshot(path=str(shot))
                    _keep(shot)
                page.close()
        finally:
            browser.close()


def test_an_upload_shows_one_progress_display_in_words(
    app_url: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """During an upload one progress display, on the report box, says what happens in words; the
    upload box, the documents table and the Remove menu carry no overlay."""
    import time

    from ingest import pipeline as ingest_pipeline
    from tests.pdfs import make_pdf

    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    service = shared_service(tmp_path_factory, None, None)  # the app_url fixture's (cached)
    embed = service.embedder.embed

    def slow(texts: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.4)  # so the browser can watch each step on any machine
        return embed(texts, *args, **kwargs)

    monkeypatch.setattr(service.embedder, "embed", slow)
    load = ingest_pipeline.load_source

    def slow_load(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.6)
        return load(*args, **kwargs)

    monkeypatch.setattr(ingest_pipeline, "load_source", slow_load)
    pages = [f"Section {i}. " + "Tidal turbines at Halvard produced power all year. " * 40 for i in range(6)]
    pdf = make_pdf(tmp_path / "tides.pdf", pages)
    note = tmp_path / "note.txt"
    note.write_text("Harbour notes: the spring tide reached 6.1 metres. " * 30, encoding="utf-8")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(app_url, wait_until="domcontentloaded")
            page.get_by_role("tab", name="Documents").click()
            page.locator("#upload input[type=file]").set_input_files([str(pdf), str(note)])
            page.wait_for_timeout(1_000)
            page.locator("#add-btn").click()
            seen: list[str] = []
            for _ in range(600):
                shown = page.evaluate(PROGRESS_JS)
                assert all(where == "ingest-report" for where, _ in shown), shown
                seen += [text for _, text in shown if text not in seen]
                if "Indexed" in page.locator("#ingest-report").inner_text():
                    break
                page.wait_for_timeout(100)
            words = " | ".join(seen)
            assert re.search(r"Reading file [12] of 2: (tides\.pdf|note\.txt)", words), words
            assert re.search(r"Embedding \d+ of \d+ passages", words), words
        finally:
            browser.close()


#: Every progress display on the page: (the id of the block it covers, its text).
PROGRESS_JS = """() => [...document.querySelectorAll('.progress-level')]
  .filter(e => e.offsetParent)
  .map(e => [(e.closest('[id]') || {}).id || '', e.innerText.trim()])"""


def test_without_a_reranker_the_right_column_is_a_card(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, tmp_path: Path
) -> None:
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("no-reranker")
    service = make_service(root, sample_index(tmp_path_factory, embedder), root / "no-such-model", embedder)
    with running_app(service, root / "gradio-tmp") as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page, _ = searched(browser, url, 1400, 1000)
            page.locator("#col-fused details.hs-hit").first.wait_for(timeout=60_000)
            card = page.locator("#col-reranked .hs-no-rerank")
            card.wait_for(timeout=10_000)
            assert page.locator("#col-reranked .hs-col-title").inner_text() == "Not reranked"
            text = card.inner_text()
            assert "No reranker is running here" in text and "Fix:" in text and "fused by" in text
            assert page.locator("#col-fused .hs-rel").count() >= 1  # ✓ marks without a reranker too
            shot = tmp_path / "no-reranker.png"
            page.screenshot(path=str(shot), full_page=True)
            _keep(shot)
        finally:
            browser.close()


def test_a_pdf_hits_page_and_the_phone_layout(app_url: str, tmp_path: Path) -> None:
    """Choosing a PDF hit shows its cited page as an image; at 420 px the query box and the
    columns still fit the width (no horizontal scrolling)."""
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page, _ = searched(browser, app_url, 1280, 1000)
            page.locator("#col-reranked details.hs-hit").first.wait_for(timeout=60_000)
            # nothing picked yet: the panel is the picker and a line, no empty image frame
            assert not page.locator("#page-image").is_visible()
            assert page.locator("#page-view").bounding_box()["height"] < 260
            page.locator("#page-pick input").first.click()
            option = page.get_by_role("option").first
            option.wait_for(timeout=10_000)
            assert ".pdf, p" in option.inner_text()
            option.click()
            image = page.locator("#page-image img").first
            image.wait_for(timeout=60_000)
            assert image.evaluate("img => img.naturalWidth") > 500
            # drawn at the column's width (readable at 1280 px), and the zoom widens it
            panel = page.locator("#page-view").bounding_box()["width"]
            page.wait_for_function("() => document.querySelector('#page-image img').width > 0")
            width = image.bounding_box()["width"]
            assert width >= 0.85 * panel, (width, panel)
            page.locator("#page-zoom").get_by_text("200%").click()
            page.wait_for_function(f"() => document.querySelector('#page-image img').width > {1.8 * width}")
            note = page.locator("#page-note").inner_text()
            assert "the passage marked" in note and "Open the PDF at this page" in note
            page.locator("#page-image").scroll_into_view_if_needed()
            shot = tmp_path / "page-image.png"
            page.screenshot(path=str(shot), full_page=True)
            _keep(shot)

            phone, box = searched(browser, app_url, 420, 900)
            phone.locator("#col-fused details.hs-hit").first.wait_for(timeout=60_000)
            assert box.bounding_box()["width"] >= 300  # the query box is not squeezed
            left, right = (phone.locator(c).bounding_box() for c in ("#col-fused", "#col-reranked"))
            assert left["width"] >= 340 and right["y"] > left["y"]  # the columns stack, each full width
            overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 2, f"the page scrolls sideways by {overflow} px at 420 px"
            shot = tmp_path / "phone-420.png"
            phone.screenshot(path=str(shot), full_page=True)
            _keep(shot)
        finally:
            browser.close()
