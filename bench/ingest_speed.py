"""Ingest figures: a real `run_ingest` over real files (throughput, time inside the model), and an
unchanged re-run of the whole corpus folder (as a function and as the `python -m ingest` command)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import MB, ROOT, run_worker
from search.settings import Settings


class TimedEmbedder:
    """Wraps an `Embedder` and adds up the time spent inside `embed` (the model's share of ingest)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
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
    embedder.embed(["warm up"])  # loaded (and, for ONNX, the batch session opened) before the clock
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
        "embedding_backend": getattr(embedder, "backend", "torch"),
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


def measure_ingest(out: Path, meta: dict[str, Any], ingest_chunks: int) -> dict[str, Any]:
    """Time a real ingest of the first corpus files holding about `ingest_chunks` chunks."""
    folder = Path(meta["folder"])
    sample, count = [], 0
    for f in meta["files"]:
        if count >= ingest_chunks:
            break
        sample.append(str(folder / f["path"]))
        count += f["chunks"]
    (out / "ingest-files.json").write_text(json.dumps(sample), encoding="utf-8")
    print(f"timing a real ingest of {len(sample)} files (~{count:,} chunks) ...", flush=True)
    worker = ["ingest", "--result", str(out / "w-ingest.json"), "--index", str(out / "ingest-sample")]
    return run_worker([*worker, "--files", str(out / "ingest-files.json")])


class PoolEmbedder:
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
        embedder = PoolEmbedder([c.indexed_text() for c in chunks], get_pool(), make_embedder)
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
