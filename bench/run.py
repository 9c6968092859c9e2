"""Ingest throughput, first-stage query latency, index size and memory, on a real BEIR corpus.

    python bench/run.py                       # scifact; 10k and 100k chunks; 200 queries (~10 min first run)
    python bench/run.py --quick               # small smoke run (~2 min first run)
    python bench/run.py --openblas both       # latency also with OPENBLAS_CORETYPE/L2_SIZE unset
    python bench/run.py --query-threads 2     # latency also with 2 torch threads per query embedding
    python bench/run.py --skip ingest         # only the re-run and the latency (indexes are cached)

Why it is built this way (embedding 100k chunks here would take ~40 minutes):

* Ingest throughput is measured end to end, for real: `run_ingest` with the real embedder over
  ~2k chunks' worth of corpus files. The `Embedder.embed` call is timed; everything else (hashing,
  load, chunk, BM25 and FAISS build, write) is "outside the model".
* The corpus documents are written once as .txt files (`<out>/corpus/...`), and the first
  `--base-chunks` chunks of them (real `Chunker`) are embedded once with the real model and cached
  (`<out>/cache/`). That file set is also the corpus of the unchanged re-run.
* The latency indexes are built through the real `LocalWriter.commit` path from those real chunks
  and vectors. Sizes above the real pool repeat the documents under distinct ids ("tiles"); a tile's
  vectors are the real ones plus small seeded Gaussian noise, re-normalised, so no two vectors are
  identical. The table says how many chunks of each index are real.
* Each latency measurement runs in a fresh subprocess (clean resident-memory figures) through
  `Searcher.retrieve`, the product's own first stage, with real BEIR test queries.

Built indexes are cached under `--out` (git-ignored); reruns only measure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from search.settings import Settings  # noqa: E402

MB = 1024 * 1024
#: Standard deviation per dimension of the noise added to tiled vectors: |noise| ≈ 0.2, cos ≈ 0.98.
TILE_NOISE = 0.01
SEED = 20240611
WARMUP = 20
#: Columns of the latency table, in order (the "first_stage" ones are the whole `Searcher.retrieve`).
STAGES = ("embed", "bm25", "dense", "fusion", "first_stage", "first_stage_cpu", "search_no_rerank")


# --- small helpers -------------------------------------------------------------------------------


def rss_mb() -> float:
    """Resident memory of this process (VmRSS), without psutil."""
    return _proc_status("VmRSS")


def peak_rss_mb() -> float:
    return _proc_status("VmHWM")


def _proc_status(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def du_mb(path: Path) -> float:
    """Bytes on disk of every file under `path` (apparent size, as `du -b`)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size / MB
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / MB


