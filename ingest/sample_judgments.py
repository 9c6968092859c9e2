"""The sample corpus's relevance judgments, built from `data/sample_queries.json` against the index.

Each entry names its answer as a file of the sample folder and, for a PDF, a page, or for a text
file a quote from the passage; `also` lists further relevant passages. Marks bind to passages
(`search.judgments`): a page key for PDFs, the chunk that holds the quote for text. They are
computed from the index itself, so they always match its chunking, and written beside it as the
split `sample` (BEIR layout). A target that names no real file, page or passage is an error that
names the query, not a silently missing judgment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search import judgments
from search.atomic import write_atomic
from search.backends import DocumentInfo, IndexBackend

SPLIT = "sample"
QUERY_PREFIX = "sample-"


class SampleJudgmentError(ValueError):
    """A query's target cannot be found in the sample index."""


@dataclass(frozen=True)
class Target:
    source: str
    page: int | None = None
    quote: str | None = None


def read_sample_queries(path: Path) -> list[tuple[str, list[Target]]]:
    """(query, relevant targets) per entry of the JSON file, in file order."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not str(item.get("query", "")).strip() or "source" not in item:
            raise SampleJudgmentError(f"{path}: entry {i} needs a query and a source")
        targets = [_target(item), *(_target(t) for t in item.get("also", []))]
        out.append((str(item["query"]).strip(), targets))
    return out


def _target(item: dict[str, Any]) -> Target:
    return Target(str(item["source"]), item.get("page"), item.get("quote"))


def _plain(text: str) -> str:
    """Whitespace collapsed, markdown emphasis and code marks dropped: what a quote is matched on."""
    return " ".join(text.replace("*", "").replace("`", "").split())


def passage_keys_for(
    backend: IndexBackend, docs: dict[Path, DocumentInfo], sample_dir: Path, query: str, target: Target
) -> list[str]:
    """The passage keys a target names: the page of a PDF, or every chunk holding the quote."""
    doc = docs.get((Path(sample_dir) / target.source).resolve())
    if doc is None:
        raise SampleJudgmentError(f"{query!r}: {target.source} is not in the sample index")
    if target.page is not None:
        if not 1 <= int(target.page) <= doc.pages:
            raise SampleJudgmentError(f"{query!r}: {target.source} has no page {target.page}")
        return [f"{doc.doc_id}{judgments.PAGE_MARK}{int(target.page)}"]
    if not target.quote:
        raise SampleJudgmentError(f"{query!r}: {target.source} needs a page or a quote")
    wanted = _plain(target.quote)
    chunks = backend.get_chunks([f"{doc.doc_id}:{i:05d}" for i in range(doc.chunks)])
    keys = [judgments.passage_key(c) for c in chunks if wanted in _plain(c.text)]
    if not keys:
        raise SampleJudgmentError(f"{query!r}: no passage of {target.source} contains {target.quote!r}")
    return keys


def build(
    backend: IndexBackend, sample_dir: Path, queries_path: Path
) -> tuple[dict[str, str], judgments.Qrels]:
    """(query id -> text, query id -> passage key -> 1) for every sample query."""
    docs = {Path(d.source).resolve(): d for d in backend.documents()}
    queries: dict[str, str] = {}
    qrels: judgments.Qrels = {}
    for n, (text, targets) in enumerate(read_sample_queries(queries_path), start=1):
        qid = f"{QUERY_PREFIX}{n:02d}"
        queries[qid] = text
        for target in targets:
            for key in passage_keys_for(backend, docs, sample_dir, text, target):
                qrels.setdefault(qid, {})[key] = 1
    return queries, qrels


def write(index_dir: Path, queries: dict[str, str], qrels: judgments.Qrels) -> Path:
    """Store the judgments beside the index (queries first, then the qrels file, each atomically);
    other splits' queries in queries.jsonl are kept. Returns the qrels file."""
    folder = judgments.judgments_dir(index_dir)
    (folder / judgments.QRELS_DIR).mkdir(parents=True, exist_ok=True)
    path = folder / judgments.QUERIES_FILE
    kept = {q: t for q, t in judgments.read_queries(path).items() if not q.startswith(QUERY_PREFIX)}
    lines = [json.dumps({"_id": q, "text": t}, ensure_ascii=False) for q, t in {**kept, **queries}.items()]
    write_atomic(path, "".join(line + "\n" for line in lines))
    qrels_path = folder / judgments.QRELS_DIR / f"{SPLIT}.tsv"
    write_atomic(qrels_path, judgments.format_qrels(qrels))
    return qrels_path


def make_sample_judgments(
    backend: IndexBackend, index_dir: Path, sample_dir: Path, queries_path: Path
) -> Path:
    """Build and write the sample's judgments; returns the qrels file."""
    queries, qrels = build(backend, sample_dir, queries_path)
    return write(index_dir, queries, qrels)
