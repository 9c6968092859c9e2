"""The Milvus backend next to the local one: index-build throughput, first-stage latency and memory.

    python bench/milvus_bench.py                      # scifact pool; 10k and 100k chunks; 200 queries
    python bench/milvus_bench.py --sizes 10000 --queries 50

How (the approach of bench/run.py, whose helpers it reuses):

* The real pool is the SciFact index the evaluation builds (`python -m search.evaluate --beir
  .../scifact`, cached under --cache): its real chunks and their real all-MiniLM-L6-v2 vectors. It is
  built here with the normal ingest if missing (a few minutes of embedding).
* Sizes above the pool repeat its documents under new ids ("tiles"); a tile's vectors are the real
  ones plus small seeded Gaussian noise (bench/run.py's TILE_NOISE), re-normalised.
* Each index is committed through the real writer of its backend (`open_writer`), from the same
  chunks and vectors: "build" is the writer's throughput (embedding, the same for both, excluded).
  Milvus is embedded Milvus Lite 2.5 (FLAT: it has no HNSW) in a file in the index folder.
* Latency runs in a fresh interpreter per index: the backend's `lexical_search` and
  `vector_search` for top-`candidates` and the fusion (`search.fusion.fuse`) over real BEIR test
  queries, whose vectors are embedded once beforehand (query embedding is the same for both
  backends and measured in bench/run.py). Memory: resident memory the open index adds to this
  process, plus for Milvus Lite its server process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.corpus import load_queries  # noqa: E402
from search.settings import Settings  # noqa: E402

BACKENDS = ("local", "milvus")


def pool(beir: Path, cache: Path) -> tuple[list[Any], np.ndarray]:
    """The real chunks and vectors of the BEIR folder's local evaluation index (built if missing)."""
    from ingest.beir import prepare_beir_index
    from search.backends.local import LocalBackend
    from search.backends.local.backend import read_embeddings

    settings = replace(Settings.from_env(), backend="local")
    index = Path(prepare_beir_index(beir, settings, cache, show_progress=True).index_dir)
    backend = LocalBackend.open(index)
    return backend.all_chunks(), read_embeddings(backend.folder)


def copy_eval_index(beir: Path, cache: Path, settings: Settings) -> Path:
    """Commit the local evaluation index of `beir` (its chunks and stored vectors) into the index the
    evaluation uses for `settings.backend`, so `python -m search.evaluate --backend milvus` finds every
    document unchanged and embeds nothing. Returns that index folder."""
    from ingest.beir import cache_key
    from search.backends import DocumentUpdate, open_writer
    from search.backends.local import LocalBackend
    from search.backends.local.backend import read_embeddings

    local = LocalBackend.open(cache / cache_key(beir, replace(settings, backend="local")))
    target = cache / cache_key(beir, settings)
    chunks, vectors = local.all_chunks(), read_embeddings(local.folder)
    rows: dict[str, list[int]] = {}
    for i, chunk in enumerate(chunks):
        rows.setdefault(chunk.doc_id, []).append(i)
    updates = [
        DocumentUpdate(
            info, [chunks[i] for i in rows.get(info.doc_id, [])], vectors[rows.get(info.doc_id, [])]
        )
        for info in local.documents()
    ]
    writer = open_writer(replace(settings, index_dir=target))
    manifest = {k: v for k, v in local.manifest.items() if k in ("embedding", "chunking")}
    t0 = time.perf_counter()
    with writer.locked():
        writer.commit(set(), updates, manifest)
    print(f"{beir.name}: {len(chunks):,} chunks copied to {target} in {time.perf_counter() - t0:.1f} s")
    if hasattr(writer, "close"):
        writer.close()
    return target


