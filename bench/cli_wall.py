"""The command lines as a new user meets them: `python -m ingest` on the sample documents (real
files: throughput) and `python -m search "q" --no-rerank` in a fresh process (wall time)."""

from __future__ import annotations

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
    searches = []
    for i in range(repeats):
        t0 = time.perf_counter()
        _run(["-m", "search", QUERIES[i % len(QUERIES)], "--index", str(index), "--no-rerank"])
        searches.append(time.perf_counter() - t0)
    imports = _run(["-X", "importtime", "-c", "import search.__main__, search.pipeline"]).stderr
    return {
        "ingest_wall_s": ingest_s,
        "ingest_chunks": chunks,
        "ingest_chunks_per_s": chunks / ingest_s,
        "ingest_output": proc.stdout.strip().splitlines()[-1:],
        "search_wall_s": searches,
        "search_wall_median_s": statistics.median(searches),
        "import_lines": len(imports.splitlines()),
    }


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"`python {' '.join(args)}` failed: {proc.stderr[-2000:]}")
    return proc


def _chunks(index: Path) -> int:
    from search.backends.local import store

    folder = store.current_version(index)
    with open(folder / store.CHUNKS, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())
