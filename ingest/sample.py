"""The sample index, built on first start when missing (a Space's disk is ephemeral)."""

from __future__ import annotations

import logging
from pathlib import Path

from ingest.load import MB
from ingest.pipeline import IngestReport, file_sources, run_ingest
from search.backends import open_writer
from search.embedding import Embedder
from search.errors import IndexNotFoundError
from search.settings import Settings

log = logging.getLogger(__name__)


def ensure_index(
    settings: Settings, *, embedder: Embedder | None = None, show_progress: bool = True
) -> IngestReport | None:
    """Build the main index from `settings.sample_dir` when none exists (a Space's disk is
    ephemeral, and `python app.py` should work on a fresh checkout); None when one is there."""
    writer = open_writer(settings)
    writer.remove_leftovers()  # staging folders of writes killed before this start
    _, docs = writer.existing()
    if docs:
        return None
    sample = Path(settings.sample_dir)
    if not sample.is_dir():
        raise IndexNotFoundError(
            f"no index at {settings.index_dir} and no sample folder at {sample} to build one from: "
            f"run `python -m ingest PATH --index {settings.index_dir}`"
        )
    log.info("no index at %s: building it from %s", settings.index_dir, sample)
    sources, skipped = file_sources([sample], int(settings.max_file_mb * MB))
    report = run_ingest(
        sources, writer, settings, embedder=embedder, prune=True, skipped=skipped, show_progress=show_progress
    )
    log.info("%s", report.summary())
    return report