def tiled_updates(chunks: list[Any], vectors: np.ndarray, size: int) -> list[Any]:
    """`size` chunks as document updates: the pool, then noisy tiles of it (as bench/run.py)."""
    from search.backends import DocumentInfo, DocumentUpdate

    by_doc: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        by_doc.setdefault(chunk.doc_id, []).append(row)
    updates, total, tile = [], 0, 0
    while total < size:
        rng = np.random.default_rng(common.SEED + tile)
        for doc_id, rows in by_doc.items():
            if total >= size:
                break
            rows = rows[: size - total]
            vecs = vectors[rows]
            new_id = doc_id if tile == 0 else f"{doc_id}~t{tile}"
            if tile:
                vecs = vecs + rng.standard_normal(vecs.shape, dtype=np.float32) * common.TILE_NOISE
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            first = chunks[rows[0]]
            source = first.source if tile == 0 else f"{first.source}#t{tile}"
            doc_chunks = [
                replace(chunks[r], id=f"{new_id}:{i:05d}", doc_id=new_id, source=source)
                for i, r in enumerate(rows)
            ]
            info = DocumentInfo(new_id, source, first.title, f"{new_id}:{len(rows)}", 0, len(rows))
            updates.append(DocumentUpdate(info, doc_chunks, np.ascontiguousarray(vecs, np.float32)))
            total += len(rows)
        tile += 1
    return updates


def build(index_dir: Path, backend: str, updates: list[Any], dim: int, settings: Settings) -> dict[str, Any]:
    """Commit the updates through the backend's real writer, timed; cached by size and backend."""
    from search.backends import open_writer

    size = sum(len(u.chunks) for u in updates)
    meta_path = index_dir / "milvus-bench-build.json"
    if meta_path.is_file():
        built = json.loads(meta_path.read_text(encoding="utf-8"))
        if built.get("size") == size and built.get("backend") == backend:
            return built
    shutil.rmtree(index_dir, ignore_errors=True)
    writer = open_writer(replace(settings, index_dir=index_dir, backend=backend))
    manifest = {
        "embedding": {"model": settings.embedding_model, "dim": dim},
        "chunking": {"tokens": settings.chunk_tokens, "overlap": settings.chunk_overlap},
    }
    print(f"building {backend} index of {size:,} chunks ...", flush=True)
    t0 = time.perf_counter()
    with writer.locked():
        writer.commit(set(), updates, manifest)
    seconds = time.perf_counter() - t0
    if backend == "milvus":
        from search.backends.milvus import release_embedded

        writer.close()
        release_embedded(writer.uri)  # the latency worker opens the file in its own process
    built = {"size": size, "backend": backend, "seconds": seconds, "chunks_per_s": size / seconds}
    meta_path.write_text(json.dumps(built), encoding="utf-8")
    return built


def worker(args: argparse.Namespace) -> None:
    """In a fresh interpreter: open one index, time BM25, dense and fusion per query."""
    from search.backends import open_backend
    from search.fusion import fuse
    from search.models import FusionParams

    settings = replace(Settings.from_env(), index_dir=Path(args.index), backend=args.backend)
    texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    vectors = np.load(args.vectors, allow_pickle=False)
    if args.backend == "local":
        import bm25s  # noqa: F401 - libraries load before the first figure: it is the index's memory
        import faiss  # noqa: F401
    else:
        import pymilvus  # noqa: F401
    rss0 = common.rss_mb()
    t0 = time.perf_counter()
    backend = open_backend(settings)
    load_s = time.perf_counter() - t0
    rss_index = common.rss_mb() - rss0
    fusion = FusionParams(
        mode=settings.fusion_mode,
        k=settings.rrf_k,
        alpha=settings.fusion_alpha,
        normalization=settings.fusion_normalization,
    )
    stages: dict[str, list[float]] = {"bm25": [], "dense": [], "fusion": [], "first_stage": []}
    for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
        t0 = time.perf_counter()
        bm25 = backend.lexical_search(text, settings.candidates)
        t1 = time.perf_counter()
        dense = backend.vector_search(vector, settings.candidates)
        t2 = time.perf_counter()
        fuse(bm25, dense, fusion)
        t3 = time.perf_counter()
        if i >= common.WARMUP:
            for name, value in (
                ("bm25", t1 - t0),
                ("dense", t2 - t1),
                ("fusion", t3 - t2),
                ("first_stage", t3 - t0),
            ):
                stages[name].append(value * 1000)
    server_mb = 0.0
    if args.backend == "milvus":
        from milvus_lite.server_manager import server_manager_instance

        for server in server_manager_instance._servers.values():
            server_mb += _rss_of(server._p.pid)
    result = {
        "chunks": len(backend),
        "queries": len(stages["bm25"]),
        "stages_ms": {name: common.pct(values) for name, values in stages.items()},
        "load_s": load_s,
        "rss_index_mb": rss_index,
        "server_rss_mb": server_mb,
    }
    Path(args.result).write_text(json.dumps(result), encoding="utf-8")


