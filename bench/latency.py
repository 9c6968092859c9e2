"""First-stage latency of the product (`Searcher.retrieve`) per stage, in a fresh process per index,
and side by side with a plain script on the same index files, interleaved query by query."""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import WARMUP, pct, rss_mb, run_worker, slug
from bench.corpus import load_queries
from bench.indexes import build_latency_index, disk_breakdown
from search.settings import Settings

#: Columns of the latency table, in order (the "first_stage" ones are the whole `Searcher.retrieve`).
STAGES = ("embed", "bm25", "dense", "fusion", "first_stage", "first_stage_cpu", "search_no_rerank")


def worker_latency(args: argparse.Namespace) -> dict[str, Any]:
    """Open the index and the model, then time `Searcher.retrieve` per stage over the queries."""
    import bm25s  # noqa: F401 - libraries load before the first figure: it is the index's memory
    import faiss  # noqa: F401

    import search.backends.local  # noqa: F401
    from search.backends import open_backend
    from search.embedding import make_embedder
    from search.pipeline import Searcher

    settings = replace(Settings.from_env(), index_dir=Path(args.index))
    queries = json.loads(Path(args.queries).read_text(encoding="utf-8"))
    rss0 = rss_mb()
    t0 = time.perf_counter()
    backend = open_backend(settings)
    load_s = time.perf_counter() - t0
    rss1 = rss_mb()
    t0 = time.perf_counter()
    embedder = make_embedder(settings)
    if args.query_threads is not None and hasattr(embedder, "query_threads"):
        embedder.query_threads = args.query_threads or None
    embedder.embed_query("warm up")
    model_s = time.perf_counter() - t0
    rss2 = rss_mb()
    searcher = Searcher(backend, embedder, settings, reranker=None)
    queries = [searcher.check_query(q)[0] for q in queries]
    warm, measured = queries[:WARMUP], queries[WARMUP:]
    for q in warm:
        searcher.retrieve(q, settings.candidates)
    load_before = os.getloadavg()
    stages, dense_ids = time_stages(searcher, measured, settings.candidates)
    if args.dense_out:
        Path(args.dense_out).write_text(json.dumps(dense_ids), encoding="utf-8")
    result = {
        "chunks": len(backend),
        "queries": len(measured),
        "stages_ms": {name: pct(values) for name, values in stages.items()},
        "load_s": load_s,
        "model_load_s": model_s,
        "rss_index_mb": rss1 - rss0,
        "rss_model_mb": rss2 - rss1,
        "rss_total_mb": rss_mb(),
        "loadavg": [load_before, os.getloadavg()],
        "embedding_backend": getattr(embedder, "backend", "torch"),
        "query_threads": getattr(embedder, "query_threads", None),
        "variant": "default" if args.query_threads is None else f"query_threads={args.query_threads}",
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
    }
    if args.plain:
        result["side_by_side"] = side_by_side(searcher, measured, settings)
    return result


def time_stages(searcher: Any, queries: list[str], candidates: int) -> tuple[dict[str, list[float]], list]:
    """Per-stage wall times of `retrieve`, its CPU time, and `search(rerank=False)`, per query."""
    from search.models import DENSE

    stages: dict[str, list[float]] = {name: [] for name in STAGES}
    dense_ids = []
    for q in queries:
        c0, t0 = time.thread_time(), time.perf_counter()
        lists, timings = searcher.retrieve(q, candidates)
        t1, c1 = time.perf_counter(), time.thread_time()
        for name in ("embed", "bm25", "dense", "fusion"):
            stages[name].append(timings[name])
        stages["first_stage"].append((t1 - t0) * 1000)
        stages["first_stage_cpu"].append((c1 - c0) * 1000)
        dense_ids.append([d for d, _ in lists[DENSE]])
    for q in queries:  # the whole search call without reranking: + query checks and hit assembly
        t0 = time.perf_counter()
        searcher.search(q, rerank=False)
        stages["search_no_rerank"].append((time.perf_counter() - t0) * 1000)
    return stages, dense_ids


def side_by_side(searcher: Any, queries: list[str], settings: Settings) -> dict[str, Any]:
    """Product first stage vs the plain script, same process and index files, interleaved per query
    (which runs first alternates); the ratio is product p50 ÷ plain p50."""
    from bench.plain import open_plain

    plain = open_plain(settings.index_dir, settings)
    for q in queries[:WARMUP]:
        plain(q, settings.candidates, searcher.fusion)
    product_ms, plain_ms = [], []
    cpu: dict[str, list[float]] = {"product": [], "plain": []}
    for i, q in enumerate(queries):
        runs = [("product", lambda q=q: searcher.retrieve(q, settings.candidates))]
        runs.append(("plain", lambda q=q: plain(q, settings.candidates, searcher.fusion)))
        for name, run in runs if i % 2 == 0 else runs[::-1]:
            c0, t0 = time.process_time(), time.perf_counter()
            run()
            (product_ms if name == "product" else plain_ms).append((time.perf_counter() - t0) * 1000)
            cpu[name].append((time.process_time() - c0) * 1000)  # every thread of the process
    product, plain_p = pct(product_ms), pct(plain_ms)
    ratios = np.asarray(product_ms) / np.asarray(plain_ms)
    return {
        "product_ms": product,
        "plain_ms": plain_p,
        "ratio_p50": product["p50"] / plain_p["p50"],
        "ratio_median_per_query": float(np.median(ratios)),
        "product_cpu_ms": pct(cpu["product"]),
        "plain_cpu_ms": pct(cpu["plain"]),
        "cpu_ratio_p50": pct(cpu["product"])["p50"] / max(1e-9, pct(cpu["plain"])["p50"]),
        "plain_threads": plain.threads,
    }


def measure_latency(
    args: argparse.Namespace,
    out: Path,
    chunks: list[Any],
    get_pool: Any,
    pool_key: str,
    settings: Settings,
    hnsw_sizes: list[int],
) -> list[dict[str, Any]]:
    """One worker per (size, index kind, environment variant); HNSW recall against the flat rows."""
    queries_file = out / "queries.json"
    queries_file.write_text(json.dumps(load_queries(args.corpus, args.queries)), encoding="utf-8")
    name = slug(args.corpus.name)
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
            worker = ["latency", "--result", str(out / "w-latency.json"), "--index", str(index_dir)]
            worker += ["--queries", str(queries_file), "--dense-out", str(dense_out)]
            worker += [] if threads is None else ["--query-threads", str(threads)]
            plain = kind == "flat" and size == max(args.sizes) and label == "as-is" and threads is None
            worker += ["--plain"] if plain and not args.no_plain else []
            result = run_worker(worker, env=env)
            result.update(size=size, kind=kind, openblas=label, build=built, dense_file=str(dense_out))
            result["disk_mb"] = disk_breakdown(index_dir)
            rows.append(result)
    add_recall(rows)
    return rows


def add_recall(rows: list[dict[str, Any]]) -> None:
    """HNSW's dense top-k against the exact (flat) one, same queries: `recall_vs_flat`."""
    for row in rows:
        if row["kind"] != "hnsw":
            continue
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
