"""App-side services: safe upload names and limits, session collections (private, removable,
cleaned up), shared uploads, the model lock and the rerank estimate, fusion from the controls."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ingest.sample import ensure_index
from search.errors import SearchError, UploadError
from search.metrics import ranking_ndcg
from search.models import FusionParams, Scope
from search.settings import Settings
from tests.app_fixtures import copy_index, make_service, sample_index
from webapp import service as svc
from webapp.sessions import SESSIONS_DIR, session_key

# --- the service on a real index -------------------------------------------------------------


@pytest.fixture(scope="module")
def private(
    tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any
) -> svc.SearchService:
    """A per-session service on its own copy of the sample index."""
    root = tmp_path_factory.mktemp("private")
    index = copy_index(sample_index(tmp_path_factory, embedder), root / "index")
    return make_service(root, index, tiny_zerank_path, embedder)


def _text_file(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _doc_sources(service: svc.SearchService, session: str, scope: str) -> list[str]:
    return sorted(d.source for d in service.documents(session, scope))


def test_sessions_have_private_collections(private: svc.SearchService, tmp_path: Path) -> None:
    main_before = _doc_sources(private, "alice", Scope.MAIN)
    note = _text_file(
        tmp_path, "alice notes.md", "# Zanzibar cloves\nThe Zanzibar clove harvest doubled in 2024."
    )
    report = private.ingest("alice", [note], show_progress=False)
    assert report.added == ["alice notes.md"] and report.documents == 1

    assert private.has_uploads("alice") and not private.has_uploads("bob")
    mine = private.search("alice", Scope.MINE, "Zanzibar clove harvest", rerank=False)
    assert mine.stages["fused"][0].chunk.citation() == "alice notes.md"
    sample = private.search("bob", Scope.MAIN, "Zanzibar clove harvest", rerank=False)
    assert all(h.chunk.file_name != "alice notes.md" for h in sample.stages["fused"])
    with pytest.raises(UploadError, match="not uploaded"):
        private.search("bob", Scope.MINE, "Zanzibar")
    assert _doc_sources(private, "alice", Scope.MAIN) == main_before  # the sample corpus is untouched
    folder = Path(private.settings.upload_dir) / SESSIONS_DIR / session_key("alice")
    assert (folder / "files" / "alice notes.md").is_file()
    assert "alice" not in str(folder)

    assert private.drop_session("alice")
    assert not folder.exists() and not private.has_uploads("alice")


def test_failed_upload_changes_nothing_and_keeps_no_copy(private: svc.SearchService, tmp_path: Path) -> None:
    good = _text_file(tmp_path, "good.txt", "Saffron crocus fields bloom in October.")
    private.ingest("carol", [good], show_progress=False)
    docs = private.documents("carol", Scope.MINE)
    searcher = private.searcher("carol", Scope.MINE)

    empty = _text_file(tmp_path, "empty.txt", "   \n  ")
    binary = tmp_path / "blob.pdf"
    binary.write_bytes(b"%PDF-1.4 garbage" + bytes(range(256)) * 4)
    report = private.ingest("carol", [empty, binary], show_progress=False)

    assert not report.changed and {n for n, _ in report.skipped} == {"empty.txt", "blob.pdf"}
    assert private.documents("carol", Scope.MINE) == docs
    assert private.searcher("carol", Scope.MINE) is searcher  # nothing was published, nothing swapped
    files = Path(private.settings.upload_dir) / SESSIONS_DIR / session_key("carol") / "files"
    assert sorted(p.name for p in files.iterdir()) == ["good.txt"]
    private.drop_session("carol")


def test_remove_documents_and_the_last_one_drops_the_collection(
    private: svc.SearchService, tmp_path: Path
) -> None:
    a = _text_file(tmp_path, "a.txt", "Alpine marmots hibernate for six months.")
    b = _text_file(tmp_path, "b.txt", "Baltic amber holds insects from the Eocene.")
    private.ingest("dave", [a, b], show_progress=False)
    old = private.searcher("dave", Scope.MINE)
    ids = {d.source: d.doc_id for d in private.documents("dave", Scope.MINE)}

    with pytest.raises(UploadError, match="read-only"):
        private.remove("dave", [ids["a.txt"]], Scope.MAIN)
    with pytest.raises(UploadError, match="no such document"):
        private.remove("dave", ["nope"], Scope.MINE)
    private.remove("dave", [ids["a.txt"]], Scope.MINE)
    assert _doc_sources(private, "dave", Scope.MINE) == ["b.txt"]
    # a search that started before the removal still reads the version it started with
    assert any(h.chunk.file_name == "a.txt" for h in old.search("marmots", rerank=False).stages["fused"])
    new = private.search("dave", Scope.MINE, "marmots", rerank=False)
    assert all(h.chunk.file_name != "a.txt" for h in new.stages["fused"])
    files = Path(private.settings.upload_dir) / SESSIONS_DIR / session_key("dave") / "files"
    assert sorted(p.name for p in files.iterdir()) == ["b.txt"]

    assert private.remove("dave", [ids["b.txt"]], Scope.MINE) is None
    assert not private.has_uploads("dave") and not files.exists()


def test_idle_collections_are_swept(private: svc.SearchService, tmp_path: Path) -> None:
    private.ingest(
        "erin", [_text_file(tmp_path, "e.txt", "Emperor penguins huddle in winter.")], show_progress=False
    )
    assert private.sessions.sweep(max_idle_s=3600) == 0
    assert private.sessions.sweep(max_idle_s=0) >= 1
    assert not private.has_uploads("erin")


def test_shared_uploads_go_into_the_main_index(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any
) -> None:
    index = copy_index(sample_index(tmp_path_factory, embedder), tmp_path / "index")
    shared = make_service(tmp_path, index, tiny_zerank_path, embedder, shared_uploads=True)
    assert shared.main_label() == "Sample corpus"
    old_main = shared.main
    note = _text_file(tmp_path / "in", "kelp.md", "# Kelp\nGiant kelp grows half a metre a day off Tasmania.")
    shared.ingest("frank", [note], show_progress=False)

    assert shared.main is not old_main and shared.main_label() == "Shared index"
    for session in ("frank", "grace", None):  # everyone searches the same index
        top = shared.search(session, Scope.MINE, "giant kelp growth Tasmania", rerank=False).stages["bm25"][0]
        assert top.chunk.file_name == "kelp.md"
    assert not shared.has_uploads("frank")
    doc = next(d for d in shared.documents("grace", Scope.MAIN) if d.source == "kelp.md")
    shared.remove("grace", [doc.doc_id], Scope.MAIN)
    assert "kelp.md" not in _doc_sources(shared, None, Scope.MAIN)


def test_ensure_index_builds_a_missing_index_once(tmp_path: Path, embedder: Any) -> None:
    sample = tmp_path / "sample"
    _text_file(sample, "one.txt", "The lighthouse keeper logged every ship.")
    _text_file(sample / "sub", "two.md", "# Tides\nSpring tides follow the new moon.")
    settings = Settings(index_dir=tmp_path / "index", sample_dir=sample)
    report = ensure_index(settings, embedder=embedder, show_progress=False)
    assert report is not None and report.documents == 2
    assert ensure_index(settings, embedder=embedder, show_progress=False) is None
    with pytest.raises(SearchError, match="no sample folder"):
        ensure_index(Settings(index_dir=tmp_path / "none", sample_dir=tmp_path / "missing"))


# --- judgments, NDCG, evaluation, tuning -------------------------------------------------------


def test_ranking_ndcg_matches_the_evaluation_metric() -> None:
    """The search view's per-query NDCG@10 is the number the Evaluate tab (ranx) reports."""
    import random

    from search.metrics import per_query, run_from_ranking

    rng = random.Random(7)
    docs = [f"d{i}" for i in range(30)]
    for case in range(20):
        grades = {d: rng.choice([0, 1, 1, 2]) for d in rng.sample(docs, 6)}
        ranking = rng.sample(docs, 15)
        expected = per_query({"q": grades}, {"q": run_from_ranking(ranking)}, ["ndcg@10"])["ndcg@10"].get("q")
        got = ranking_ndcg(ranking, grades)
        assert (got is None and expected is None) or got == pytest.approx(expected), case


