"""Small conversions between widgets and the engine: example queries, fusion controls, progress."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from search.errors import SearchError
from search.models import FusionParams
from search.rerank.base import Progress


def load_example_queries(path: Path, limit: int = 12) -> list[str]:
    """Queries for the example buttons from a JSON list of {"query": ...} (or plain strings);
    an empty list when the file is missing or unreadable, since examples are a convenience."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out: list[str] = []
    for item in data if isinstance(data, list) else []:
        text = item.get("query") if isinstance(item, dict) else item
        if isinstance(text, str) and text.strip() and text.strip() not in out:
            out.append(text.strip())
    return out[:limit]


def fusion_from_ui(base: FusionParams, mode: str, alpha: float) -> FusionParams:
    """The fusion a search runs with: the index's own parameters when the controls still show them,
    else `mode` with dense weight `alpha` (RRF weighs the two lists only when alpha is not 0.5)."""
    mode = mode.strip().lower()
    alpha = min(1.0, max(0.0, float(alpha)))
    if mode == base.mode and abs(alpha - base.alpha) < 1e-9:
        return base
    if mode not in ("rrf", "weighted", "adaptive"):
        raise SearchError(f"unknown fusion mode {mode!r} (expected adaptive, rrf or weighted)")
    weighted_rrf = mode == "rrf" and (base.weighted_rrf or abs(alpha - 0.5) > 1e-9)
    return replace(base, mode=mode, alpha=alpha, weighted_rrf=weighted_rrf, source="ui")


def progress_adapter(report: Callable[..., Any], desc: str, unit: str = "passages") -> Progress:
    """A `progress(done, total)` callback that drives a `gr.Progress`-like callable."""

    def update(done: int, total: int) -> None:
        report((done, total), desc=desc, unit=unit)

    return update


def gradio_cache() -> Path:
    """Where Gradio keeps uploaded files (GRADIO_TEMP_DIR, else <tmp>/gradio)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def discard_uploads(paths: Sequence[str | Path] | None, cache: Path | None = None) -> int:
    """Delete Gradio's cached copies of uploaded files once they are staged: a private upload must not
    outlive its session in a cache that `/gradio_api/file=` serves. Paths outside the cache are kept."""
    from ingest.uploads import inside

    cache = cache or gradio_cache()
    removed = 0
    for raw in paths or []:
        path = Path(raw)
        if inside(cache, path) and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
