"""Writing a local index: merge kept and updated documents, rebuild FAISS and BM25, swap atomically.

A written FAISS index cannot be edited in place and bm25s statistics go stale on deletes, so every
commit rebuilds both from the chunk store and the stored embeddings (cheap next to embedding) and
publishes a new version folder. Documents are kept in a canonical order, so an incremental update
and a rebuild of the same files give the same index.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from search.backends.base import DocumentInfo, DocumentUpdate
from search.backends.local import lexical, store, vectors
from search.backends.local.backend import read_chunks, read_embeddings
from search.errors import SearchError
from search.models import Chunk


@dataclass(frozen=True, slots=True)
class CommitStats:
    folder: Path
    documents: int
    chunks: int
    seconds_bm25: float
    seconds_vectors: float
    seconds_write: float


class LocalWriter:
    """Writes versions of the index at `index_dir`; one writer at a time (a lock file enforces it)."""

    def __init__(
        self,
        index_dir: Path,
        *,
        vector_index: str = "flat",
        hnsw_m: int = 32,
        hnsw_ef_search: int = 128,
        bm25_k1: float = 1.5,
        bm25_b: float = 0.75,
        bm25_stemmer: str = "english",
        bm25_stopwords: str = "en",
    ) -> None:
        self.index_dir = Path(index_dir)
        self.vector_params = {"kind": vector_index, "hnsw_m": hnsw_m, "ef_search": hnsw_ef_search}
        self.bm25_params = {
            "method": "robertson",
            "k1": bm25_k1,
            "b": bm25_b,
            "stemmer": bm25_stemmer,
            "stopwords": bm25_stopwords,
        }

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise writers (CLI and app) on one index folder. Whoever takes the lock first removes
        what interrupted writes left behind: no other writer can be live while it is held."""
        with self._lock(block_message=f"another ingest is writing {self.index_dir}; try again when it ends"):
            store.remove_leftovers(self.index_dir)
            yield

    def remove_leftovers(self) -> int:
        """Remove staging folders of interrupted writes now, if no writer holds the index (for
        start-up); returns how many were removed, 0 when another writer is busy."""
        try:
            with self._lock(block_message=""):
                return store.remove_leftovers(self.index_dir)
        except SearchError:
            return 0

    @contextlib.contextmanager
    def _lock(self, block_message: str) -> Iterator[None]:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SearchError(block_message) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def existing(self) -> tuple[dict[str, Any], dict[str, DocumentInfo]]:
        try:
            folder = store.current_version(self.index_dir)
            manifest = store.read_manifest(folder)
        except SearchError:
            return {}, {}
        return manifest, {d["doc_id"]: DocumentInfo(**d) for d in manifest.get("documents", [])}

    def commit(
        self, keep: set[str], updates: Sequence[DocumentUpdate], manifest: dict[str, Any]
    ) -> CommitStats:
        infos, chunks, matrix = self._merged(keep, updates, manifest)

        staging = store.new_version_folder(self.index_dir)
        try:
            t0 = time.perf_counter()
            lex = lexical.LexicalIndex.build(
                [c.indexed_text() for c in chunks],
                k1=self.bm25_params["k1"],
                b=self.bm25_params["b"],
                stemmer=self.bm25_params["stemmer"],
                stopwords=self.bm25_params["stopwords"],
            )
            lex.save(staging / store.BM25_DIR)
            t1 = time.perf_counter()
            vec = vectors.build(
                matrix,
                self.vector_params["kind"],
                self.vector_params["hnsw_m"],
                self.vector_params["ef_search"],
            )
            vectors.save(vec, staging / store.VECTORS)
            t2 = time.perf_counter()
            np.save(staging / store.EMBEDDINGS, matrix, allow_pickle=False)
            with open(staging / store.CHUNKS, "w", encoding="utf-8") as f:
                for chunk in chunks:
                    f.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
            full = {
                **manifest,
                "format_version": store.FORMAT_VERSION,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "bm25": self.bm25_params,
                "vectors": self.vector_params,
                "counts": {
                    "documents": len(infos),
                    "chunks": len(chunks),
                    "pages": sum(i.pages for i in infos),
                },
                "documents": [i.to_dict() for i in infos],
            }
            (staging / store.MANIFEST).write_text(json.dumps(full, indent=1, ensure_ascii=False), "utf-8")
            folder = store.publish(self.index_dir, staging)
            t3 = time.perf_counter()
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return CommitStats(folder, len(infos), len(chunks), t1 - t0, t2 - t1, t3 - t2)

    def _merged(
        self, keep: set[str], updates: Sequence[DocumentUpdate], manifest: dict[str, Any]
    ) -> tuple[list[DocumentInfo], list[Chunk], np.ndarray]:
        """The documents of the next version, ordered by source: those in `keep` as stored, plus
        `updates` (which win over a kept id); their chunks in that order, and the embedding matrix."""
        kept_chunks, kept_vectors = self._kept(keep)
        docs: dict[str, tuple[DocumentInfo, list[Chunk], np.ndarray]] = {}
        _, old_docs = self.existing()
        dim = int(manifest["embedding"]["dim"])
        for doc_id in keep:
            empty = np.zeros((0, dim), np.float32)
            docs[doc_id] = (old_docs[doc_id], kept_chunks.get(doc_id, []), kept_vectors.get(doc_id, empty))
        for update in updates:
            docs[update.info.doc_id] = (update.info, update.chunks, update.vectors)
        order = sorted(docs, key=lambda d: (docs[d][0].source, d))
        infos = [docs[d][0] for d in order]
        chunks = [c for d in order for c in docs[d][1]]
        parts = [docs[d][2].reshape(-1, dim) for d in order]
        matrix = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, dim), np.float32)
        return infos, chunks, matrix

    def _kept(self, keep: set[str]) -> tuple[dict[str, list[Chunk]], dict[str, np.ndarray]]:
        if not keep:
            return {}, {}
        folder = store.current_version(self.index_dir)
        chunks = read_chunks(folder)
        matrix = read_embeddings(folder)
        by_doc: dict[str, list[int]] = {}
        for i, chunk in enumerate(chunks):
            if chunk.doc_id in keep:
                by_doc.setdefault(chunk.doc_id, []).append(i)
        return (
            {d: [chunks[i] for i in rows] for d, rows in by_doc.items()},
            {d: matrix[rows] for d, rows in by_doc.items()},
        )
