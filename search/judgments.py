"""Relevance judgments stored beside an index, in BEIR layout, so they outlive rebuilds.

    <index_dir>/judgments/queries.jsonl        BEIR queries (copied by `python -m ingest --beir`)
    <index_dir>/judgments/qrels/<split>.tsv    BEIR qrels: query-id, corpus-id, score (header line)
    <index_dir>/judgments/user-queries.jsonl   queries a user judged in the app
    <index_dir>/judgments/qrels/user.tsv       the user's marks (split "user")

Marks bind to the passage, not the whole file: a PDF page (`<doc_id>#page=<n>`) or, for text, a
chunk (its id, `<doc_id>:<nnnnn>`). A document-level judgment (a BEIR qrel names a `doc_id`) still
counts for all of that document's passages. NDCG uses the unit the marks use: a document judged by
passage is ranked by passage (each judged passage gains once), one judged as a whole is ranked at its
best chunk, as BEIR evaluation does (`unit_of`). A user query's id is derived from its normalised
text, so marking the same question again (other spacing or case) updates the same judgments.
Grade 0 means "judged not relevant" and is kept; removing a mark deletes the row. Every write is an
atomic rewrite. The sample corpus ships its judgments as split `sample` (data/make_sample_judgments.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Collection, Mapping
from pathlib import Path

from search.atomic import write_atomic
from search.errors import JudgmentsError, NoJudgmentsError
from search.models import Chunk

log = logging.getLogger(__name__)

JUDGMENTS_DIR = "judgments"
QRELS_DIR = "qrels"
QUERIES_FILE = "queries.jsonl"
USER_QUERIES_FILE = "user-queries.jsonl"
USER_SPLIT = "user"
HEADER = ("query-id", "corpus-id", "score")

#: query id -> document id -> grade.
Qrels = dict[str, dict[str, int]]

_lock = threading.Lock()


def normalize_query(text: str) -> str:
    """Whitespace collapsed and case folded: what makes two typed queries "the same question"."""
    return " ".join(str(text).split()).casefold()


def user_query_id(text: str) -> str:
    """Stable id for a user's query: `u-` + the first 12 hex digits of sha1(normalised text)."""
    return "u-" + hashlib.sha1(normalize_query(text).encode("utf-8")).hexdigest()[:12]


def judgments_dir(index_dir: Path) -> Path:
    return Path(index_dir) / JUDGMENTS_DIR


def available_splits(index_dir: Path) -> list[str]:
    """Names of the qrels files beside the index (`test`, `dev`, `user`, ...), sorted."""
    folder = judgments_dir(index_dir) / QRELS_DIR
    return sorted(p.stem for p in folder.glob("*.tsv")) if folder.is_dir() else []


def resolve_split(index_dir: Path, name: str) -> str | None:
    """The qrels file a split name means: the exact name, else the one file named `<name>_*` or
    `<name>-*` (AILA ships `train_q1-q10.tsv`); None when there is no such file or it is ambiguous."""
    splits = available_splits(index_dir)
    if name in splits:
        return name
    matches = [s for s in splits if s.startswith((f"{name}_", f"{name}-"))]
    return matches[0] if len(matches) == 1 else None


def read_qrels(path: Path) -> Qrels:
    """A BEIR qrels TSV (header optional). Duplicate rows keep the last grade."""
    qrels: Qrels = {}
    if not Path(path).is_file():
        return qrels
    with open(path, encoding="utf-8", newline="") as f:
        for line_no, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
            if not row or not "".join(row).strip():
                continue
            if line_no == 1 and row[0].strip().lower() in {"query-id", "query_id", "qid"}:
                continue
            if len(row) < 3:
                raise JudgmentsError(f"{path}:{line_no}: expected query-id, corpus-id, score")
            try:
                grade = int(float(row[2]))
            except ValueError:
                raise JudgmentsError(f"{path}:{line_no}: score {row[2]!r} is not a number") from None
            qrels.setdefault(row[0].strip(), {})[row[1].strip()] = grade
    return qrels


