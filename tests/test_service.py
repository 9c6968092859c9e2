"""App-side services: safe upload names and limits, session collections (private, removable,
cleaned up), shared uploads, the model lock and the rerank estimate, fusion from the controls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from search import service as svc
from search.errors import SearchError
from search.models import FusionParams
from search.rerank.base import Progress
from search.settings import Settings
from tests.app_fixtures import copy_index, make_service, sample_index

# --- file names and staging (no models needed) -------------------------------------------------


@pytest.mark.parametrize(
    "name,expected",
    [
        ("report.PDF", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("/abs/path/notes.md", "notes.md"),
        ("...hidden.txt", "hidden.txt"),
        ("a b$c%d;e.txt", "a b_c_d_e.txt"),
        ("ＦＵＬＬ.txt", "FULL.txt"),  # NFKC folds full-width letters
        ("\x00nul.txt", "nul.txt"),
        ("..", "upload"),
        ("", "upload"),
        ("no-extension", "no-extension"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert svc.safe_filename(name) == expected


def test_safe_filename_caps_length_and_keeps_the_suffix() -> None:
    out = svc.safe_filename("x" * 500 + ".pdf")
    assert out.endswith(".pdf") and len(out) <= svc.MAX_NAME_CHARS


def test_stage_uploads_keeps_names_inside_the_folder_and_refuses_bad_files(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    files = {
        "..\\..\\evil.md": b"# Evil\ntext",  # backslashes are ordinary characters in a Linux file name
        "notes.txt": b"plain text",
        "big.txt": b"x" * 5000,
        "tool.exe": b"MZ",
    }
    for name, data in files.items():
        (incoming / name).write_bytes(data)
    twin = tmp_path / "other"
    twin.mkdir()
    (twin / "notes.txt").write_bytes(b"second notes")
    dest = tmp_path / "uploads" / "files"

    paths = [incoming / n for n in files] + [twin / "notes.txt"]
    staged, skipped = svc.stage_uploads(paths, dest, max_bytes=1000)

    assert sorted(p.name for p in staged) == ["evil.md", "notes-2.txt", "notes.txt"]
    assert all(p.parent == dest and svc.inside(dest, p) for p in staged)
    assert (dest / "notes-2.txt").read_bytes() == b"second notes"
    reasons = dict(skipped)
    assert "over the" in reasons["big.txt"] and "MB upload limit" in reasons["big.txt"]
    assert "unsupported file type" in reasons["tool.exe"]
    assert sorted(p.name for p in dest.iterdir()) == ["evil.md", "notes-2.txt", "notes.txt"]
    assert not (tmp_path / "evil.md").exists() and not (tmp_path.parent / "evil.md").exists()


def test_inside_follows_dot_dot_and_symlinks(tmp_path: Path) -> None:
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "link").symlink_to(tmp_path)
    assert svc.inside(tmp_path / "box", tmp_path / "box" / "a.txt")
    assert not svc.inside(tmp_path / "box", tmp_path / "box" / ".." / "a.txt")
    assert not svc.inside(tmp_path / "box", tmp_path / "box" / "link" / "a.txt")


def test_session_key_hashes_the_id_and_needs_one() -> None:
    key = svc.session_key("../../abc")
    assert len(key) == 32 and key.isalnum() and key == svc.session_key("../../abc")
    assert key != svc.session_key("abd")
    with pytest.raises(svc.UploadError):
        svc.session_key(None)
    with pytest.raises(svc.UploadError):
        svc.session_key("  ")


def test_fusion_from_ui_keeps_the_index_params_until_changed() -> None:
    base = FusionParams(mode="rrf", k=60, alpha=0.5, source="tuned")
    assert svc.fusion_from_ui(base, "rrf", 0.5) is base
    weighted = svc.fusion_from_ui(base, "weighted", 0.3)
    assert (weighted.mode, weighted.alpha, weighted.k, weighted.source) == ("weighted", 0.3, 60, "ui")
    rrf = svc.fusion_from_ui(base, "RRF", 0.8)
    assert rrf.weighted_rrf and rrf.alpha == 0.8
    assert svc.fusion_from_ui(base, "rrf", 7).alpha == 1.0
    with pytest.raises(SearchError):
        svc.fusion_from_ui(base, "max", 0.2)


def test_load_example_queries(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps([{"query": " A? "}, "B?", {"query": "A?"}, {"why": "no query"}, 3]))
    assert svc.load_example_queries(path) == ["A?", "B?"]
    assert svc.load_example_queries(tmp_path / "missing.json") == []
    (tmp_path / "bad.json").write_text("{not json")
    assert svc.load_example_queries(tmp_path / "bad.json") == []


# --- the reranker wrapper --------------------------------------------------------------------


class FakeReranker:
    name, backend, device = "fake", "zerank", "cpu"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.running = 0
        self.max_running = 0
        self._count = threading.Lock()

    def score_with_warnings(
        self, query: str, documents: Sequence[str], progress: Progress | None = None
    ) -> tuple[list[float], list[str]]:
        with self._count:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        time.sleep(self.delay * len(documents))
        if progress:
            progress(len(documents), len(documents))
        with self._count:
            self.running -= 1
        return [float(len(d)) for d in documents], [f"warning for {query}"]


def test_timed_reranker_serialises_measures_and_keeps_warnings_per_thread() -> None:
    fake = FakeReranker(delay=0.002)
    lock = threading.Lock()
    wrapped = svc.TimedReranker(fake, lock)
    assert wrapped.estimate_s(100) is None
    seen: dict[str, list[str]] = {}
    progress: list[tuple[int, int]] = []

    def call(q: str) -> None:
        assert (
            wrapped.score(q, ["a", "bb", "ccc"] * 5, progress=lambda d, t: progress.append((d, t)))
            == [1.0, 2.0, 3.0] * 5
        )
        seen[q] = wrapped.last_warnings

    threads = [threading.Thread(target=call, args=(f"q{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.max_running == 1  # the model lock lets one rerank run at a time
    assert seen == {f"q{i}": [f"warning for q{i}"] for i in range(6)}
    assert (15, 15) in progress and wrapped.calls == 6
    per_chunk = wrapped.seconds_per_chunk
    assert per_chunk is not None and 0.0015 < per_chunk < 0.05
    assert wrapped.estimate_s(100) == pytest.approx(per_chunk * 100)
    assert (wrapped.name, wrapped.device) == ("fake", "cpu")


def test_rerank_estimate_is_set_by_the_first_call_and_forgets_its_warm_up() -> None:
    wrapped = svc.TimedReranker(FakeReranker(), threading.Lock())
    wrapped._record(1.0)  # a first call with warm-up: 1 s per passage
    assert wrapped.estimate_s(100) == pytest.approx(100.0)
    for _ in range(4):
        wrapped._record(0.01)
    assert wrapped.seconds_per_chunk == pytest.approx(0.01)  # median of the last calls


def test_timed_reranker_waits_while_the_lock_is_held_elsewhere() -> None:
    lock = threading.Lock()
    wrapped = svc.TimedReranker(FakeReranker(), lock)
    done = threading.Event()
    with lock:  # an ingest holds the model
        worker = threading.Thread(target=lambda: (wrapped.score("q", ["a"]), done.set()))
        worker.start()
        assert not done.wait(0.2)
    assert done.wait(5)
    worker.join()


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
    main_before = _doc_sources(private, "alice", svc.MAIN)
    note = _text_file(
        tmp_path, "alice notes.md", "# Zanzibar cloves\nThe Zanzibar clove harvest doubled in 2024."
    )
    report = private.ingest("alice", [note], show_progress=False)
    assert report.added == ["alice notes.md"] and report.documents == 1

    assert private.has_uploads("alice") and not private.has_uploads("bob")
    mine = private.search("alice", svc.MINE, "Zanzibar clove harvest", rerank=False)
    assert mine.stages["fused"][0].chunk.citation() == "alice notes.md"
    sample = private.search("bob", svc.MAIN, "Zanzibar clove harvest", rerank=False)
    assert all(h.chunk.file_name != "alice notes.md" for h in sample.stages["fused"])
    with pytest.raises(svc.UploadError, match="not uploaded"):
        private.search("bob", svc.MINE, "Zanzibar")
    assert _doc_sources(private, "alice", svc.MAIN) == main_before  # the sample corpus is untouched
    folder = Path(private.settings.upload_dir) / svc.SESSIONS_DIR / svc.session_key("alice")
    assert (folder / "files" / "alice notes.md").is_file()
    assert "alice" not in str(folder)

    assert private.drop_session("alice")
    assert not folder.exists() and not private.has_uploads("alice")


def test_failed_upload_changes_nothing_and_keeps_no_copy(private: svc.SearchService, tmp_path: Path) -> None:
    good = _text_file(tmp_path, "good.txt", "Saffron crocus fields bloom in October.")
    private.ingest("carol", [good], show_progress=False)
    docs = private.documents("carol", svc.MINE)
    searcher = private.searcher("carol", svc.MINE)

    empty = _text_file(tmp_path, "empty.txt", "   \n  ")
    binary = tmp_path / "blob.pdf"
    binary.write_bytes(b"%PDF-1.4 garbage" + bytes(range(256)) * 4)
    report = private.ingest("carol", [empty, binary], show_progress=False)

    assert not report.changed and {n for n, _ in report.skipped} == {"empty.txt", "blob.pdf"}
    assert private.documents("carol", svc.MINE) == docs
    assert private.searcher("carol", svc.MINE) is searcher  # nothing was published, nothing swapped
    files = Path(private.settings.upload_dir) / svc.SESSIONS_DIR / svc.session_key("carol") / "files"
    assert sorted(p.name for p in files.iterdir()) == ["good.txt"]
    private.drop_session("carol")


def test_remove_documents_and_the_last_one_drops_the_collection(
    private: svc.SearchService, tmp_path: Path
) -> None:
    a = _text_file(tmp_path, "a.txt", "Alpine marmots hibernate for six months.")
    b = _text_file(tmp_path, "b.txt", "Baltic amber holds insects from the Eocene.")
    private.ingest("dave", [a, b], show_progress=False)
    old = private.searcher("dave", svc.MINE)
    ids = {d.source: d.doc_id for d in private.documents("dave", svc.MINE)}

    with pytest.raises(svc.UploadError, match="read-only"):
        private.remove("dave", [ids["a.txt"]], svc.MAIN)
    with pytest.raises(svc.UploadError, match="no such document"):
        private.remove("dave", ["nope"], svc.MINE)
    private.remove("dave", [ids["a.txt"]], svc.MINE)
    assert _doc_sources(private, "dave", svc.MINE) == ["b.txt"]
    # a search that started before the removal still reads the version it started with
    assert any(h.chunk.file_name == "a.txt" for h in old.search("marmots", rerank=False).stages["fused"])
    new = private.search("dave", svc.MINE, "marmots", rerank=False)
    assert all(h.chunk.file_name != "a.txt" for h in new.stages["fused"])
    files = Path(private.settings.upload_dir) / svc.SESSIONS_DIR / svc.session_key("dave") / "files"
    assert sorted(p.name for p in files.iterdir()) == ["b.txt"]

    assert private.remove("dave", [ids["b.txt"]], svc.MINE) is None
    assert not private.has_uploads("dave") and not files.exists()


def test_idle_collections_are_swept(private: svc.SearchService, tmp_path: Path) -> None:
    private.ingest(
        "erin", [_text_file(tmp_path, "e.txt", "Emperor penguins huddle in winter.")], show_progress=False
    )
    assert private.sweep(max_idle_s=3600) == 0
    assert private.sweep(max_idle_s=0) >= 1
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
        top = shared.search(session, svc.MINE, "giant kelp growth Tasmania", rerank=False).stages["bm25"][0]
        assert top.chunk.file_name == "kelp.md"
    assert not shared.has_uploads("frank")
    doc = next(d for d in shared.documents("grace", svc.MAIN) if d.source == "kelp.md")
    shared.remove("grace", [doc.doc_id], svc.MAIN)
    assert "kelp.md" not in _doc_sources(shared, None, svc.MAIN)


def test_ensure_index_builds_a_missing_index_once(tmp_path: Path, embedder: Any) -> None:
    sample = tmp_path / "sample"
    _text_file(sample, "one.txt", "The lighthouse keeper logged every ship.")
    _text_file(sample / "sub", "two.md", "# Tides\nSpring tides follow the new moon.")
    settings = Settings(index_dir=tmp_path / "index", sample_dir=sample)
    report = svc.ensure_index(settings, embedder=embedder, show_progress=False)
    assert report is not None and report.documents == 2
    assert svc.ensure_index(settings, embedder=embedder, show_progress=False) is None
    with pytest.raises(SearchError, match="no sample folder"):
        svc.ensure_index(Settings(index_dir=tmp_path / "none", sample_dir=tmp_path / "missing"))


# --- judgments, NDCG, evaluation, tuning -------------------------------------------------------


def test_ndcg_at_k_by_formula() -> None:
    from math import log2

    grades = {"a": 1, "b": 2, "z": 0}
    assert svc.ndcg_at_k(["b", "a"], grades) == pytest.approx(1.0)
    # b at 4, a at 2; ideal b, a
    expected = (1 / log2(3) + 2 / log2(5)) / (2 / log2(2) + 1 / log2(3))
    assert svc.ndcg_at_k(["x", "a", "y", "b"], grades) == pytest.approx(expected)
    assert svc.ndcg_at_k(["a", "a", "b"], grades) == svc.ndcg_at_k(["a", "b"], grades)  # best chunk counts
    assert svc.ndcg_at_k(["x", "y", "w", "b"], grades, k=3) == 0.0
    assert svc.ndcg_at_k(["a"], {"a": 0}) is None and svc.ndcg_at_k([], {}) is None


def test_ndcg_at_k_matches_the_evaluation_metric() -> None:
    """The search view's per-query NDCG@10 is the number the Evaluate tab (ranx) reports."""
    import random

    from search.metrics import per_query, run_from_ranking

    rng = random.Random(7)
    docs = [f"d{i}" for i in range(30)]
    for case in range(20):
        grades = {d: rng.choice([0, 1, 1, 2]) for d in rng.sample(docs, 6)}
        ranking = rng.sample(docs, 15)
        expected = per_query({"q": grades}, {"q": run_from_ranking(ranking)}, ["ndcg@10"])["ndcg@10"].get("q")
        got = svc.ndcg_at_k(ranking, grades)
        assert (got is None and expected is None) or got == pytest.approx(expected), case