def test_marks_on_the_sample_corpus_stay_with_the_session(private: svc.SearchService) -> None:
    query = "How much battery storage capacity did the grid operator have?"
    hits = private.search("hana", Scope.MAIN, query, rerank=False).stages["fused"]
    doc = hits[0].chunk.doc_id
    assert private.relevance("hana", Scope.MAIN, query) == {}
    assert private.judge("hana", Scope.MAIN, query, {doc: 1}) == {doc: 1}
    assert private.relevance("hana", Scope.MAIN, query.upper() + "  ") == {doc: 1}  # same question
    assert private.relevance("ivan", Scope.MAIN, query) == {}  # a stranger sees no marks
    assert (
        private.judgment_splits("hana", Scope.MAIN) == ["sample", "user"]
        and private.judgment_splits("ivan", Scope.MAIN) == ["sample"]  # the shipped judgments
    )
    shipped = Path(private.main.settings.index_dir) / "judgments" / "qrels"
    assert sorted(p.name for p in shipped.iterdir()) == ["sample.tsv"]  # the sample index is untouched
    with pytest.raises(UploadError, match="no such document"):
        private.judge("hana", Scope.MAIN, query, {"not-a-doc": 1})
    private.judge("hana", Scope.MAIN, query, {doc: None})
    assert private.relevance("hana", Scope.MAIN, query) == {}
    private.drop_session("hana")


