"""The sample index, built on first start when missing (a Space's disk is ephemeral), with its
relevance judgments beside it; the sample PDFs are generated first when missing (they are made by
data/make_sample_pdfs.py and not committed: the Hub rejects binary files outside LFS)."""

from __future__ import annotations

import importlib.util
import logging
import os
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
        _judge_existing_sample(settings)
        return None
    sample = Path(settings.sample_dir)
    if not sample.is_dir():
        raise IndexNotFoundError(
            f"no index at {settings.index_dir} and no sample folder at {sample} to build one from: "
            f"run `python -m ingest PATH --index {settings.index_dir}`"
        )
    log.info("no index at %s: building it from %s", settings.index_dir, sample)
    ensure_sample_pdfs(sample)
    sources, skipped = file_sources([sample], int(settings.max_file_mb * MB))
    report = run_ingest(
        sources, writer, settings, embedder=embedder, prune=True, skipped=skipped, show_progress=show_progress
    )
    log.info("%s", report.summary())
    queries = sample_queries_path(sample)
    if queries.is_file():
        from ingest.sample_judgments import make_sample_judgments
        from search.backends import open_backend

        path = make_sample_judgments(open_backend(settings), settings.index_dir, sample, queries)
        log.info("sample judgments written to %s", path)
    return report


def _judge_existing_sample(settings: Settings) -> None:
    """An index of the sample built before judgments shipped gets them (best effort: a sample index
    that no longer matches the queries keeps running without them, with a warning)."""
    from ingest.sample_judgments import SPLIT, SampleJudgmentError, make_sample_judgments
    from search import judgments
    from search.backends import open_backend

    sample, queries = Path(settings.sample_dir), sample_queries_path(Path(settings.sample_dir))
    if not queries.is_file() or SPLIT in judgments.available_splits(settings.index_dir):
        return
    backend = open_backend(settings)
    root = sample.resolve()
    if not all(Path(d.source).resolve().is_relative_to(root) for d in backend.documents()):
        return  # not the sample index
    try:
        make_sample_judgments(backend, settings.index_dir, sample, queries)
    except (SampleJudgmentError, OSError) as exc:
        log.warning("sample judgments not written: %s", exc)


def sample_queries_path(sample_dir: Path) -> Path:
    """data/sample_queries.json, beside the sample folder."""
    return Path(sample_dir).parent / "sample_queries.json"


def ensure_sample_pdfs(sample_dir: Path) -> list[Path]:
    """Write the sample PDFs into `<sample_dir>/reports` when any is missing, with the generator
    beside the sample folder (data/make_sample_pdfs.py); returns the files written. Without the
    generator (a custom sample folder) nothing is done."""
    script = Path(sample_dir).parent / "make_sample_pdfs.py"
    if not script.is_file():
        return []
    spec = importlib.util.spec_from_file_location("make_sample_pdfs", script)
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = Path(sample_dir) / "reports"
    written = []
    for file_name, title, author, subject, pages in module.DOCUMENTS:
        path = out / file_name
        if path.is_file():
            continue
        out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{file_name}.{os.getpid()}.tmp")
        tmp.write_bytes(module.build_pdf(title, author, subject, pages))
        os.replace(tmp, path)  # atomic: a reader never sees half a PDF
        written.append(path)
    if written:
        log.info("generated %d sample PDFs in %s", len(written), out)
    return written