def format_qrels(qrels: Qrels) -> str:
    """BEIR qrels TSV text with its header line, rows in a stable order."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
    writer.writerow(HEADER)
    for qid in sorted(qrels):
        for doc_id in sorted(qrels[qid]):
            writer.writerow((qid, doc_id, int(qrels[qid][doc_id])))
    return buf.getvalue()


def read_queries(path: Path) -> dict[str, str]:
    """`_id` -> `text` from a BEIR queries.jsonl (missing file: empty)."""
    queries: dict[str, str] = {}
    if not Path(path).is_file():
        return queries
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                queries[str(row["_id"])] = str(row["text"])
            except (ValueError, KeyError) as exc:
                raise JudgmentsError(f"{path}:{line_no}: not a BEIR query line ({exc})") from None
    return queries


def _write_queries(path: Path, queries: dict[str, str]) -> None:
    lines = [json.dumps({"_id": qid, "text": text}, ensure_ascii=False) for qid, text in queries.items()]
    write_atomic(path, "".join(line + "\n" for line in lines))


def load(index_dir: Path, split: str) -> tuple[dict[str, str], Qrels]:
    """(queries, qrels) of one split: only queries that the split judges, only judged queries that
    have a text. `split` may be abbreviated as `resolve_split` allows; an unknown split raises."""
    folder = judgments_dir(index_dir)
    name = resolve_split(index_dir, split)
    if name is None:
        have = ", ".join(available_splits(index_dir)) or "none"
        raise NoJudgmentsError(f"no judgments '{split}' beside {index_dir} (available: {have})")
    qrels = read_qrels(folder / QRELS_DIR / f"{name}.tsv")
    texts = {**read_queries(folder / QUERIES_FILE), **read_queries(folder / USER_QUERIES_FILE)}
    missing = [q for q in qrels if q not in texts]
    if missing:
        log.warning("%d judged queries of split %s have no text and are skipped", len(missing), name)
    qrels = {q: d for q, d in qrels.items() if q in texts}
    return {q: texts[q] for q in qrels}, qrels


def mark(index_dir: Path, query_text: str, doc_id: str, relevance: int | None) -> str:
    """Record a user's judgment of `doc_id` for `query_text` (None removes the mark); returns the
    query id. Grade 0 = judged not relevant, 1 = relevant, 2 = highly relevant."""
    if not normalize_query(query_text):
        raise JudgmentsError("cannot judge an empty query")
    doc_id = str(doc_id)
    if not doc_id or any(c in doc_id for c in "\t\r\n"):
        raise JudgmentsError(f"document id {doc_id!r} cannot be stored in a qrels file")
    if relevance is not None and (int(relevance) != relevance or relevance < 0):
        raise JudgmentsError(f"relevance must be a whole number >= 0 (or None to unmark), got {relevance!r}")
    qid = user_query_id(query_text)
    folder = judgments_dir(index_dir)
    with _lock:
        (folder / QRELS_DIR).mkdir(parents=True, exist_ok=True)
        qrels_path = folder / QRELS_DIR / f"{USER_SPLIT}.tsv"
        queries_path = folder / USER_QUERIES_FILE
        qrels = read_qrels(qrels_path)
        queries = read_queries(queries_path)
        if relevance is None:
            qrels.get(qid, {}).pop(doc_id, None)
            if not qrels.get(qid):
                qrels.pop(qid, None)
                queries.pop(qid, None)
        else:
            qrels.setdefault(qid, {})[doc_id] = int(relevance)
            queries.setdefault(qid, " ".join(str(query_text).split()))
        # queries first: a reader that sees a new qrels row always finds its query text
        _write_queries(queries_path, queries)
        write_atomic(qrels_path, format_qrels(qrels))
    return qid


def relevant_docs(index_dir: Path, query_text: str) -> dict[str, int]:
    """Every judgment for this query text (BEIR splits and the user's marks, the user's winning),
    as doc_id -> grade, grade 0 included; for the search view to show marks beside hits."""
    folder = judgments_dir(index_dir)
    wanted = normalize_query(query_text)
    beir_ids = {q for q, t in read_queries(folder / QUERIES_FILE).items() if normalize_query(t) == wanted}
    out: dict[str, int] = {}
    if beir_ids:
        for split in available_splits(index_dir):
            if split == USER_SPLIT:
                continue
            for qid, docs in read_qrels(folder / QRELS_DIR / f"{split}.tsv").items():
                if qid in beir_ids:
                    out.update(docs)
    out.update(read_qrels(folder / QRELS_DIR / f"{USER_SPLIT}.tsv").get(user_query_id(query_text), {}))
    return out


def user_judgment_count(index_dir: Path) -> tuple[int, int]:
    """(queries with at least one relevant mark, marks) of the user's judgments."""
    qrels = read_qrels(judgments_dir(index_dir) / QRELS_DIR / f"{USER_SPLIT}.tsv")
    return sum(1 for d in qrels.values() if any(g >= 1 for g in d.values())), sum(
        len(d) for d in qrels.values()
    )


# -- passages: what a mark binds to --

PAGE_MARK = "#page="
_CHUNK_ID = re.compile(r"^(?P<doc>.+):\d{5}$")


def passage_keys(chunk: Chunk) -> list[str]:
    """The passage keys a chunk covers: each page of a PDF chunk, or the chunk itself for text."""
    if chunk.page_start is None:
        return [chunk.id]
    end = chunk.page_end if chunk.page_end is not None else chunk.page_start
    return [f"{chunk.doc_id}{PAGE_MARK}{p}" for p in range(chunk.page_start, end + 1)]


def passage_key(chunk: Chunk) -> str:
    """The key a mark on this chunk is stored under (its first page for PDFs)."""
    return passage_keys(chunk)[0]


def doc_of_key(key: str) -> str | None:
    """The document a passage key belongs to; None for a document-level key."""
    if PAGE_MARK in key:
        return key.split(PAGE_MARK, 1)[0]
    match = _CHUNK_ID.match(key)
    return match.group("doc") if match else None


def passage_judged_docs(keys: Collection[str]) -> set[str]:
    """Documents that some judgment in `keys` marks by passage."""
    return {d for d in (doc_of_key(k) for k in keys) if d is not None}


def grade_of(chunk: Chunk, grades: Mapping[str, int]) -> int | None:
    """This chunk's grade: its passage's own mark (the best of its pages) wins, else its
    document's; None when neither is judged."""
    own = [grades[k] for k in passage_keys(chunk) if k in grades]
    if own:
        return max(own)
    return grades.get(chunk.doc_id)


def unit_of(chunk: Chunk, keys: Collection[str], by_passage: Collection[str]) -> str:
    """What NDCG ranks this chunk as: the judged passage key it covers; another passage key of a
    document judged by passage (`by_passage`); else its document (best chunk per document)."""
    pages = passage_keys(chunk)
    for k in pages:
        if k in keys:
            return k
    return pages[0] if chunk.doc_id in by_passage else chunk.doc_id
