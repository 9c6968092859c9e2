"""Judgments beside an index: BEIR splits read as evaluation expects, user marks round-trip."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest

from search import judgments
from search.judgments import (
    available_splits,
    load,
    mark,
    read_qrels,
    relevant_docs,
    resolve_split,
    user_judgment_count,
    user_query_id,
)


def _beir_judgments(index_dir: Path) -> None:
    folder = index_dir / "judgments"
    (folder / "qrels").mkdir(parents=True)
    queries = [
        {"_id": "q1", "text": "What is  Lava?"},
        {"_id": "q2", "text": "tides"},
        {"_id": "q3", "text": "x"},
    ]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td9\t0\nq9\td2\t1\n"
    )
    (folder / "qrels" / "train_q1-q3.tsv").write_text("q2\td3\t2\n")  # no header: also accepted


def test_beir_splits_load_only_judged_queries_with_text(tmp_path: Path) -> None:
    _beir_judgments(tmp_path)
    assert available_splits(tmp_path) == ["test", "train_q1-q3"]
    assert resolve_split(tmp_path, "train") == "train_q1-q3"
    assert resolve_split(tmp_path, "dev") is None
    queries, qrels = load(tmp_path, "test")
    assert queries == {"q1": "What is  Lava?"}  # q9 is judged but has no text; q2, q3 are not judged here
    assert qrels == {"q1": {"d1": 1, "d9": 0}}  # zero rows are kept in storage; metrics ignore them
    queries, qrels = load(tmp_path, "train")
    assert queries == {"q2": "tides"} and qrels == {"q2": {"d3": 2}}
    with pytest.raises(FileNotFoundError, match="available: test, train_q1-q3"):
        load(tmp_path, "dev")


def test_user_marks_round_trip_mark_save_reload(tmp_path: Path) -> None:
    qid = mark(tmp_path, "How hot is lava?", "d1", 2)
    assert qid == user_query_id("  how HOT is   lava? ") and qid.startswith("u-") and len(qid) == 14
    mark(tmp_path, "how hot is lava?", "d2", 0)  # same question, other case: same query
    mark(tmp_path, "Other question", "d5", 1)
    assert "user" in available_splits(tmp_path)
    assert relevant_docs(tmp_path, "HOW hot is lava?") == {"d1": 2, "d2": 0}

    queries, qrels = load(tmp_path, "user")
    assert queries[qid] == "How hot is lava?"  # the text as first typed, whitespace collapsed
    assert qrels[qid] == {"d1": 2, "d2": 0}
    assert user_judgment_count(tmp_path) == (2, 3)
    tsv = (tmp_path / "judgments" / "qrels" / "user.tsv").read_text().splitlines()
    assert tsv[0] == "query-id\tcorpus-id\tscore"
    assert read_qrels(tmp_path / "judgments" / "qrels" / "user.tsv") == qrels

    mark(tmp_path, "how hot is lava?", "d1", None)  # unmark
    mark(tmp_path, "how hot is lava?", "d2", None)
    queries, qrels = load(tmp_path, "user")
    assert qid not in qrels and qid not in queries
    assert relevant_docs(tmp_path, "how hot is lava?") == {}


def test_relevant_docs_merges_beir_judgments_and_user_marks(tmp_path: Path) -> None:
    _beir_judgments(tmp_path)
    assert relevant_docs(tmp_path, "what is lava?") == {"d1": 1, "d9": 0}
    mark(tmp_path, "What is lava?", "d9", 2)  # the user overrides a BEIR grade
    assert relevant_docs(tmp_path, "what is lava?") == {"d1": 1, "d9": 2}
    assert relevant_docs(tmp_path, "unknown") == {}


@pytest.mark.parametrize(("doc_id", "grade"), [("a\tb", 1), ("", 1), ("d1", -1), ("d1", 1.5)])
def test_mark_refuses_what_a_qrels_file_cannot_hold(tmp_path: Path, doc_id: str, grade: float) -> None:
    with pytest.raises(ValueError):
        mark(tmp_path, "q", doc_id, grade)  # type: ignore[arg-type]


def test_mark_refuses_an_empty_query(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        mark(tmp_path, "   ", "d1", 1)


def test_concurrent_marks_are_all_kept(tmp_path: Path) -> None:
    def work(t: int) -> None:
        for i in range(10):
            mark(tmp_path, f"query {t}", f"doc{i}", 1)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    queries, qrels = load(tmp_path, judgments.USER_SPLIT)
    assert len(queries) == 4 and all(len(d) == 10 for d in qrels.values())
    assert not list((tmp_path / "judgments").rglob("*.tmp"))


# -- passages: marks bind to a page or a chunk, not the whole file --


def _chunk(cid: str, doc: str, page: int | None = None, end: int | None = None):
    from search.models import Chunk

    return Chunk(cid, doc, f"{doc}.pdf" if page else f"{doc}.md", "", "text", page, end or page)


def test_passage_keys_are_pages_for_pdfs_and_chunks_for_text() -> None:
    assert judgments.passage_keys(_chunk("r:00001", "r", 3, 4)) == ["r#page=3", "r#page=4"]
    assert judgments.passage_key(_chunk("n:00002", "n")) == "n:00002"
    assert judgments.doc_of_key("r#page=3") == "r" and judgments.doc_of_key("n:00002") == "n"
    assert judgments.doc_of_key("MED-10") is None


def test_a_page_mark_does_not_mark_the_rest_of_the_file() -> None:
    grades = {"r#page=3": 1}
    assert judgments.grade_of(_chunk("r:00001", "r", 3), grades) == 1
    assert judgments.grade_of(_chunk("r:00002", "r", 2, 3), grades) == 1  # a chunk that spans page 3
    assert judgments.grade_of(_chunk("r:00005", "r", 5), grades) is None
    # a document-level qrel (BEIR) counts for all its passages; a passage's own mark wins
    assert judgments.grade_of(_chunk("d:00009", "d"), {"d": 2}) == 2
    assert judgments.grade_of(_chunk("d:00009", "d"), {"d": 2, "d:00009": 0}) == 0


def test_ndcg_ranks_the_unit_of_the_marks() -> None:
    """Seven passages of one judged PDF no longer make NDCG@10 1.0: only the judged page gains."""
    from types import SimpleNamespace

    from webapp.callbacks import column_ndcg

    hits = [SimpleNamespace(chunk=_chunk(f"r:{i:05d}", "r", i)) for i in range(1, 8)]
    assert column_ndcg(hits, {"r#page=5": 1}) == pytest.approx(1 / math.log2(6))
    assert column_ndcg(hits, {"r": 1}) == pytest.approx(1.0)  # a document-level mark: best chunk
    two = column_ndcg(hits, {"r#page=1": 1, "r#page=2": 1})
    assert two == pytest.approx(1.0) and column_ndcg(hits, {"r#page=9": 1}) == 0.0
