"""The app in-process on a free port, driven with gradio_client: both lists with moves and timings,
upload then page-exact search, a corrupt upload that changes nothing, and twenty concurrent searches
while an ingest runs."""

from __future__ import annotations

import itertools
import math
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import client, copy_index, make_service, running_app, sample_index, shared_service
from tests.pdfs import make_pdf

pytest.importorskip("gradio_client")
from gradio_client import handle_file
from gradio_client.exceptions import AppError

QUERY = "How much battery storage capacity did the grid operator have in the third quarter?"
MOVE = re.compile(r"^(▲\d+ \(was #\d+\)|▼\d+ \(was #\d+\)|=|from #\d+)$")
STAGE_TIMINGS = {"embed", "bm25", "dense", "fusion", "rerank", "total"}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any) -> Iterator[str]:
    """The app over the shared sample-index service (per-session uploads), on a free port."""
    service = shared_service(tmp_path_factory, tiny_zerank_path, embedder)
    with running_app(service, tmp_path_factory.mktemp("gradio-tmp")) as url:
        yield url


def _filler(seed: int, words: int) -> str:
    """Plain prose-like text that shares no rare words with the test phrases."""
    rng = random.Random(seed)
    vocab = [
        *("meadow", "river", "lantern", "pebble", "harbor", "window", "copper", "ribbon", "maple"),
        *("garden", "candle", "valley", "thunder", "basket", "violet", "marble", "saddle", "feather"),
    ]
    sentences = []
    for _ in range(words // 10):
        sentences.append(" ".join(rng.choice(vocab) for _ in range(10)).capitalize() + ".")
    return " ".join(sentences)


def report_pdf(path: Path, phrase: str, page: int = 2, pages: int = 3) -> Path:
    """A PDF whose page `page` alone holds `phrase`; each page is long enough (~300 words) to be
    chunked on its own, so the phrase's passage cites exactly that page."""
    texts = []
    for number in range(1, pages + 1):
        body = _filler(number, 300)
        if number == page:
            half = len(body) // 2
            cut = body.rfind(". ", 0, half) + 2
            body = body[:cut] + phrase + " " + body[cut:]
        texts.append(body)
    return make_pdf(path, texts, title=path.stem)


def _ids(hits: list[dict]) -> list[str]:
    return [h["chunk_id"] for h in hits]


def test_search_returns_both_lists_with_moves_and_timings(app_url: str) -> None:
    out = client(app_url).predict(QUERY, api_name="/search")

    fused, reranked = out["fused"], out["reranked"]
    assert len(fused) == 10 and len(reranked) == 10
    assert [h["rank"] for h in fused] == list(range(1, 11))
    assert [h["rank"] for h in reranked] == list(range(1, 11))
    scores = [h["score"] for h in reranked]
    assert scores == sorted(scores, reverse=True)
    for hit in reranked:
        old, new = hit["ranks"]["fused"], hit["rank"]
        assert MOVE.match(hit["movement"]), hit["movement"]
        if old > 10:
            assert hit["movement"] == f"from #{old}"
        elif old == new:
            assert hit["movement"] == "="
        else:
            arrow = "▲" if old > new else "▼"
            assert hit["movement"] == f"{arrow}{abs(old - new)} (was #{old})"
    # the tiny random-weight reranker really reorders: not every hit stays in place
    assert any(h["movement"] != "=" for h in reranked)
    for hit in fused + reranked:
        assert hit["citation"].startswith(hit["file"]) and hit["text"]
        assert set(hit["ranks"]) >= {"fused"}
    assert set(out["timings_ms"]) >= STAGE_TIMINGS
    assert all(v >= 0 for v in out["timings_ms"].values())
    agree = out["agreement"]
    shared = len(set(_ids(fused)) & set(_ids(reranked)))
    assert agree["shared"] == shared and agree["overlap@10"] == pytest.approx(shared / 10)
    assert agree["kendall_tau"] is None or -1 <= agree["kendall_tau"] <= 1
    assert out["reranker"]["loaded"] is True and out["collection"] == "Sample corpus"


def test_search_without_reranking_and_empty_query(app_url: str) -> None:
    c = client(app_url)
    out = c.predict(QUERY, rerank=False, top_k=5, fusion_mode="weighted", alpha=0.3, api_name="/search")
    assert len(out["fused"]) == 5 and out["reranked"] == []
    assert "rerank" not in out["timings_ms"] and out["agreement"] is None
    assert out["fusion"]["mode"] == "weighted" and out["fusion"]["alpha"] == pytest.approx(0.3)
    with pytest.raises(AppError, match="empty"):
        c.predict("   ", api_name="/search")


def test_upload_pdf_then_find_a_phrase_from_its_second_page(app_url: str, tmp_path: Path) -> None:
    phrase = "The Fenwick cooperative stored 312 crates of quince jelly in the granary cellar."
    pdf = report_pdf(tmp_path / "orchard report.pdf", phrase)
    mine = client(app_url)

    report = mine.predict([handle_file(pdf)], api_name="/ingest")
    assert report["added"] == ["orchard report.pdf"] and report["skipped"] == []
    assert report["documents"] == 1 and report["pages"] == 3

    out = mine.predict("quince jelly crates in the granary cellar", collection="mine", api_name="/search")
    top = out["fused"][0]
    assert top["file"] == "orchard report.pdf"
    assert top["citation"] == "orchard report.pdf, p. 2"
    assert "quince jelly" in top["text"]
    assert out["collection"] == "My documents"
    docs = mine.predict(collection="mine", api_name="/documents")
    assert [(d["file"], d["pages"]) for d in docs] == [("orchard report.pdf", 3)]

    # uploads are private to the session: a stranger neither searches them nor finds them in the sample
    stranger = client(app_url)
    with pytest.raises(AppError, match="not uploaded"):
        stranger.predict("quince jelly", collection="mine", api_name="/search")
    sample = stranger.predict("quince jelly crates in the granary cellar", api_name="/search")
    assert all(h["file"] != "orchard report.pdf" for h in sample["fused"] + sample["reranked"])

    removed = mine.predict(docs[0]["doc_id"], api_name="/remove")
    assert removed["documents"] == 0
    with pytest.raises(AppError, match="not uploaded"):
        mine.predict("quince jelly", collection="mine", api_name="/search")


def test_corrupt_upload_is_reported_and_leaves_the_index_as_it_was(app_url: str, tmp_path: Path) -> None:
    c = client(app_url)
    good = report_pdf(tmp_path / "good.pdf", "Marigold tariffs were frozen until the spring audit.")
    c.predict([handle_file(good)], api_name="/ingest")
    docs_before = c.predict(collection="mine", api_name="/documents")
    search_before = c.predict("marigold tariffs frozen", collection="mine", api_name="/search")

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + random.Random(1).randbytes(3000) + b"\n%%EOF")
    evil = tmp_path / "notes.exe"
    evil.write_bytes(b"MZ" + bytes(100))
    report = c.predict([handle_file(broken), handle_file(evil)], api_name="/ingest")

    assert report["added"] == [] and report["updated"] == []
    skipped = {s["file"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"broken.pdf", "notes.exe"}
    assert all(reason.strip() for reason in skipped.values())
    assert "unsupported" in skipped["notes.exe"]
    assert c.predict(collection="mine", api_name="/documents") == docs_before
    search_after = c.predict("marigold tariffs frozen", collection="mine", api_name="/search")
    assert _ids(search_after["fused"]) == _ids(search_before["fused"])
    assert _ids(search_after["reranked"]) == _ids(search_before["reranked"])


def test_twenty_clients_search_while_an_ingest_runs(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any
) -> None:
    """Shared uploads (the ingest writes the index everyone searches): every search succeeds and
    returns exactly the answer of the index before the ingest or of the index after it."""
    from gradio_client.utils import Status

    index = copy_index(sample_index(tmp_path_factory, embedder), tmp_path / "index")
    service = make_service(tmp_path, index, tiny_zerank_path, embedder, shared_uploads=True)
    queries = [
        QUERY,
        "battery storage capacity of the grid",
        "How do I keep a sourdough starter alive?",
        "symptoms of iron deficiency",
    ]
    depth = 20

    def answer(query: str, rerank: bool) -> tuple[list[str], list[str]]:
        result = service.search(None, "main", query, rerank_depth=depth, rerank=rerank)
        return (
            [h.chunk.id for h in result.stages["fused"]],
            [h.chunk.id for h in result.stages.get("reranked", [])],
        )

    before = {(q, r): answer(q, r) for q in queries for r in (True, False)}
    phrase = "The Tristanhaven island grid added battery storage capacity of 950 MWh in the third quarter."
    pdf = report_pdf(tmp_path / "island-grid.pdf", phrase, page=2, pages=12)

    with running_app(service, tmp_path / "gradio") as url:
        clients = [client(url) for _ in range(21)]
        ingest = clients[0].submit([handle_file(pdf)], api_name="/ingest")
        deadline = time.monotonic() + 30
        while (
            ingest.status().code not in (Status.PROCESSING, Status.FINISHED) and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        cases = list(
            zip(clients[1:], itertools.cycle([(q, r) for q in queries for r in (True, True, False)]))
        )
        jobs = [
            (case, c.submit(case[0], rerank=case[1], rerank_depth=depth, api_name="/search"))
            for c, case in cases
        ]
        results = [(case, job.result(timeout=180)) for case, job in jobs]
        report = ingest.result(timeout=180)

    assert report["added"] == ["island-grid.pdf"] and report["skipped"] == []
    after = {(q, r): answer(q, r) for q in queries for r in (True, False)}
    assert after[(queries[1], False)] != before[(queries[1], False)]  # the new document changed an answer
    for (query, rerank), out in results:
        got = (_ids(out["fused"]), _ids(out["reranked"]))
        assert got in (before[(query, rerank)], after[(query, rerank)]), query
        if rerank:
            assert len(out["reranked"]) == 10 and all(MOVE.match(h["movement"]) for h in out["reranked"])
    result = service.search(None, "main", "Tristanhaven", rerank=False)
    assert result.stages["bm25"][0].chunk.citation() == "island-grid.pdf, p. 2"


def test_requirements_txt_lists_the_project_dependencies_for_spaces() -> None:
    """Spaces installs requirements.txt before the repository is copied, so it repeats pyproject's
    dependencies; gradio is left to the README's sdk_version."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    lines = (root / "requirements.txt").read_text(encoding="utf-8").splitlines()
    required = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert sorted(required) == sorted(d for d in project if not d.startswith("gradio"))


def test_shipped_sample_judgments_mark_passages_from_the_first_search(app_url: str) -> None:
    out = client(app_url).predict(QUERY, api_name="/search")
    (page,) = out["relevant"]  # page 3 of the grid report, not the whole report
    assert page.endswith("#page=3")
    marked = [h for h in out["fused"] if h["passage"] == page]
    assert marked and all(h["page_start"] <= 3 <= h["page_end"] for h in marked)
    assert out["ndcg_at_10"]["fused"] is not None and out["ndcg_at_10"]["reranked"] is not None


def test_judged_hits_are_marked_with_ndcg_and_stay_private(app_url: str) -> None:
    mine = client(app_url)
    query = "grid operator battery storage in the third quarter"  # not a shipped sample query
    out = mine.predict(query, api_name="/search")
    assert out["relevant"] == [] and out["ndcg_at_10"] is None
    answer = next(h for h in out["fused"] if h["file"] == "annual-grid-report-2025.pdf")
    judged = mine.predict(query, answer["doc_id"], api_name="/judge")
    assert judged["grades"] == {answer["doc_id"]: 1}

    out = mine.predict(query, api_name="/search")
    assert out["relevant"] == [answer["doc_id"]]
    fused_rank = min(h["rank"] for h in out["fused"] if h["doc_id"] == answer["doc_id"])
    assert out["ndcg_at_10"]["fused"] == pytest.approx(1 / math.log2(fused_rank + 1))
    assert 0.0 <= out["ndcg_at_10"]["reranked"] <= 1.0
    stranger = client(app_url).predict(query, api_name="/search")
    assert stranger["relevant"] == [] and stranger["ndcg_at_10"] is None
    # another user marks one page: only the hits of that page count, in that unit
    other = client(app_url)
    other.predict(query, answer["passage"], api_name="/judge")
    out = other.predict(query, api_name="/search")
    assert out["relevant"] == [answer["passage"]] and out["ndcg_at_10"]["fused"] is not None


def test_launch_defaults_and_spaces_address(monkeypatch: pytest.MonkeyPatch) -> None:
    import app
    from search.settings import Settings

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    kwargs = app.launch_kwargs(Settings())
    assert (kwargs["server_name"], kwargs["server_port"]) == ("127.0.0.1", 7860)
    assert kwargs["max_file_size"] == 50 * 1024 * 1024 and kwargs["css"]
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")  # what Spaces sets
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    assert (app.launch_kwargs(Settings())["server_name"], app.launch_kwargs(Settings())["server_port"]) == (
        "0.0.0.0",
        7861,
    )
    own = app.launch_kwargs(Settings(host="10.0.0.5", port=9000, max_upload_mb=5))
    assert (own["server_name"], own["server_port"], own["max_file_size"]) == (
        "10.0.0.5",
        9000,
        5 * 1024 * 1024,
    )


def test_a_misconfigured_spaces_package_does_not_stop_the_app(tmp_path: Path) -> None:
    """On a Space where `spaces` is importable but broken, app.py still imports and builds."""
    import os
    import subprocess
    import sys

    (tmp_path / "spaces.py").write_text("raise RuntimeError('ZeroGPU is not configured here')\n")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "SPACES_ZERO_GPU": "true", "PYTHONPATH": f"{tmp_path}{os.pathsep}{root}"}
    code = "import app, search.rerank.zerogpu as z; assert z.zero_gpu_active(); print('ok')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    assert "`spaces` failed to import (ZeroGPU is not configured here)" in done.stderr
