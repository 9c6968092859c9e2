"""The benchmark corpus: BEIR documents as .txt files, their real chunks, their real (cached)
embeddings, and real BEIR queries."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import MB, WARMUP, slug, tmp_path
from search.settings import Settings


def prepare_corpus(corpus: Path, out: Path, base_chunks: int, settings: Settings) -> dict[str, Any]:
    """Write BEIR documents as .txt files (title, blank line, text) until their chunks reach
    `base_chunks` (repeating the corpus in r1/, r2/... if it is smaller), once; cached by parameters."""
    params = {
        "corpus": str(corpus.resolve()),
        "base_chunks": base_chunks,
        "model": settings.embedding_model,
        "chunk_tokens": settings.chunk_tokens,
        "overlap": settings.chunk_overlap,
    }
    folder = out / "corpus" / f"{slug(corpus.name)}-{base_chunks}"
    meta_path = folder / "corpus.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("params") == params and (folder / "chunks.jsonl").is_file():
            return meta
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with open(corpus / "corpus.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    t0 = time.perf_counter()
    files, total = _write_files(rows, folder, base_chunks, settings)
    meta = {
        "params": params,
        "folder": str(folder),
        "files": files,
        "chunks": total,
        "seconds_chunking": time.perf_counter() - t0,
    }
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return meta


def _write_files(
    rows: list[dict[str, Any]], folder: Path, base_chunks: int, settings: Settings
) -> tuple[list[dict[str, Any]], int]:
    """The .txt files and chunks.jsonl (real Chunker) for `rows`, repeated until `base_chunks`."""
    from ingest.chunk import Chunker

    chunker = Chunker.for_model(settings.embedding_model, settings.chunk_tokens, settings.chunk_overlap)
    max_bytes = int(settings.max_file_mb * MB)
    files: list[dict[str, Any]] = []
    total = 0
    names: set[str] = set()
    with open(tmp_path(folder / "chunks.jsonl"), "w", encoding="utf-8") as chunk_out:
        for rep in range(1_000_000):
            added_before = total
            for row in rows:
                if total >= base_chunks:
                    break
                entry = _write_one(row, rep, folder, names, chunker, max_bytes, chunk_out)
                if entry:
                    files.append(entry)
                    total += entry["chunks"]
            if total >= base_chunks or total == added_before:
                break
    os.replace(tmp_path(folder / "chunks.jsonl"), folder / "chunks.jsonl")
    return files, total


def _write_one(
    row: dict[str, Any], rep: int, folder: Path, names: set[str], chunker: Any, max_bytes: int, chunk_out: Any
) -> dict[str, Any] | None:
    """One BEIR document as a file under files/r<rep>/, its chunks appended to `chunk_out`."""
    from ingest.load import LoadError, default_doc_id, load_file

    title, text = (row.get("title") or "").strip(), (row.get("text") or "").strip()
    body = f"{title}\n\n{text}" if title and text else (title or text)
    if not body:
        return None
    name = slug(str(row["_id"]))
    while f"r{rep}/{name}" in names:
        name += "_"
    names.add(f"r{rep}/{name}")
    path = folder / "files" / f"r{rep}" / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body + "\n", encoding="utf-8")
    try:
        doc = load_file(path, max_bytes=max_bytes, doc_id=default_doc_id(path), source=str(path))
        chunks = chunker.chunk(doc)
    except LoadError:
        path.unlink()
        return None
    for chunk in chunks:
        chunk_out.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
    return {
        "path": str(path.relative_to(folder)),
        "beir_id": str(row["_id"]),
        "chunks": len(chunks),
        "content_hash": doc.content_hash,
    }


def read_corpus_chunks(meta: dict[str, Any]) -> list[Any]:
    from search.models import Chunk

    with open(Path(meta["folder"]) / "chunks.jsonl", encoding="utf-8") as f:
        return [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]


def embed_cached(
    texts: Sequence[str],
    cache: Path,
    make_embedder: Callable[[], Any],
    block: int = 1024,
) -> np.ndarray:
    """Vectors for `texts` from the real model, cached by text hash (saved after every block, so an
    interrupted first run keeps what it embedded)."""
    from tqdm.auto import tqdm

    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    known: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    missing = list(dict.fromkeys((k, t) for k, t in zip(keys, texts, strict=True) if k not in known))
    if missing:
        embedder = make_embedder()
        bar = tqdm(total=len(missing), desc="embedding the real pool (cached)", unit="chunk")
        for start in range(0, len(missing), block):
            part = missing[start : start + block]
            vectors = embedder.embed([t for _, t in part])
            known.update({k: v for (k, _), v in zip(part, vectors, strict=True)})
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(cache.stem + ".tmp.npz")
            np.savez(tmp, keys=np.asarray(list(known)), vectors=np.stack(list(known.values())))
            os.replace(tmp, cache)
            bar.update(len(part))
        bar.close()
    return np.stack([known[k] for k in keys]).astype(np.float32)


# --- latency indexes -----------------------------------------------------------------------------


def load_queries(corpus: Path, n: int) -> list[str]:
    """Real BEIR queries: the test split's first (qrels order), then the others, cycled if short."""
    queries = {}
    with open(corpus / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                queries[str(row["_id"])] = row["text"]
    test: list[str] = []
    qrels = corpus / "qrels" / "test.tsv"
    if qrels.is_file():
        for line in qrels.read_text(encoding="utf-8").splitlines()[1:]:
            qid = line.split("\t")[0]
            if qid in queries and qid not in test:
                test.append(qid)
    order = test + [q for q in queries if q not in set(test)]
    texts = [queries[q] for q in order if queries[q].strip()]
    need = n + WARMUP
    return (texts * (need // max(1, len(texts)) + 1))[:need]


# --- workers (run in fresh interpreters) ---------------------------------------------------------