def test_evaluate_tune_and_apply_on_a_sessions_marks(private: svc.SearchService) -> None:
    queries = {
        "battery storage capacity of the grid operator": "annual-grid-report-2025.pdf",
        "how to keep a sourdough starter alive": "sourdough-starter.md",
        "symptoms of iron deficiency": "iron-deficiency-anemia.md",
    }
    docs = {d.source.rsplit("/", 1)[-1]: d.doc_id for d in private.documents(None, Scope.MAIN)}
    for query, name in queries.items():
        private.judge("jack", Scope.MAIN, query, {docs[name]: 1})

    report = private.evaluate("jack", Scope.MAIN, "user", rerank=True)
    assert report.n_queries == 3 and report.split == "user"
    assert {"BM25", "Dense", "Hybrid", "Hybrid+rerank"} <= set(report.systems)
    assert all(0.0 <= report.score(system) <= 1.0 for system in report.systems)

    outcome = private.tune("jack", Scope.MAIN, "user")
    assert outcome.n_queries == 3
    before = private.searcher("jack", Scope.MAIN).fusion
    chosen = FusionParams(mode="weighted", alpha=0.7, source="tuned")
    private.apply_fusion("jack", Scope.MAIN, chosen)
    assert private.searcher("jack", Scope.MAIN).fusion == chosen
    assert private.search("jack", Scope.MAIN, "grid").fusion == chosen
    assert private.searcher("kate", Scope.MAIN).fusion == private.main.fusion != chosen  # others unaffected
    assert before == private.main.fusion
    with pytest.raises(UploadError, match="no judgments"):
        private.evaluate("kate", Scope.MAIN, "user")
    private.drop_session("jack")


def test_without_a_reranker_the_service_still_searches(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Any
) -> None:
    from search import payload
    from webapp import status as status_view

    index = sample_index(tmp_path_factory, embedder)
    service = make_service(tmp_path, index, tmp_path / "no-such-model", embedder)
    status = service.reranker_status
    assert not status.loaded and "does not exist" in status.reason
    result = service.search(None, Scope.MAIN, "battery storage", rerank_depth=50)
    assert result.stages["fused"] and "reranked" not in result.stages
    line = status_view.status_html(status)
    assert "Reranker off" in line and "does not exist" in line and "Search still works" in line
    assert payload.result_json(result, 10)["reranked"] == []

    from webapp.callbacks import Callbacks, SearchForm

    cb = Callbacks(service)
    view = cb.first_stage("s1", SearchForm("battery storage", depth=50))
    assert "hs-hit" in view.left and "hs-hit" not in view.right
    assert view.right.startswith('<div class="hs-col-title">Not reranked</div>')
    assert "No reranker is running here" in view.right and "does not exist" in view.right
    assert "Fix: set SEARCH_RERANKER=auto" in view.right and "fused by" in view.right
    assert cb.rerank_stage("s1", SearchForm("battery storage", depth=50)) is None  # the card stays


def test_marks_in_the_app_bind_to_the_passage_shown(private: svc.SearchService) -> None:
    """Ticking one page of a PDF marks that page: other pages of the file stay unmarked, NDCG counts
    that page, and the gain line reports the before/after NDCG."""
    from webapp.callbacks import Callbacks, SearchForm

    cb = Callbacks(private)
    query = "what did the grid operator report about its network"
    view = cb.first_stage("lena", SearchForm(query))
    grid = [k for _, k in view.judge_choices if "#page=" in k]
    assert len(grid) >= 2 and not view.judge_checked  # several pages shown, none judged yet
    labels = dict((k, label) for label, k in view.judge_choices)
    assert labels[grid[0]].startswith("annual-grid-report-2025.pdf, p. ")
    view = cb.rerank_stage("lena", SearchForm(query))
    view, note = cb.save_judgments("lena", [grid[0]], 100)
    assert note.startswith("Saved 1 mark(s)") and view.judge_checked == [grid[0]]
    grades = private.relevance("lena", Scope.MAIN, query)
    assert grades == {grid[0]: 1}
    page = int(grid[0].rsplit("=", 1)[1])
    marked = re.findall(r'<details class="hs-hit hs-relevant" data-chunk="([^"]+)"', view.left)
    shown = {h.chunk.id: h.chunk for h in private.last_result("lena")[1].stages["fused"]}
    assert marked and all(shown[c].page_start <= page <= shown[c].page_end for c in marked)
    assert view.gain.startswith('<div class="hs-gain">Reranking: NDCG@10 ')
    # unticking records "judged not relevant"
    view, _ = cb.save_judgments("lena", [], 100)
    assert private.relevance("lena", Scope.MAIN, query) == {grid[0]: 0} and not view.judge_checked
    private.drop_session("lena")