def test_marks_on_the_sample_corpus_stay_with_the_session(private: svc.SearchService) -> None:
    query = "How much battery storage capacity did the grid operator have?"
    hits = private.search("hana", svc.MAIN, query, rerank=False).stages["fused"]
    doc = hits[0].chunk.doc_id
    assert private.relevance("hana", svc.MAIN, query) == {}
    assert private.judge("hana", svc.MAIN, query, {doc: 1}) == {doc: 1}
    assert private.relevance("hana", svc.MAIN, query.upper() + "  ") == {doc: 1}  # same question
    assert private.relevance("ivan", svc.MAIN, query) == {}  # a stranger sees no marks
    assert (
        private.judgment_splits("hana", svc.MAIN) == ["user"]
        and private.judgment_splits("ivan", svc.MAIN) == []
    )
    assert not (Path(private.main.settings.index_dir) / "judgments").exists()  # the sample index is untouched
    with pytest.raises(svc.UploadError, match="no such document"):
        private.judge("hana", svc.MAIN, query, {"not-a-doc": 1})
    private.judge("hana", svc.MAIN, query, {doc: None})
    assert private.relevance("hana", svc.MAIN, query) == {}
    private.drop_session("hana")


def test_evaluate_tune_and_apply_on_a_sessions_marks(private: svc.SearchService) -> None:
    queries = {
        "battery storage capacity of the grid operator": "annual-grid-report-2025.pdf",
        "how to keep a sourdough starter alive": "sourdough-starter.md",
        "symptoms of iron deficiency": "iron-deficiency-anemia.md",
    }
    docs = {d.source.rsplit("/", 1)[-1]: d.doc_id for d in private.documents(None, svc.MAIN)}
    for query, name in queries.items():
        private.judge("jack", svc.MAIN, query, {docs[name]: 1})

    report = private.evaluate("jack", svc.MAIN, "user", rerank=True)
    assert report.n_queries == 3 and report.split == "user"
    assert {"BM25", "Dense", "Hybrid", "Hybrid+rerank"} <= set(report.systems)
    assert all(0.0 <= report.score(system) <= 1.0 for system in report.systems)

    outcome = private.tune("jack", svc.MAIN, "user")
    assert outcome.n_queries == 3
    before = private.searcher("jack", svc.MAIN).fusion
    chosen = FusionParams(mode="weighted", alpha=0.7, source="tuned")
    private.apply_fusion("jack", svc.MAIN, chosen)
    assert private.searcher("jack", svc.MAIN).fusion == chosen
    assert private.search("jack", svc.MAIN, "grid").fusion == chosen
    assert private.searcher("kate", svc.MAIN).fusion == private.main.fusion != chosen  # others unaffected
    assert before == private.main.fusion
    with pytest.raises(svc.UploadError, match="no judgments"):
        private.evaluate("kate", svc.MAIN, "user")
    private.drop_session("jack")


def test_without_a_reranker_the_service_still_searches(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Any
) -> None:
    from search import show

    index = sample_index(tmp_path_factory, embedder)
    service = make_service(tmp_path, index, tmp_path / "no-such-model", embedder)
    status = service.reranker_status
    assert not status.loaded and "does not exist" in status.reason
    result = service.search(None, svc.MAIN, "battery storage", rerank_depth=50)
    assert result.stages["fused"] and "reranked" not in result.stages
    line = show.status_html(status)
    assert "Reranker off" in line and "does not exist" in line and "Search still works" in line
    assert show.result_json(result, 10)["reranked"] == []
