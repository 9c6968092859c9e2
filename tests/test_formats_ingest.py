"""One file of each kind through the real paths: `python -m ingest FOLDER` then `python -m search
... --no-rerank --json` finds each in the top 3 with the right slide, page or section cited; the
app's upload path does the same; OCR is bounded per ingest, can be turned off, shows progress per
page and is counted in the report. Scans are small, so OCR takes seconds, not minutes."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ingest.pipeline
import ingest.reading
from ingest.__main__ import main as ingest_main
from search.__main__ import main as search_main
from search.models import Scope
from tests.app_fixtures import copy_index, make_service, sample_index
from tests.office_files import make_docx, make_pptx, make_scan_pdf, text_image

NEWS = (
    "<html><head><title>Harbour news</title><script>var t = 1;</script></head><body>"
    "<nav><a href='/'>Home</a></nav><article><h1>Lighthouse keepers return</h1>"
    "<p>Volunteer lighthouse keepers polished the brass lantern lens every Sunday morning "
    "during the winter storms, the museum curator explained.</p>"
    "<p>Visitors may climb the spiral staircase on weekends.</p></article>"
    "<footer>Copyright</footer></body></html>"
)
#: (query, file, citation of the passage that answers it)
EXPECTED = [
    ("dredgers removed silt northern channel", "report.docx", "report.docx, § 3 Dredging programme"),
    ("quay crane repairs budget", "deck.pptx", "deck.pptx, slide 3"),
    ("lighthouse keepers polished brass lantern lens", "news.html", "news.html"),
    ("cormorants nesting on the breakwater rocks", "scan.pdf", "scan.pdf, p. 2"),
    ("orchard apricots ripen early in July", "photo.png", "photo.png"),
]


def make_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    make_docx(
        root / "report.docx",
        [
            ("h1", "Introduction"),
            ("p", "The harbour board met four times and approved the yearly accounts."),
            ("h1", "3 Dredging programme"),
            ("p", "The dredgers removed forty thousand cubic metres of silt from the northern channel."),
        ],
    )
    make_pptx(
        root / "deck.pptx",
        [
            ("Welcome", "Agenda of the meeting", ""),
            ("Staff", "New harbour pilots were hired", ""),
            ("Budget", "Quay repairs and a new crane", "The crane repairs take most of the budget"),
        ],
    )
    (root / "news.html").write_text(NEWS, encoding="utf-8")
    make_scan_pdf(
        root / "scan.pdf",
        [
            "A typed cover page about the annual bird count on the harbour walls. The count is made "
            "by volunteers each spring, who walk the walls at dawn with notebooks and binoculars, "
            "and write down every gull, tern and wader they see, with the time and the weather.",
            ["Cormorants were nesting on the breakwater", "rocks in larger numbers than last year."],
        ],
    )
    text_image(["Orchard note: the apricots ripen early", "in July on the sunny south wall."]).save(
        root / "photo.png"
    )
    return root


class _Bars(list):
    """Stands in for the pipeline's tqdm and keeps each bar as (desc, total, n at close)."""

    def factory(self, iterable: Any = None, desc: str = "", total: int | None = None, **_: Any) -> Any:
        bars = self

        class Recording:
            def __init__(self) -> None:
                self.n = 0

            def __iter__(self) -> Iterator[Any]:
                return iter(iterable)

            def update(self, k: int = 1) -> None:
                self.n += k

            def close(self) -> None:
                bars.append((desc, total, self.n))

        return Recording()


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, _Bars]]:
    root = make_folder(tmp_path_factory.mktemp("formats") / "docs")
    index = root.parent / "idx"
    bars, printed = _Bars(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(ingest.pipeline, "tqdm", bars.factory)
        patch.setattr(ingest.reading, "tqdm", bars.factory)  # the OCR page bars
        assert ingest_main([str(root), "--index", str(index), "--json"]) == 0
    yield index, printed.getvalue(), bars


@pytest.mark.parametrize(("query", "file", "citation"), EXPECTED, ids=[e[1] for e in EXPECTED])
def test_each_kind_is_found_with_its_citation(
    cli_index: tuple[Path, str, _Bars],
    capsys: pytest.CaptureFixture[str],
    query: str,
    file: str,
    citation: str,
) -> None:
    index = cli_index[0]
    assert search_main([query, "--no-rerank", "--json", "--index", str(index)]) == 0
    hits = json.loads(capsys.readouterr().out)["fused"][:3]
    assert citation in [h["citation"] for h in hits], [h["citation"] for h in hits]


def test_the_report_counts_ocr_pages_and_time_and_shows_progress_per_page(
    cli_index: tuple[Path, str, _Bars],
) -> None:
    _, out, bars = cli_index
    report = json.loads(out)
    assert report["skipped"] == [] and report["documents"] == 5
    assert report["ocr_pages"] == 2 and report["ocr_seconds"] > 0
    ocr_bars = sorted((desc, total, n) for desc, total, n in bars if desc.startswith("OCR"))
    assert ocr_bars == [("OCR photo.png", 1, 1), ("OCR scan.pdf", 1, 1)]  # the typed page is not OCR'd


def test_ocr_is_bounded_per_ingest_and_can_be_turned_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_folder(tmp_path / "docs")
    for name in ("report.docx", "deck.pptx", "news.html"):
        (root / name).unlink()
    args = [str(root), "--index", str(tmp_path / "one"), "--json", "--max-ocr-pages-per-ingest", "1"]
    assert ingest_main(args) == 0
    report = json.loads(capsys.readouterr().out)
    # photo.png first, then the budget is spent
    assert report["ocr_pages"] == 1 and report["documents"] == 2, report["skipped"]
    assert report["warnings"] == [
        [
            str(root / "scan.pdf"),
            "1 scanned page(s) not OCR'd (pages 2): over the OCR limit (limit max_ocr_pages=0, or the "
            "ingest's max_ocr_pages_per_ingest)",
        ]
    ]
    assert ingest_main([str(root), "--index", str(tmp_path / "off"), "--json", "--no-ocr"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ocr_pages"] == 0 and report["documents"] == 1
    assert report["skipped"] == [
        [str(root / "photo.png"), "an image is read by OCR, which is off (setting ocr=false)"]
    ]


def test_uploads_in_the_app_read_every_kind(
    tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any
) -> None:
    base = tmp_path_factory.mktemp("formats-app")
    index = copy_index(sample_index(tmp_path_factory, embedder), base / "index")
    service = make_service(base, index, tiny_zerank_path, embedder)
    files = make_folder(base / "picked")
    report = service.ingest("ann", sorted(files.iterdir()), show_progress=False)
    assert report.skipped == [] and len(report.added) == 5 and report.ocr_pages == 2
    for query, file, citation in EXPECTED:
        hits = service.search("ann", Scope.MINE, query, rerank=False).stages["fused"][:3]
        assert citation in [h.chunk.citation() for h in hits], (file, [h.chunk.citation() for h in hits])
    assert {d.source for d in service.documents("ann", Scope.MINE)} == {e[1] for e in EXPECTED}