def _rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(index_dir: Path, backend: str, texts: Path, vectors: Path, out: Path) -> dict[str, Any]:
    result = out / f"latency-{index_dir.name}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_worker", "--backend", backend]
    cmd += [
        "--index",
        str(index_dir),
        "--texts",
        str(texts),
        "--vectors",
        str(vectors),
        "--result",
        str(result),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, check=False)
    if proc.returncode != 0 or not result.is_file():
        raise SystemExit(f"latency worker failed for {index_dir} (exit {proc.returncode})")
    return json.loads(result.read_text(encoding="utf-8"))


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| backend | chunks | build (chunks/s) | BM25 p50 | dense p50 | first stage p50 | p95 | "
        "open (s) | RSS index + server (MB) |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        s = r["stages_ms"]
        lines.append(
            f"| {r['backend']} | {r['chunks']:,} | {r['build']['chunks_per_s']:,.0f} | "
            f"{s['bm25']['p50']:.2f} ms | {s['dense']['p50']:.2f} ms | {s['first_stage']['p50']:.2f} ms | "
            f"{s['first_stage']['p95']:.2f} ms | {r['load_s']:.1f} | "
            f"{r['rss_index_mb']:.0f} + {r['server_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--beir", type=Path, default=ROOT.parent / "shared/data/beir/scifact")
    parser.add_argument("--cache", type=Path, default=ROOT / ".eval-cache", help="evaluation index cache")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/out/milvus")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument(
        "--copy-eval",
        type=Path,
        action="append",
        help="only copy this BEIR folder's local evaluation index to --backend's (repeatable)",
    )
    parser.add_argument("--backend", default="milvus", help="target backend of --copy-eval")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.copy_eval:
        for beir in args.copy_eval:
            copy_eval_index(beir, args.cache, replace(settings, backend=args.backend))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    chunks, vectors = pool(args.beir, args.cache)
    texts = load_queries(args.beir, args.queries)
    from search.embedding import make_embedder

    embedder = make_embedder(settings)
    (args.out / "queries.json").write_text(json.dumps(texts), encoding="utf-8")
    np.save(args.out / "queries.npy", np.stack([embedder.embed_query(t) for t in texts]), allow_pickle=False)
    del embedder
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        updates = tiled_updates(chunks, vectors, size)
        for backend in args.backends.split(","):
            index_dir = args.out / f"{backend}-{size}"
            built = build(index_dir, backend, updates, int(vectors.shape[1]), settings)
            figures = measure(
                index_dir, backend, args.out / "queries.json", args.out / "queries.npy", args.out
            )
            rows.append({"backend": backend, "build": built, **figures})
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(
        f"\nreal pool: {len(chunks):,} chunks of {args.beir.name}; "
        f"{args.queries} queries after {common.WARMUP} warm-up"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        p = argparse.ArgumentParser()
        for flag in ("--backend", "--index", "--texts", "--vectors", "--result"):
            p.add_argument(flag, required=True)
        worker(p.parse_args(sys.argv[2:]))
    else:
        sys.exit(main())
