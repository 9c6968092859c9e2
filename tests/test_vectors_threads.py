"""FAISS's one-thread setting stays inside FAISS calls: torch (same OpenMP runtime) keeps its threads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_faiss_leaves_torch_threads_alone() -> None:
    # A fresh interpreter: the thread count is per process (and per OS thread), pytest's may differ.
    code = textwrap.dedent(
        """
        import numpy as np, torch
        torch.set_num_threads(2)
        import faiss
        from search.backends.local import vectors
        assert torch.get_num_threads() == 2, torch.get_num_threads()
        rng = np.random.default_rng(0)
        x = rng.standard_normal((500, 16)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        for kind in ("flat", "hnsw"):
            index = vectors.build(x, kind)
            assert torch.get_num_threads() == 2, (kind, torch.get_num_threads())
            hits = vectors.search(index, x[7], 5)
            assert hits[0][0] == 7, hits
            assert torch.get_num_threads() == 2, (kind, torch.get_num_threads())
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
