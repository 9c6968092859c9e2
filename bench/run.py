"""Ingest throughput, first-stage query latency, index size and memory, on a real BEIR corpus.

    python -m bench.run                       # scifact; 10k and 100k chunks; 200 queries (~15 min first run)
    python -m bench.run --quick               # small smoke run (~3 min first run)
    python -m bench.run --scale 1000000       # also 1M chunks: exact / HNSW / IVF and bm25s (~1 h, 2 cores)
    python -m bench.run --openblas both       # latency also with OPENBLAS_CORETYPE/L2_SIZE unset
    python -m bench.run --skip ingest rerun   # only the latency (indexes are cached)

(`python bench/run.py` works too.) How it is built:

* The corpus documents are written once as .txt files (`<out>/corpus/...`, bench/corpus.py) and the
  first `--base-chunks` chunks of them (real `Chunker`) are embedded once with the real model and
  cached (`<out>/cache/`). That file set is also the corpus of the unchanged re-run.
* Ingest throughput is measured end to end, for real (bench/ingest_speed.py): `run_ingest` with the
  real embedder over ~2k chunks' worth of corpus files, and the CLI on the sample (bench/cli_wall.py).
* The latency indexes are built through the real `LocalWriter.commit` path (bench/indexes.py). Sizes
  above the real pool repeat the documents under distinct ids ("tiles"); a tile's vectors are the real
  ones plus small seeded Gaussian noise, re-normalised. The table says how many chunks are real.
* Each latency measurement runs in a fresh subprocess (clean resident-memory figures) through
  `Searcher.retrieve`, the product's own first stage, with real BEIR test queries (bench/latency.py);
  at the largest exact size it is also run side by side with a plain script (bench/plain.py).
* `--scale N` builds N-chunk FAISS (exact, HNSW, IVF) and bm25s indexes in one more worker
  (bench/scale.py) and reports recall@100 against exact search, memory, disk and build time.

Built indexes are cached under `--out` (git-ignored); reruns only measure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/run.py` from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from bench.common import DATA, machine, run_worker, slug, texts_key  # noqa: E402
from bench.corpus import embed_cached, load_queries, prepare_corpus, read_corpus_chunks  # noqa: E402
from search.settings import Settings  # noqa: E402


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DATA / "beir" / "scifact",
        help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/); default ../shared/data/beir/scifact",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000], help="index sizes in chunks"
    )
    parser.add_argument("--queries", type=int, default=200, help="measured queries per index (after warm-up)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--base-chunks", type=int, default=10_000, help="real chunks written and embedded")
    parser.add_argument("--ingest-chunks", type=int, default=2_000, help="chunks in the timed real ingest")
    parser.add_argument(
        "--hnsw-sizes", type=int, nargs="*", help="sizes also measured with HNSW (default: largest)"
    )
    parser.add_argument("--openblas", choices=["as-is", "both"], default="as-is", help="'both': also unset")
    parser.add_argument(
        "--query-threads", type=int, nargs="*", default=[], help="also measure with N query threads"
    )
    parser.add_argument("--no-plain", action="store_true", help="skip the side-by-side with a plain script")
    parser.add_argument("--scale", type=int, default=0, help="also build and measure N chunks (e.g. 1000000)")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["cli", "ingest", "rerun", "latency"], help="parts to skip"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.queries = [1_000, 5_000], 40
        args.base_chunks, args.ingest_chunks = 1_000, 200
    return args


def main(argv: list[str] | None = None) -> int:
    from bench.cli_wall import measure_cli
    from bench.ingest_speed import measure_ingest, measure_rerun
    from bench.latency import measure_latency
    from bench.report import render

    args = parse(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env()
    results = _results_head(args, settings)
    meta = prepare_corpus(args.corpus, out, args.base_chunks, settings)
    print(
        f"corpus: {len(meta['files']):,} files, {meta['chunks']:,} chunks under {meta['folder']}", flush=True
    )
    if "cli" not in args.skip:
        results["cli"] = measure_cli(out)
    if "ingest" not in args.skip:
        results["ingest"] = measure_ingest(out, meta, args.ingest_chunks)
    chunks = read_corpus_chunks(meta)
    texts = [c.indexed_text() for c in chunks]
    cache = out / "cache" / f"embeddings-{slug(settings.embedding_model)}.npz"
    pool: list[np.ndarray] = []

    def get_pool() -> np.ndarray:
        if not pool:
            pool.append(embed_cached(texts, cache, lambda: _embedder(settings)))
        return pool[0]

    if "rerun" not in args.skip:
        results["rerun"] = measure_rerun(out, meta, chunks, get_pool, lambda: _embedder(settings), settings)
    if "latency" not in args.skip:
        hnsw = args.hnsw_sizes if args.hnsw_sizes is not None else [max(args.sizes)]
        results["latency"] = measure_latency(args, out, chunks, get_pool, texts_key(texts), settings, hnsw)
    if args.scale:
        results["scale"] = measure_scale(args, out, meta, get_pool())
    results["machine"]["loadavg_end"] = os.getloadavg()
    table = render(results)
    print("\n" + table)
    name = "results-quick" if args.quick else "results"
    (out / f"{name}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (out / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    print(f"\nwritten: {out / (name + '.json')} and {out / (name + '.md')}")
    return 0


def _embedder(settings: Settings) -> Any:
    from search.embedding import make_embedder

    return make_embedder(settings)


def _results_head(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
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
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, load average {m['loadavg_start']}", flush=True)
    return results


def measure_scale(
    args: argparse.Namespace, out: Path, meta: dict[str, Any], pool: np.ndarray
) -> dict[str, Any]:
    """The `--scale` worker: its inputs as files (pool vectors, chunks, queries), its figures back."""
    folder = out / "scale"
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "pool.npy", pool)
    queries = folder / "queries.json"
    queries.write_text(json.dumps(load_queries(args.corpus, args.queries)), encoding="utf-8")
    print(f"scale: {args.scale:,} chunks (build takes a while) ...", flush=True)
    worker = ["scale", "--result", str(out / "w-scale.json"), "--index", str(folder / "index")]
    worker += ["--pool", str(folder / "pool.npy"), "--queries", str(queries), "--scale", str(args.scale)]
    return run_worker([*worker, "--chunks", str(Path(meta["folder"]) / "chunks.jsonl")])


def _fusion_label(settings: Settings) -> str:
    """The fusion the searcher uses when the index stores none (the benchmark indexes store none)."""
    if settings.fusion_mode == "rrf":
        return f"RRF k={settings.rrf_k}"
    return f"{settings.fusion_mode} {settings.fusion_normalization}, dense weight {settings.fusion_alpha}"


def worker_main(argv: list[str]) -> None:
    """`python -m bench.run _worker KIND ...`: one measurement in a fresh interpreter."""
    import logging

    from bench.ingest_speed import worker_ingest, worker_rerun
    from bench.latency import worker_latency
    from bench.scale import worker_scale

    parser = argparse.ArgumentParser(prog="bench.run _worker")
    parser.add_argument("kind", choices=["latency", "ingest", "rerun", "scale"])
    for flag in ("--result", "--index"):
        parser.add_argument(flag, required=True)
    for flag in ("--queries", "--files", "--dense-out", "--pool", "--chunks"):
        parser.add_argument(flag)
    parser.add_argument("--query-threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=int, default=0)
    parser.add_argument("--plain", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    work = {"latency": worker_latency, "ingest": worker_ingest, "rerun": worker_rerun, "scale": worker_scale}
    result = work[args.kind](args)
    Path(args.result).write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["_worker"]:
        worker_main(sys.argv[2:])
    else:
        sys.exit(main())
