"""The command lines as a new user meets them: `python -m ingest` on the sample documents (real
files: throughput) and `python -m search "q" --no-rerank` in a fresh process (wall time)."""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT

QUERIES = ("how do I make mayonnaise", "orbital mechanics of satellites", "contract breach remedies")


def measure_cli(out: Path, sample: Path = ROOT / "data" / "sample", repeats: int = 3) -> dict[str, Any]:
    """Ingest the sample into a fresh index (timed, fresh process), then time fresh searches on it."""
    index = out / "sample-index"
    shutil.rmtree(index, ignore_errors=True)
    print(f"timing `python -m ingest {sample}` and `python -m search ... --no-rerank` ...", flush=True)
    t0 = time.perf_counter()
    proc = _run(["-m", "ingest", str(sample), "--index", str(index)])
    ingest_s = time.perf_counter() - t0
    chunks = _chunks(index)
    searches, cpu = [], []
    _run(["-m", "search", "warm up", "--index", str(index), "--no-rerank"])  # writes __pycache__
    for i in range(repeats):
        c0 = _children_cpu()
        t0 = time.perf_counter()
        _run(["-m", "search", QUERIES[i % len(QUERIES)], "--index", str(index), "--no-rerank"])
        searches.append(time.perf_counter() - t0)
        cpu.append(_children_cpu() - c0)
    imports = _run(["-X", "importtime", "-c", "import search.__main__, search.pipeline"]).stderr
    return {
        "ingest_wall_s": ingest_s,
        "ingest_chunks": chunks,
        "ingest_chunks_per_s": chunks / ingest_s,
        "ingest_output": proc.stdout.strip().splitlines()[-1:],
        "search_wall_s": searches,
        "search_wall_median_s": statistics.median(searches),
        "search_cpu_median_s": statistics.median(cpu),
        "import_lines": len(imports.splitlines()),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """`python ARGS` as a user's shell runs it: byte-code caching on (some sandboxes turn it off)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"`python {' '.join(args)}` failed: {proc.stderr[-2000:]}")
    return proc


def _chunks(index: Path) -> int:
    from search.backends.local import store

    folder = store.current_version(index)
    with open(folder / store.CHUNKS, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())
