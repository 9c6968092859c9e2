"""A BEIR data set (corpus.jsonl, queries.jsonl, qrels/*.tsv) as ingest sources plus its judgments.

Each BEIR document becomes one `Document` (id = the BEIR `_id`, so document-level evaluation can map
chunks back); the queries and qrels are copied beside the index so the app can mark relevant hits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from ingest.load import Document
from ingest.pipeline import Source
from search.atomic import write_atomic
from search.settings import Settings

log = logging.getLogger(__name__)

JUDGMENTS_DIR = "judgments"


def beir_sources(folder: Path) -> list[Source]:
    corpus = Path(folder) / "corpus.jsonl"
    if not corpus.is_file():
        raise FileNotFoundError(f"{folder} is not a BEIR folder: {corpus.name} is missing")
    sources = []
    with open(corpus, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc_id, title, text = str(row["_id"]), row.get("title") or "", row.get("text") or ""
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{corpus}:{line_no}: not a BEIR corpus line ({exc})") from None
            digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
            doc = Document(
                doc_id=doc_id,
                source=doc_id,
                title=title,
                pages=[text or title],
                paged=False,
                content_hash=digest,
            )
            sources.append(Source(doc_id, doc_id, digest, lambda doc=doc: doc))
    return sources


def copy_judgments(folder: Path, index_dir: Path) -> Path:
    """Copy queries.jsonl and qrels/*.tsv into `<index_dir>/judgments/` (each file atomically)."""
    target = Path(index_dir) / JUDGMENTS_DIR
    (target / "qrels").mkdir(parents=True, exist_ok=True)
    queries = Path(folder) / "queries.jsonl"
    if queries.is_file():
        tmp = target / ".queries.jsonl.tmp"
        shutil.copyfile(queries, tmp)
        tmp.replace(target / "queries.jsonl")
    for qrels in sorted((Path(folder) / "qrels").glob("*.tsv")):
        write_atomic(target / "qrels" / qrels.name, qrels.read_text(encoding="utf-8"))
    write_atomic(target / "source.txt", str(Path(folder).resolve()) + "\n")
    return target


def cache_key(folder: Path, settings: Settings) -> str:
    """`<corpus name>-<hash>`: the hash covers the corpus file's size and mtime and every setting that
    changes what is indexed, so a changed corpus or model gets its own index, an unchanged one is reused."""
    corpus = Path(folder) / "corpus.jsonl"
    st = corpus.stat()
    parts = [
        str(corpus.resolve()),
        st.st_size,
        st.st_mtime_ns,
        settings.embedding_model,
        settings.chunk_tokens,
        settings.chunk_overlap,
        settings.vector_index,
        settings.hnsw_m,
        settings.bm25_k1,
        settings.bm25_b,
        settings.bm25_stemmer,
        settings.bm25_stopwords,
    ]
    if settings.backend != "local":  # its own index (and tuned fusion); local keys stay as they were
        parts += [settings.backend, settings.milvus_uri, settings.milvus_collection]
    digest = hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:10]
    return f"{Path(folder).resolve().name}-{digest}"


def prepare_beir_index(
    folder: Path, settings: Settings, cache_dir: Path, *, embedder: Any = None, show_progress: bool = True
) -> Settings:
    """Build or update (incrementally, with the normal ingest) the cached index of a BEIR folder and
    copy its judgments beside it; returns the settings pointing at that index."""
    from ingest.pipeline import run_ingest
    from search.backends import open_writer

    index_dir = Path(cache_dir) / cache_key(folder, settings)
    # BEIR sets are trusted and large (trec-covid is 171k documents): no per-ingest chunk limit
    s = replace(settings, index_dir=index_dir, max_ingest_chunks=0)
    report = run_ingest(
        beir_sources(Path(folder)),
        open_writer(s),
        s,
        embedder=embedder,
        prune=True,  # the cached index mirrors the BEIR folder
        show_progress=show_progress,
    )
    log.info("%s", report.summary())
    copy_judgments(Path(folder), index_dir)
    return s
