"""Small helpers shared by the benchmark modules: memory, disk, percentiles, the machine, workers."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: The shared data folder beside the repository (`../shared/data`), as on the development machines.
DATA = ROOT.parent / "shared" / "data"
MB = 1024 * 1024
#: Standard deviation per dimension of the noise added to tiled vectors: |noise| ≈ 0.2, cos ≈ 0.98.
TILE_NOISE = 0.01
SEED = 20240611
WARMUP = 20


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
    from search.embedding import choose_backend
    from search.settings import Settings

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "embedding_backend": choose_backend(Settings.from_env()),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def texts_key(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()[:16]


def run_worker(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m bench.run _worker ...` in a fresh interpreter; it writes its figures as JSON."""
    result = Path(args[args.index("--result") + 1])
    result.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "_worker", *args], cwd=ROOT, env=env, check=False
    )
    if proc.returncode != 0 or not result.is_file():
        raise SystemExit(f"bench worker failed ({' '.join(args[:1])}, exit {proc.returncode})")
    return json.loads(result.read_text(encoding="utf-8"))


def tmp_path(path: Path) -> Path:
    return path.with_name("." + path.name + ".tmp")


def load(values: Sequence[float]) -> str:
    """A load average triple as text."""
    return "/".join(f"{v:.1f}" for v in values) if values else "?"