def pct(values: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "mean": float(arr.mean()),
    }


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> dict[str, Any]:
    import torch

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "torch_threads": torch.get_num_threads(),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def _texts_key(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()[:16]


def run_worker(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `bench/run.py _worker ...` in a fresh interpreter; it writes its figures as JSON."""
    result = Path(args[args.index("--result") + 1])
    result.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_worker", *args], cwd=ROOT, env=env, check=False
    )
    if proc.returncode != 0 or not result.is_file():
        raise SystemExit(f"bench worker failed ({' '.join(args[:1])}, exit {proc.returncode})")
    return json.loads(result.read_text(encoding="utf-8"))


# --- the corpus as files, its chunks and their embeddings ----------------------------------------


def prepare_corpus(corpus: Path, out: Path, base_chunks: int, settings: Settings) -> dict[str, Any]:
    """Write BEIR documents as .txt files (title, blank line, text) until their chunks reach
    `base_chunks` (repeating the corpus in r1/, r2/... if it is smaller), once; cached by parameters."""
    from ingest.chunk import Chunker
    from ingest.load import LoadError, default_doc_id, load_file

    params = {
        "corpus": str(corpus.resolve()),
        "base_chunks": base_chunks,
        "model": settings.embedding_model,
        "chunk_tokens": settings.chunk_tokens,
        "overlap": settings.chunk_overlap,
    }
    folder = out / "corpus" / f"{_slug(corpus.name)}-{base_chunks}"
    meta_path = folder / "corpus.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("params") == params and (folder / "chunks.jsonl").is_file():
            return meta
    shutil.rmtree(folder, ignore_errors=True)
    files_dir = folder / "files"
    folder.mkdir(parents=True)
    with open(corpus / "corpus.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    chunker = Chunker.for_model(settings.embedding_model, settings.chunk_tokens, settings.chunk_overlap)
    max_bytes = int(settings.max_file_mb * MB)
    files: list[dict[str, Any]] = []
    total = 0
    names: set[str] = set()
    t0 = time.perf_counter()
    with open(_tmp(folder / "chunks.jsonl"), "w", encoding="utf-8") as chunk_out:
        for rep in range(1_000_000):
            added_before = total
            for row in rows:
                if total >= base_chunks:
                    break
                title, text = (row.get("title") or "").strip(), (row.get("text") or "").strip()
                body = f"{title}\n\n{text}" if title and text else (title or text)
                if not body:
                    continue
                name = _slug(str(row["_id"]))
                while f"r{rep}/{name}" in names:
                    name += "_"
                names.add(f"r{rep}/{name}")
                path = files_dir / f"r{rep}" / f"{name}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(body + "\n", encoding="utf-8")
                try:
                    doc = load_file(path, max_bytes=max_bytes, doc_id=default_doc_id(path), source=str(path))
                    chunks = chunker.chunk(doc)
                except LoadError:
                    path.unlink()
                    continue
                for chunk in chunks:
                    chunk_out.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
                files.append(
                    {
                        "path": str(path.relative_to(folder)),
                        "beir_id": str(row["_id"]),
                        "chunks": len(chunks),
                        "content_hash": doc.content_hash,
                    }
                )
                total += len(chunks)
            if total >= base_chunks or total == added_before:
                break
    os.replace(_tmp(folder / "chunks.jsonl"), folder / "chunks.jsonl")
    meta = {
        "params": params,
        "folder": str(folder),
        "files": files,
        "chunks": total,
        "seconds_chunking": time.perf_counter() - t0,
    }
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return meta


def _tmp(path: Path) -> Path:
    return path.with_name("." + path.name + ".tmp")


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
    from search.backends import DocumentInfo, DocumentUpdate, open_writer
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
    by_doc: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        by_doc.setdefault(chunk.doc_id, []).append(row)
    updates = []
    total, tile = 0, 0
    while total < size:
        rng = np.random.default_rng(SEED + tile)
        for doc_id, rows in by_doc.items():
            if total >= size:
                break
            rows = rows[: size - total]
            vectors = pool[rows]
            new_id = doc_id if tile == 0 else f"{doc_id}~t{tile}"
            if tile:
                vectors = vectors + rng.standard_normal(vectors.shape, dtype=np.float32) * TILE_NOISE
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            first = chunks[rows[0]]
            source = first.source if tile == 0 else f"{first.source}#t{tile}"
            doc_chunks = [
                replace(chunks[r], id=f"{new_id}:{i:05d}", doc_id=new_id, source=source)
                for i, r in enumerate(rows)
            ]
            digest = hashlib.sha256(f"{new_id}:{len(rows)}".encode()).hexdigest()
            info = DocumentInfo(
                doc_id=new_id,
                source=source,
                title=first.title,
                content_hash=digest,
                pages=0,
                chunks=len(rows),
            )
            updates.append(DocumentUpdate(info, doc_chunks, np.ascontiguousarray(vectors, np.float32)))
            total += len(rows)
        tile += 1
    index_settings = replace(settings, index_dir=index_dir, vector_index=kind)
    writer = open_writer(index_settings)
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
        "tiles": tile,
        "seconds": {
            "total": time.perf_counter() - t0,
            "bm25": stats.seconds_bm25,
            "vectors": stats.seconds_vectors,
            "write": stats.seconds_write,
        },
    }
    meta_path.write_text(json.dumps(built), encoding="utf-8")
    return built


def disk_breakdown(index_dir: Path) -> dict[str, float]:
    from search.backends.local import store

    folder = store.current_version(index_dir)
    parts = {
        name: du_mb(folder / name)
        for name in (store.BM25_DIR, store.VECTORS, store.EMBEDDINGS, store.CHUNKS, store.MANIFEST)
    }
    return {"total": du_mb(folder), **parts}


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


def worker_latency(args: argparse.Namespace) -> dict[str, Any]:
    """Open the index and the model, then time `Searcher.retrieve` per stage over the queries."""
    import bm25s  # noqa: F401 - libraries load before the first figure: it is the index's memory
    import faiss  # noqa: F401
    import torch

    import search.backends.local  # noqa: F401
    from search.backends import open_backend
    from search.embedding.transformer import SentenceTransformerEmbedder
    from search.models import DENSE
    from search.pipeline import Searcher

    settings = replace(Settings.from_env(), index_dir=Path(args.index))
    queries = json.loads(Path(args.queries).read_text(encoding="utf-8"))
    rss0 = rss_mb()
    t0 = time.perf_counter()
    backend = open_backend(settings)
    load_s = time.perf_counter() - t0
    rss1 = rss_mb()
    t0 = time.perf_counter()
    extra = {} if args.query_threads is None else {"query_threads": args.query_threads or None}
    embedder = SentenceTransformerEmbedder(
        settings.embedding_model, settings.embedding_device, settings.embed_batch_size, **extra
    )
    model_s = time.perf_counter() - t0
    rss2 = rss_mb()
    searcher = Searcher(backend, embedder, settings, reranker=None)
    queries = [searcher.check_query(q)[0] for q in queries]
    warm, measured = queries[:WARMUP], queries[WARMUP:]
    for q in warm:
        searcher.retrieve(q, settings.candidates)
    stages: dict[str, list[float]] = {
        "embed": [],
        "bm25": [],
        "dense": [],
        "fusion": [],
        "first_stage": [],
        "first_stage_cpu": [],
        "search_no_rerank": [],
    }
    dense_ids = []
    load_before = os.getloadavg()
    for q in measured:
        c0, t0 = time.thread_time(), time.perf_counter()
        lists, timings = searcher.retrieve(q, settings.candidates)
        t1, c1 = time.perf_counter(), time.thread_time()
        for name in ("embed", "bm25", "dense", "fusion"):
            stages[name].append(timings[name])
        stages["first_stage"].append((t1 - t0) * 1000)
        stages["first_stage_cpu"].append((c1 - c0) * 1000)
        dense_ids.append([d for d, _ in lists[DENSE]])
    for q in measured:  # the whole search call without reranking: + query checks and hit assembly
        t0 = time.perf_counter()
        searcher.search(q, rerank=False)
        stages["search_no_rerank"].append((time.perf_counter() - t0) * 1000)
    if args.dense_out:
        Path(args.dense_out).write_text(json.dumps(dense_ids), encoding="utf-8")
    return {
        "chunks": len(backend),
        "queries": len(measured),
        "stages_ms": {name: pct(values) for name, values in stages.items()},
        "load_s": load_s,
        "model_load_s": model_s,
        "rss_index_mb": rss1 - rss0,
        "rss_model_mb": rss2 - rss1,
        "rss_total_mb": rss_mb(),
        "loadavg": [load_before, os.getloadavg()],
        "torch_threads": torch.get_num_threads(),
        # what the query forward ran with: the embedder's own setting, else the thread's torch count
        "query_threads": getattr(embedder, "query_threads", None) or torch.get_num_threads(),
        "variant": "default" if args.query_threads is None else f"query_threads={args.query_threads}",
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
    }


class TimedEmbedder:
    """Wraps an `Embedder` and adds up the time spent inside `embed` (the model's share of ingest)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0
        self.torch_threads = 0

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        import torch

        self.torch_threads = torch.get_num_threads()  # what the batch forward runs with
        t0 = time.perf_counter()
        try:
            return self.inner.embed(texts, show_progress=show_progress)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def worker_ingest(args: argparse.Namespace) -> dict[str, Any]:
    """A real ingest of the sample files into a fresh index; the embed call is timed apart."""
    from ingest.pipeline import file_sources, run_ingest
    from search.backends import open_writer
    from search.embedding import make_embedder

    settings = replace(Settings.from_env(), index_dir=Path(args.index))
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    paths = [Path(p) for p in json.loads(Path(args.files).read_text(encoding="utf-8"))]
    t0 = time.perf_counter()
    embedder = make_embedder(settings)
    model_s = time.perf_counter() - t0
    timed = TimedEmbedder(embedder)
    t0 = time.perf_counter()
    sources, skipped = file_sources(paths, int(settings.max_file_mb * MB))
    t1 = time.perf_counter()
    report = run_ingest(
        sources,
        open_writer(settings),
        settings,
        embedder=timed,  # type: ignore[arg-type]
        skipped=skipped,
        show_progress=False,
    )
    total = time.perf_counter() - t0
    return {
        "files": len(paths),
        "chunks": report.new_chunks,
        "seconds_total": total,
        "seconds_hash": t1 - t0,
        "seconds_embed": timed.seconds,
        "seconds_model_load": model_s,
        "torch_threads": timed.torch_threads,
        "phases": report.seconds,
        "loadavg": os.getloadavg(),
    }


def worker_rerun(args: argparse.Namespace) -> dict[str, Any]:
    """`file_sources` + `run_ingest` over an unchanged, already indexed folder; nothing is passed
    for the embedder, as the CLI does, so this also shows whether the model gets loaded."""
    t0 = time.perf_counter()
    from ingest.pipeline import file_sources, run_ingest
    from search.backends import open_writer

    import_s = time.perf_counter() - t0
    settings = replace(Settings.from_env(), index_dir=Path(args.index))
    runs = []
    report = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        sources, skipped = file_sources([Path(args.files)], int(settings.max_file_mb * MB))
        t1 = time.perf_counter()
        report = run_ingest(sources, open_writer(settings), settings, skipped=skipped, show_progress=False)
        runs.append({**report.seconds, "file_sources": t1 - t0, "total": time.perf_counter() - t0})
    assert report is not None
    return {
        "files": report.unchanged,
        "chunks": report.chunks,
        "changed": report.changed,
        "new_chunks": report.new_chunks,
        "import_s": import_s,
        "runs": runs,
        "model_loaded": "sentence_transformers" in sys.modules,
        "torch_imported": "torch" in sys.modules,
    }


def worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench/run.py _worker")
    parser.add_argument("kind", choices=["latency", "ingest", "rerun"])
    parser.add_argument("--result", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--queries")
    parser.add_argument("--files")
    parser.add_argument("--dense-out")
    parser.add_argument("--query-threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    work = {"latency": worker_latency, "ingest": worker_ingest, "rerun": worker_rerun}[args.kind]
    result = work(args)
    Path(args.result).write_text(json.dumps(result, indent=1), encoding="utf-8")


# --- the run ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path("/work/shared/data/beir/scifact"),
        help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000], help="index sizes in chunks"
    )
    parser.add_argument("--queries", type=int, default=200, help="measured queries per index (after warm-up)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument(
        "--base-chunks",
        type=int,
        default=10_000,
        help="real chunks written as files and embedded (re-run corpus, tiling pool)",
    )
    parser.add_argument("--ingest-chunks", type=int, default=2_000, help="chunks in the timed real ingest")
    parser.add_argument(
        "--hnsw-sizes", type=int, nargs="*", help="sizes also measured with HNSW (default: the largest)"
    )
    parser.add_argument(
        "--openblas",
        choices=["as-is", "both"],
        default="as-is",
        help="'both': also measure latency with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset",
    )
    parser.add_argument(
        "--query-threads",
        type=int,
        nargs="*",
        default=[],
        help="also measure latency with Embedder(query_threads=N) (0: the calling thread's torch setting)",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["ingest", "rerun", "latency"])
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.queries = [1_000, 5_000], 40
        args.base_chunks, args.ingest_chunks = 1_000, 200
    hnsw_sizes = args.hnsw_sizes if args.hnsw_sizes is not None else [max(args.sizes)]
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env()
    results: dict[str, Any] = {
        "machine": machine(),
        "corpus": str(args.corpus),
        "settings": {
            "embedding_model": settings.embedding_model,
            "chunk_tokens": settings.chunk_tokens,
            "candidates": settings.candidates,
            "hnsw_m": settings.hnsw_m,
            "ef_search": settings.hnsw_ef_search,
            "embed_batch_size": settings.embed_batch_size,
            "fusion": _fusion_label(settings),
        },
    }
    print(
        f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"load average {results['machine']['loadavg_start']}",
        flush=True,
    )

    meta = prepare_corpus(args.corpus, out, args.base_chunks, settings)
    folder = Path(meta["folder"])
    print(f"corpus: {len(meta['files']):,} files, {meta['chunks']:,} chunks under {folder}", flush=True)

    if "ingest" not in args.skip:
        sample, count = [], 0
        for f in meta["files"]:
            if count >= args.ingest_chunks:
                break
            sample.append(str(folder / f["path"]))
            count += f["chunks"]
        (out / "ingest-files.json").write_text(json.dumps(sample), encoding="utf-8")
        print(f"timing a real ingest of {len(sample)} files (~{count:,} chunks) ...", flush=True)
        worker = [
            "ingest",
            "--result",
            str(out / "w-ingest.json"),
            "--index",
            str(out / "ingest-sample"),
            "--files",
            str(out / "ingest-files.json"),
        ]
        results["ingest"] = run_worker(worker)

    chunks = read_corpus_chunks(meta)
    texts = [c.indexed_text() for c in chunks]
    pool_key = _texts_key(texts)
    cache = out / "cache" / f"embeddings-{_slug(settings.embedding_model)}.npz"

    def new_embedder() -> Any:
        from search.embedding import make_embedder

        return make_embedder(settings)

    pool: np.ndarray | None = None

    def get_pool() -> np.ndarray:
        nonlocal pool
        if pool is None:
            pool = embed_cached(texts, cache, new_embedder)
        return pool

    if "rerun" not in args.skip:
        results["rerun"] = measure_rerun(out, meta, chunks, get_pool, new_embedder, settings)

    if "latency" not in args.skip:
        results["latency"] = measure_latency(args, out, chunks, get_pool, pool_key, settings, hnsw_sizes)

    results["machine"]["loadavg_end"] = os.getloadavg()
    table = render(results, args)
    print("\n" + table)
    name = "results-quick" if args.quick else "results"
    (out / f"{name}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (out / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    print(f"\nwritten: {out / (name + '.json')} and {out / (name + '.md')}")
    return 0


class _PoolEmbedder:
    """Serves the cached real vectors of known texts (the initial build of the re-run corpus); any
    other text is embedded by the real model."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray, make: Callable[[], Any]) -> None:
        self._rows = {t: i for i, t in enumerate(texts)}
        self._vectors = vectors
        self._make = make
        self._real: Any = None
        self.dim = int(vectors.shape[1])

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        missing = [i for i, t in enumerate(texts) if t not in self._rows]
        for i, t in enumerate(texts):
            if t in self._rows:
                out[i] = self._vectors[self._rows[t]]
        if missing:
            self._real = self._real or self._make()
            out[missing] = self._real.embed([texts[i] for i in missing])
        return out


def measure_rerun(
    out: Path,
    meta: dict[str, Any],
    chunks: list[Any],
    get_pool: Callable[[], np.ndarray],
    make_embedder: Callable[[], Any],
    settings: Settings,
) -> dict[str, Any]:
    """Index the corpus files once (pool vectors), then time an unchanged re-run in a fresh process,
    both as `run_ingest` and as the `python -m ingest` command."""
    from ingest.pipeline import file_sources, run_ingest
    from search.backends import open_writer

    files = Path(meta["folder"]) / "files"
    index = Path(meta["folder"]) / "index"
    stamp = index / "bench-built.json"
    if not stamp.is_file() or json.loads(stamp.read_text()).get("params") != meta["params"]:
        shutil.rmtree(index, ignore_errors=True)
        print(f"indexing {files} once for the re-run (cached vectors) ...", flush=True)
        s = replace(settings, index_dir=index)
        embedder = _PoolEmbedder([c.indexed_text() for c in chunks], get_pool(), make_embedder)
        sources, skipped = file_sources([files], int(s.max_file_mb * MB))
        report = run_ingest(
            sources,
            open_writer(s),
            s,
            embedder=embedder,  # type: ignore[arg-type]
            skipped=skipped,
            show_progress=False,
        )
        stamp.write_text(json.dumps({"params": meta["params"], "chunks": report.chunks}), encoding="utf-8")
    print("timing the unchanged re-run ...", flush=True)
    result = run_worker(
        ["rerun", "--result", str(out / "w-rerun.json"), "--index", str(index), "--files", str(files)]
    )
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", str(files), "--index", str(index)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    result["cli_wall_s"] = time.perf_counter() - t0
    result["cli_ok"] = proc.returncode == 0 and "up to date" in proc.stdout
    return result


def measure_latency(
    args: argparse.Namespace,
    out: Path,
    chunks: list[Any],
    get_pool: Callable[[], np.ndarray],
    pool_key: str,
    settings: Settings,
    hnsw_sizes: list[int],
) -> list[dict[str, Any]]:
    queries_file = out / "queries.json"
    queries_file.write_text(json.dumps(load_queries(args.corpus, args.queries)), encoding="utf-8")
    name = _slug(args.corpus.name)
    plans = [(size, "flat") for size in args.sizes] + [(size, "hnsw") for size in hnsw_sizes]
    envs: list[tuple[str, dict[str, str]]] = [("as-is", dict(os.environ))]
    if args.openblas == "both":
        envs.append(("unset", {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}))
    rows = []
    for size, kind in plans:
        index_dir = out / "indexes" / f"{name}-{size}-{kind}"
        built = build_latency_index(index_dir, chunks, get_pool(), size, kind, settings, pool_key)
        variants: list[tuple[str, dict[str, str], int | None]] = [(label, env, None) for label, env in envs]
        variants += [("as-is", envs[0][1], n) for n in args.query_threads]
        for label, env, threads in variants:
            shown = "default" if threads is None else threads
            print(f"measuring {kind} @ {size:,} (OPENBLAS {label}, query threads {shown}) ...", flush=True)
            dense_out = out / f"dense-{size}-{kind}-{label}-{shown}.json"
            worker = [
                "latency",
                "--result",
                str(out / "w-latency.json"),
                "--index",
                str(index_dir),
                "--queries",
                str(queries_file),
                "--dense-out",
                str(dense_out),
                *([] if threads is None else ["--query-threads", str(threads)]),
            ]
            result = run_worker(worker, env=env)
            result.update(
                size=size,
                kind=kind,
                openblas=label,
                build=built,
                disk_mb=disk_breakdown(index_dir),
                dense_file=str(dense_out),
            )
            rows.append(result)
    for row in rows:  # HNSW's dense top-k against the exact (flat) one, same queries
        if row["kind"] == "hnsw":
            flat = next(
                (
                    r
                    for r in rows
                    if r["kind"] == "flat" and r["size"] == row["size"] and r["variant"] == row["variant"]
                ),
                None,
            )
            if flat:
                exact = json.loads(Path(flat["dense_file"]).read_text())
                approx = json.loads(Path(row["dense_file"]).read_text())
                overlap = [len(set(a) & set(e)) / max(1, len(e)) for a, e in zip(approx, exact, strict=True)]
                row["recall_vs_flat"] = float(np.mean(overlap))
    return rows


# --- the table ----------------------------------------------------------------------------------


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    m = results["machine"]
    lines = [
        "# Benchmark",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, no GPU; torch threads "
        f"{m['torch_threads']}; OPENBLAS env {m['openblas_env'] or 'unset'}; load average "
        f"{_load(m['loadavg_start'])} at start, {_load(m.get('loadavg_end', ()))} at end "
        "(the machine is shared: a load above the core count inflates wall times).",
        f"Corpus: {results['corpus']} as .txt files, chunked by the real Chunker "
        f"({results['settings']['chunk_tokens']} tokens); model {results['settings']['embedding_model']}; "
        f"first stage = query embedding + BM25 top-{results['settings']['candidates']} + dense "
        f"top-{results['settings']['candidates']} + fusion ({results['settings'].get('fusion', '?')}; "
        "`Searcher.retrieve`).",
        "",
    ]
    goals = []
    ing = results.get("ingest")
    if ing:
        total, embed = ing["seconds_total"], ing["seconds_embed"]
        outside = total - embed
        share = outside / total
        cold = total + ing["seconds_model_load"]
        cold_share = (outside + ing["seconds_model_load"]) / cold
        phases = ", ".join(f"{k} {v:.2f}" for k, v in ing["phases"].items() if k != "total")
        lines += [
            "## Ingest (real `run_ingest`, real embedder, real files)",
            "",
            "| files | chunks | total s | chunks/s | in `embed` s | model chunks/s | outside s "
            "| outside share | + model load s | share incl. load |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {ing['files']:,} | {ing['chunks']:,} | {total:.1f} | {ing['chunks'] / total:.1f} "
            f"| {embed:.1f} | {ing['chunks'] / embed:.1f} | {outside:.2f} | {share:.1%} "
            f"| {ing['seconds_model_load']:.2f} | {cold_share:.1%} |",
            "",
            f"torch threads in the embedding call: {ing.get('torch_threads', '?')}. "
            f'Phases (s): hashing {ing["seconds_hash"]:.2f}, {phases}. "Outside" = total − time inside '
            "`Embedder.embed`; the embedder is loaded before the clock starts (as in the app); the last "
            "column adds its load time (as one CLI run pays).",
            "",
        ]
        goals.append(
            (
                "ingest: ≤ 10% of the time outside the embedding model",
                share <= 0.10,
                f"{share:.1%} ({cold_share:.1%} counting the model load)",
            )
        )
    rr = results.get("rerun")
    if rr:
        times = sorted(r["total"] for r in rr["runs"])
        median = times[len(times) // 2]
        first = rr["runs"][0]
        lines += [
            "## Unchanged re-run (real files, nothing to do)",
            "",
            "| files | chunks | `run_ingest` first s | median of runs s | hashing (file_sources) s "
            "| CLI wall s | imports s | model loaded | torch imported |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| {rr['files']:,} | {rr['chunks']:,} | {first['total']:.2f} | {median:.2f} "
            f"| {first['file_sources']:.2f} | {rr['cli_wall_s']:.2f} | {rr['import_s']:.2f} "
            f"| {'yes' if rr['model_loaded'] else 'no'} | {'yes' if rr['torch_imported'] else 'no'} |",
            "",
            "CLI wall = `python -m ingest FOLDER --index DIR` as a fresh process (interpreter start and "
            "imports included).",
            "",
        ]
        ok = rr["chunks"] >= 0.99 * min(10_000, rr["chunks"]) and median < 2.0 and not rr["changed"]
        goals.append(
            (
                f"unchanged re-run of {rr['chunks']:,} chunks < 2 s",
                ok and not rr["model_loaded"],
                f"run_ingest {median:.2f} s median, CLI {rr['cli_wall_s']:.2f} s; model loaded: "
                f"{rr['model_loaded']}",
            )
        )
    lat = results.get("latency")
    if lat:
        lines += [
            "## First-stage latency (ms, p50 / p95)",
            "",
            "| chunks | real | vectors | OPENBLAS | query threads | embed | bm25 | dense | fusion "
            "| first stage | first stage CPU | search() no rerank | load avg |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in lat:
            cells = " | ".join(
                f"{r['stages_ms'][k]['p50']:.2f} / {r['stages_ms'][k]['p95']:.2f}" for k in STAGES
            )
            real = r["build"]["real_chunks"]
            lines.append(
                f"| {r['size']:,} | {real:,}{' + tiled' if real < r['size'] else ''} | {r['kind']} "
                f"| {r['openblas']} | {r['query_threads']}{'' if r['variant'] == 'default' else ' (set)'} "
                f"| {cells} | {_load(r['loadavg'][0])} |"
            )
        lines += [
            "",
            f'{lat[0]["queries"]} real BEIR queries per row after {WARMUP} warm-up queries. "real": chunks '
            "with real embeddings; beyond them the documents repeat under new ids with their real vectors "
            f"plus seeded noise (σ={TILE_NOISE}/dim, re-normalised, cos ≈ 0.98 to the original). "
            "\"first stage CPU\" is the main thread's CPU time (robust to a busy machine; torch's second "
            "thread not counted).",
            "",
            "## Index size and memory",
            "",
            "| chunks | vectors | disk total MB | bm25/ | vectors.faiss | embeddings.npy | chunks.jsonl "
            "| RSS after load − before MB | load s | build s (bm25 / vectors / write) "
            "| HNSW recall@100 vs flat |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        seen = set()
        for r in lat:
            if (r["size"], r["kind"]) in seen:
                continue
            seen.add((r["size"], r["kind"]))
            d, b = r["disk_mb"], r["build"]["seconds"]
            recall = f"{r['recall_vs_flat']:.3f}" if "recall_vs_flat" in r else "—"
            lines.append(
                f"| {r['size']:,} | {r['kind']} | {d['total']:.1f} | {d['bm25']:.1f} "
                f"| {d['vectors.faiss']:.1f} | {d['embeddings.npy']:.1f} | {d['chunks.jsonl']:.1f} "
                f"| {r['rss_index_mb']:.0f} "
                f"| {r['load_s']:.2f} | {b['bm25']:.1f} / {b['vectors']:.1f} / {b['write']:.1f} | {recall} |"
            )
        model_rss = lat[0]["rss_model_mb"]
        lines += [
            "",
            "RSS after load − before: resident memory added by `open_backend` (the libraries were imported "
            f"before). Loading the embedding model (with sentence-transformers) adds {model_rss:.0f} MB more "
            f"({lat[0]['model_load_s']:.1f} s).",
            "",
        ]
        big = [
            r for r in lat if r["kind"] == "flat" and r["openblas"] == "as-is" and r["variant"] == "default"
        ]
        if big:
            top = max(big, key=lambda r: r["size"])
            p50 = top["stages_ms"]["first_stage"]["p50"]
            goals.append(
                (
                    f"first stage p50 ≤ 25 ms at {top['size']:,} chunks (flat)",
                    p50 <= 25.0,
                    f"{p50:.1f} ms (CPU {top['stages_ms']['first_stage_cpu']['p50']:.1f} ms), "
                    f"load average {_load(top['loadavg'][0])}",
                )
            )
    if goals:
        lines += ["## Goals", "", "| goal | met | measured |", "|---|---|---|"]
        lines += [f"| {g} | {'yes' if ok else 'NO'} | {detail} |" for g, ok, detail in goals]
    return "\n".join(lines)


def _fusion_label(settings: Settings) -> str:
    """The fusion the searcher uses when the index stores none (the benchmark indexes store none)."""
    if settings.fusion_mode == "rrf":
        return f"RRF k={settings.rrf_k}"
    return f"{settings.fusion_mode} {settings.fusion_normalization}, dense weight {settings.fusion_alpha}"


def _load(values: Sequence[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values) if values else "?"


if __name__ == "__main__":
    if sys.argv[1:2] == ["_worker"]:
        worker_main(sys.argv[2:])
    else:
        sys.exit(main())
