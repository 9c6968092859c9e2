"""Latency indexes built through the product's own `LocalWriter.commit`, from real chunks and vectors;
sizes above the real pool repeat the documents under new ids with noisy copies of their vectors."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import SEED, TILE_NOISE, du_mb
from search.settings import Settings


def build_latency_index(
    index_dir: Path,
    chunks: list[Any],
    pool: np.ndarray,
    size: int,
    kind: str,
    settings: Settings,
    pool_key: str,
) -> dict[str, Any]:
    """Commit `size` chunks through the real `LocalWriter`; cached when the parameters match."""
    from search.backends import open_writer
    from search.backends.local import store

    meta = {
        "size": size,
        "kind": kind,
        "pool_key": pool_key,
        "pool": len(chunks),
        "noise": TILE_NOISE,
        "seed": SEED,
        "hnsw_m": settings.hnsw_m,
        "ef_search": settings.hnsw_ef_search,
        "bm25": [settings.bm25_k1, settings.bm25_b, settings.bm25_stemmer, settings.bm25_stopwords],
    }
    meta_path = index_dir / "bench-build.json"
    if meta_path.is_file():
        built = json.loads(meta_path.read_text(encoding="utf-8"))
        try:
            store.current_version(index_dir)
        except Exception:
            built = {}
        if built.get("meta") == meta:
            return built
    shutil.rmtree(index_dir, ignore_errors=True)
    updates, tiles = tiled_updates(chunks, pool, size)
    writer = open_writer(replace(settings, index_dir=index_dir, vector_index=kind))
    manifest = {
        "embedding": {"model": settings.embedding_model, "dim": int(pool.shape[1])},
        "chunking": {"tokens": settings.chunk_tokens, "overlap": settings.chunk_overlap},
    }
    print(f"building {kind} index of {size:,} chunks at {index_dir} ...", flush=True)
    t0 = time.perf_counter()
    with writer.locked():
        stats = writer.commit(set(), updates, manifest)
    built = {
        "meta": meta,
        "real_chunks": min(size, len(chunks)),
        "tiles": tiles,
        "seconds": {
            "total": time.perf_counter() - t0,
            "bm25": stats.seconds_bm25,
            "vectors": stats.seconds_vectors,
            "write": stats.seconds_write,
        },
    }
    meta_path.write_text(json.dumps(built), encoding="utf-8")
    return built


def tiled_vectors(pool: np.ndarray, rows: list[int] | np.ndarray, tile: int) -> np.ndarray:
    """The pool's vectors for `rows`; beyond tile 0 plus seeded noise, re-normalised."""
    vectors = pool[rows]
    if tile:
        rng = np.random.default_rng(SEED + tile)
        vectors = vectors + rng.standard_normal(vectors.shape, dtype=np.float32) * TILE_NOISE
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors, np.float32)


def tiled_updates(chunks: list[Any], pool: np.ndarray, size: int) -> tuple[list[Any], int]:
    """`size` chunks as document updates: the real documents, then tiles of them under new ids."""
    from search.backends import DocumentInfo, DocumentUpdate

    by_doc: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        by_doc.setdefault(chunk.doc_id, []).append(row)
    updates = []
    total, tile = 0, 0
    while total < size:
        for doc_id, rows in by_doc.items():
            if total >= size:
                break
            rows = rows[: size - total]
            new_id = doc_id if tile == 0 else f"{doc_id}~t{tile}"
            first = chunks[rows[0]]
            source = first.source if tile == 0 else f"{first.source}#t{tile}"
            doc_chunks = [
                replace(chunks[r], id=f"{new_id}:{i:05d}", doc_id=new_id, source=source)
                for i, r in enumerate(rows)
            ]
            digest = hashlib.sha256(f"{new_id}:{len(rows)}".encode()).hexdigest()
            info = DocumentInfo(new_id, source, first.title, digest, 0, len(rows))
            updates.append(DocumentUpdate(info, doc_chunks, tiled_vectors(pool, rows, tile)))
            total += len(rows)
        tile += 1
    return updates, tile


def disk_breakdown(index_dir: Path) -> dict[str, float]:
    from search.backends.local import store

    folder = store.current_version(index_dir)
    parts = {
        name: du_mb(folder / name)
        for name in (store.BM25_DIR, store.VECTORS, store.EMBEDDINGS, store.CHUNKS, store.MANIFEST)
    }
    return {"total": du_mb(folder), **parts}
