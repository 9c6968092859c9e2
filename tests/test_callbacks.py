"""The app's behaviour without a browser: the callbacks take plain values and return view data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from search.errors import QueryError, SearchError, UploadError
from search.models import Scope
from search.pipeline import Searcher
from tests.app_fixtures import copy_index, make_service, sample_index
from webapp.callbacks import Callbacks
from webapp.events import user_errors

QUERY = "How much battery storage did the grid operator add?"


@pytest.fixture(scope="module")
def cb(tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any) -> Callbacks:
    root = tmp_path_factory.mktemp("callbacks")
    index = copy_index(sample_index(tmp_path_factory, embedder), root / "index")
    return Callbacks(make_service(root, index, tiny_zerank_path, embedder))


def chunk_ids(column: str) -> list[str]:
    return re.findall(r'data-chunk="([^"]+)"', column)


def form(cb: Callbacks, query: str = QUERY, **changes: Any) -> Any:
    values = {"scope": "main", "top_k": 5, "candidates": 50, "depth": 20, "mode": None, "alpha": None}
    values |= {"rerank": True, **changes}
    return cb.form(query, **values)


def test_one_first_stage_serves_both_columns(cb: Callbacks, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hybrid list shown at once and the reranked list come from one retrieval (one index read)."""
    calls: list[str] = []
    original = Searcher.retrieve_shaped  # what `retrieve` and `first_stage` both call

    def counting(self: Searcher, query: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(query)
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(Searcher, "retrieve_shaped", counting)
    first = cb.first_stage("s1", form(cb))
    assert "Reranking the top 20 hybrid results" in first.right and "#1" in first.left
    second = cb.rerank_stage("s1", form(cb))
    assert second is not None and calls == [QUERY]
    assert "Reranked by tiny_zerank" in second.right
    assert chunk_ids(second.left) == chunk_ids(first.left)  # the same hybrid list, now with its moves
    _, result = cb.service.last_result("s1")
    assert "reranked" in result.stages and len(result.stages["fused"]) == 5


def test_a_changed_form_searches_again(cb: Callbacks) -> None:
    cb.first_stage("s2", form(cb))
    view = cb.rerank_stage("s2", form(cb, top_k=3))
    _, result = cb.service.last_result("s2")
    assert view is not None and len(result.stages["reranked"]) == 3


def test_no_rerank_step_when_reranking_is_off(cb: Callbacks) -> None:
    view = cb.first_stage("s3", form(cb, rerank=False))
    assert "turned off" in view.right
    assert cb.rerank_stage("s3", form(cb, rerank=False)) is None
    assert cb.rerank_stage("s3", form(cb, depth=0)) is None


@pytest.mark.parametrize(
    "field,changes",
    [
        ("top_k", {"top_k": -5}),
        ("top_k", {"top_k": 10**6}),
        ("candidates", {"candidates": 0}),
        ("rerank_depth", {"depth": 10**6}),
        ("alpha", {"alpha": 1.5}),
        ("fusion_mode", {"mode": "max"}),
        ("scope", {"scope": "everyone"}),
    ],
)
def test_out_of_range_controls_are_refused_by_name(cb: Callbacks, field: str, changes: dict) -> None:
    with pytest.raises(QueryError, match=field):
        form(cb, **changes)


def test_a_huge_query_is_refused_before_any_work(cb: Callbacks) -> None:
    with pytest.raises(QueryError, match="query is 2,000,000 characters"):
        form(cb, query="x" * 2_000_000)


def test_judging_marks_the_shown_documents_and_redraws(cb: Callbacks) -> None:
    with pytest.raises(UploadError, match="Search first"):
        cb.save_judgments("fresh-tab", ["x"], 50)
    view = cb.first_stage("judge", form(cb, rerank=False))
    top_doc = view.judge_choices[0][1]
    redrawn, note = cb.save_judgments("judge", [top_doc], 50)
    assert note.startswith("Saved 1 mark") and top_doc in redrawn.judge_checked
    assert "✓ relevant" in redrawn.left and "NDCG@10" in redrawn.left
    splits, chosen = cb.split_choices("judge", Scope.MAIN)
    assert "user" in splits and chosen == "user"  # the session's own marks, beside the shipped ones
    assert "user" not in cb.split_choices("someone-else", Scope.MAIN)[0]


def test_apply_refuses_unknown_fusion_settings(cb: Callbacks) -> None:
    with pytest.raises(UploadError, match="cannot use these fusion settings"):
        cb.apply("tuner", Scope.MAIN, {"mode": "max", "alpha": 0.5})
    with pytest.raises(UploadError, match="Tune first"):
        cb.apply("tuner", Scope.MAIN, None)


def test_documents_view_and_upload_errors(cb: Callbacks) -> None:
    view = cb.documents_view("docs-tab")
    assert view.rows == [] and not view.has_uploads and view.main_rows
    with pytest.raises(UploadError, match="Choose one or more"):
        cb.ingest("docs-tab", [])
    with pytest.raises(UploadError, match="Choose a document"):
        cb.remove("docs-tab", None)


def test_user_errors_show_search_errors_and_hide_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    @user_errors
    def refuses() -> None:
        raise QueryError("the query is empty: type some words")

    @user_errors
    def breaks() -> None:
        raise KeyError("secret internals")

    with pytest.raises(gr.Error, match="the query is empty"):
        refuses()
    with pytest.raises(gr.Error) as caught:
        breaks()
    assert "internal error" in str(caught.value) and "secret" not in str(caught.value)
    assert "secret internals" in caplog.text  # logged with its traceback for the operator
    assert issubclass(UploadError, SearchError)


def test_a_cited_pdf_page_is_shown_with_a_link_to_that_page(cb: Callbacks) -> None:
    from webapp.page_view import page_choices, page_view

    assert page_view(cb.service, "pages", None).image is None
    cb.first_stage("pages", form(cb, rerank=False))
    choices = page_choices(cb.service, "pages")
    assert choices and all(".pdf, p" in label for label, _ in choices)
    view = page_view(cb.service, "pages", choices[0][1])
    _, result = cb.service.last_result("pages")
    chunk = next(h.chunk for h in result.stages["fused"] if h.chunk.id == choices[0][1])
    assert view.image is not None and view.image.is_file() and view.image.suffix == ".png"
    assert view.image.parent == Path(cb.service.settings.page_cache_dir)
    assert f"page {chunk.page_start} of" in view.note and chunk.file_name in view.note
    assert view.link.startswith("/gradio_api/file=") and view.link.endswith(f"#page={chunk.page_start}")


def test_a_closed_tab_leaves_no_kept_first_stage(cb: Callbacks) -> None:
    cb.first_stage("closing", form(cb))
    assert "closing" in cb._first
    cb.forget("closing")
    assert "closing" not in cb._first


JUDGED = "How much battery storage capacity did the grid operator have in the third quarter?"


def test_ndcg_of_a_list_no_reranker_made_is_null_not_zero(cb: Callbacks) -> None:
    """`/search` said `ndcg_at_10.reranked: 0.0` when no reranker ran; it is null, and the app shows
    no NDCG for the missing list either."""
    from webapp.api import Api

    api = Api(cb)
    off = api.search(JUDGED, top_k=5, rerank=False)
    assert off["reranked"] == [] and off["ndcg_at_10"]["reranked"] is None
    assert isinstance(off["ndcg_at_10"]["fused"], float)  # the judged query still scores its hybrid list
    on = api.search(JUDGED, top_k=5, rerank_depth=10)
    assert on["reranked"] and isinstance(on["ndcg_at_10"]["reranked"], float)

    view = cb.first_stage(None, form(cb, JUDGED, rerank=False))
    assert "NDCG@10" in view.left and "NDCG@10" not in view.right and "0.00" not in view.right
    assert view.gain == ""  # no "NDCG@10 0.61 → 0.00" line


def test_the_evaluate_tab_names_the_collection_and_says_why_reranked_columns_are_absent(
    cb: Callbacks,
) -> None:
    from search.models import RerankAttempt, RerankerStatus
    from webapp.evaluating import rerank_note

    table = cb.shipped_table(None, "main")
    label = cb.scope_label(Scope.MAIN)
    assert f"| {label} (sample) |" in table and "| index (" not in table  # as the Search tab names it
    # the tiny reranker runs on CPU: the box can be ticked, and the note says so
    assert "Tick “Include reranking” and press Evaluate" in table

    none = RerankerStatus(
        name="",
        backend="none",
        choice="none: no GPU for zerank-1",
        attempts=(RerankAttempt("zerank-1", "no GPU", "run on a machine with a GPU"),
                  RerankAttempt("hosted zerank-1", "no key", "set ZEROENTROPY_API_KEY")),
    )  # fmt: skip
    note = rerank_note(none)
    assert "no reranker runs on this server (none: no GPU for zerank-1)" in note
    assert "run on a machine with a GPU; or set ZEROENTROPY_API_KEY" in note and "tick" not in note.lower()
    assert "SEARCH_RERANKER=auto" in rerank_note(RerankerStatus(name="", backend="none"))


def test_an_upload_reports_its_steps_in_words(cb: Callbacks, tmp_path: Path) -> None:
    """What the one progress display shows: each file read, the passages embedded, the write."""
    files = []
    for i, topic in enumerate(("tides", "kites")):
        path = tmp_path / f"{topic}.txt"
        path.write_text(f"Notes on {topic}. " + f"The {topic} log has entry {i}. " * 60, encoding="utf-8")
        files.append(str(path))
    heard: list[tuple[str, int, int]] = []
    report = cb.ingest("s-upload", files, lambda words, done, total: heard.append((words, done, total)))
    cb.service.drop_session("s-upload")
    assert "Indexed 2 files" in report
    words = [w for w, _, _ in heard]
    assert words[:2] == ["Reading file 1 of 2: tides.txt", "Reading file 2 of 2: kites.txt"]
    embedding = [(w, d, t) for w, d, t in heard if w.startswith("Embedding")]
    total = embedding[-1][2]
    assert embedding[0] == (f"Embedding 0 of {total} passages", 0, total)
    assert embedding[-1] == (f"Embedding {total} of {total} passages", total, total)
    assert words[-1] == "Writing the index" and all(0 <= d <= t for _, d, t in heard)
