"""One ingest run: find sources, skip what is unchanged, load → chunk → embed the rest, commit.

Incremental by content hash: a source whose hash matches the index is kept as it is (its chunks and
vectors are reused), a new or changed one is embedded, and only with `prune` is a document no longer
among the sources removed (without it, such documents are kept and listed in `kept_missing`). A
source that fails to load is reported by name and, if an earlier version of it is indexed, that
version is kept: bad input never loses what was stored.

Work is bounded: files load in a worker process with a time and memory limit (`isolate_loading`),
a file is cut at `max_pdf_pages` / `max_file_chars` and refused past `max_ingest_chunks` in one
run, each with a reason naming the limit in the report; `cancelled()` is checked between files and
between embedding batches, and a cancelled ingest writes nothing (the previous index stays).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePath
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ingest.chunk import Chunker
from ingest.embed import BackgroundEmbedder
from ingest.formats import ReadLimits
from ingest.isolate import IngestCancelled, load_isolated
from ingest.load import (
    Document,
    LoadError,
    load_file,
)
from ingest.report import IngestReport
from ingest.sources import Source, file_sources
from search.backends.base import DocumentInfo, DocumentUpdate, IndexWriter
from search.embedding import Embedder, make_embedder
from search.models import Chunk
from search.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["IngestReport", "Source", "file_sources", "run_ingest"]


def run_ingest(
    sources: Iterable[Source],
    writer: IndexWriter,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    chunker: Chunker | None = None,
    rebuild: bool = False,
    prune: bool = False,
    remove: Iterable[str] = (),
    skipped: Sequence[tuple[str, str]] = (),
    manifest_extra: dict[str, Any] | None = None,
    show_progress: bool = True,
    cancelled: Callable[[], bool] | None = None,
) -> IngestReport:
    """Add new and changed `sources` to the index and commit once. `prune` also removes indexed
    documents not among `sources` (the index then mirrors them); `remove` names doc_ids to drop.

    `cancelled` (e.g. "has the client gone?") is checked between files and embedding batches;
    when it turns true, `IngestCancelled` is raised and nothing is written."""
    t_start = time.perf_counter()
    report = IngestReport(index_dir=str(settings.index_dir), skipped=list(skipped))
    sources = list(sources)
    with writer.locked():
        old_manifest, old_docs = writer.existing()
        if old_docs and not rebuild and _params(old_manifest, settings) != _params_for(settings):
            log.info("embedding or chunking settings changed since the last build: re-embedding everything")
            rebuild = True
        report.rebuilt = rebuild and bool(old_docs)

        todo, keep, seen, dropped = _plan(sources, old_docs, rebuild, set(remove), prune, report)
        report.seconds["scan"] = time.perf_counter() - t_start

        updates, failed = _prepare(todo, settings, embedder, chunker, report, show_progress, cancelled)
        if not rebuild:
            _keep_failed(failed, old_docs, keep, dropped, report)
        report.removed = sorted(old_docs[d].source for d in dropped if d in old_docs)
        report.kept_missing = sorted(old_docs[d].source for d in keep if d not in seen)
        for update in updates:
            (report.updated if update.info.doc_id in old_docs else report.added).append(update.info.source)

        if report.changed or report.rebuilt:
            _check(cancelled)
            t0 = time.perf_counter()
            manifest = {**old_manifest, **_params_for(settings), **(manifest_extra or {})}
            manifest["embedding"]["dim"] = _dim(updates, old_manifest, embedder, settings)
            writer.commit(keep - dropped, updates, manifest)
            report.seconds["write"] = time.perf_counter() - t0
        final_docs = writer.existing()[1]
    report.documents = len(final_docs)
    report.pages = sum(d.pages for d in final_docs.values())
    report.chunks = sum(d.chunks for d in final_docs.values())
    report.seconds["total"] = time.perf_counter() - t_start
    return report


def _plan(
    sources: list[Source],
    old_docs: dict[str, DocumentInfo],
    rebuild: bool,
    dropped: set[str],
    prune: bool,
    report: IngestReport,
) -> tuple[list[Source], set[str], set[str], set[str]]:
    """(sources to load, documents to keep, documents seen, documents to drop): unchanged ones are
    kept as they are; documents not among the sources go only with `prune` (or `remove`)."""
    todo: list[Source] = []
    keep: set[str] = set()
    seen: set[str] = set()
    for src in sources:
        seen.add(src.doc_id)
        old = old_docs.get(src.doc_id)
        if old is not None and old.content_hash == src.content_hash and not rebuild:
            keep.add(src.doc_id)
            report.unchanged += 1
        else:
            todo.append(src)
    if prune:
        dropped |= set(old_docs) - seen
    keep |= {d for d in old_docs if d not in seen and d not in dropped}
    return todo, keep, seen, dropped


def _keep_failed(
    failed: set[str],
    old_docs: dict[str, DocumentInfo],
    keep: set[str],
    dropped: set[str],
    report: IngestReport,
) -> None:
    """Keep the last good version of a file that now fails to load, and say so in its reason."""
    for doc_id in failed:
        if doc_id in old_docs:
            keep.add(doc_id)
            dropped.discard(doc_id)
            report.skipped = [
                (n, f"{r} (kept the version indexed before)" if n == old_docs[doc_id].source else r)
                for n, r in report.skipped
            ]


def _prepare(
    todo: list[Source],
    settings: Settings,
    embedder: Embedder | None,
    chunker: Chunker | None,
    report: IngestReport,
    show_progress: bool,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[list[DocumentUpdate], set[str]]:
    """Load and chunk every source to do; their chunks are embedded on a background thread while
    the next files are loaded and chunked (`ingest.embed`)."""
    if not todo:
        return [], set()
    t0 = time.perf_counter()
    embedder = embedder or make_embedder(settings, lazy=True)  # loads only if a chunk comes
    # Without a cancellation hook (the CLI, big corpora) chunks are embedded on a background thread
    # while the next files load; with one (app uploads) in groups, checking between them.
    background = BackgroundEmbedder(embedder, show_progress=show_progress) if cancelled is None else None
    try:
        submit = background.submit if background is not None else None
        loaded, failed = _load_and_chunk(todo, settings, chunker, report, show_progress, cancelled, submit)
        t1 = time.perf_counter()
        report.seconds["load+chunk"] = t1 - t0
        if not loaded:
            return [], failed
        if background is not None:
            matrix = background.finish()  # waits for the windows still in the model
        else:
            texts = [c.indexed_text() for _, _, chunks in loaded for c in chunks]
            matrix = _embed(embedder, texts, show_progress, cancelled, max(1, settings.embed_batch_size) * 8)
        report.seconds["embed"] = time.perf_counter() - t1
    finally:
        if background is not None:
            background.close()
    report.new_chunks = sum(len(chunks) for _, _, chunks in loaded)
    updates, row = [], 0
    for src, doc, chunks in loaded:
        info = DocumentInfo(
            doc_id=src.doc_id,
            source=src.source,
            title=doc.title,
            content_hash=src.content_hash,
            pages=len(doc.pages) if doc.paged else 0,
            chunks=len(chunks),
        )
        updates.append(DocumentUpdate(info, chunks, matrix[row : row + len(chunks)]))
        row += len(chunks)
    return updates, failed


def _load_and_chunk(
    todo: list[Source],
    settings: Settings,
    chunker: Chunker | None,
    report: IngestReport,
    show_progress: bool,
    cancelled: Callable[[], bool] | None,
    submit: Callable[[list[str]], None] | None = None,
) -> tuple[list[tuple[Source, Document, list[Chunk]]], set[str]]:
    """Documents and their chunks, each file's chunk texts handed to `submit` as soon as it is
    chunked; a file that fails or would pass `max_ingest_chunks` is skipped with its reason, and
    the notes of files cut at a limit go to `report.warnings`."""
    chunker = chunker or Chunker.for_model(
        settings.embedding_model, settings.chunk_tokens, settings.chunk_overlap, settings.chunk_max_chars
    )
    limit = settings.max_ingest_chunks
    loaded = []
    failed: set[str] = set()
    total = 0
    ocr_cap = settings.max_ocr_pages_per_ingest
    for src in tqdm(todo, desc="load + chunk", unit="file", disable=not show_progress):
        _check(cancelled)
        ocr_left = max(0, ocr_cap - report.ocr_pages) if ocr_cap > 0 else None
        try:
            doc = _load(src, settings, cancelled, ReadLimits.of(settings, ocr_left), show_progress)
            report.ocr_pages += doc.ocr_pages
            report.ocr_seconds += doc.ocr_seconds
            chunks = chunker.chunk(doc)
            if not chunks:
                raise LoadError(src.source, "no text to index")
            if 0 < limit < total + len(chunks):
                raise LoadError(
                    src.source,
                    f"refused: its {len(chunks):,} chunks would take this ingest past {limit:,} "
                    f"chunks (limit max_ingest_chunks={limit})",
                )
        except LoadError as exc:
            report.skipped.append((src.source, _reason(exc, src.source)))
            failed.add(src.doc_id)
            continue
        total += len(chunks)
        report.warnings += [(src.source, note) for note in doc.notes]
        loaded.append((src, doc, chunks))
        if submit is not None:
            submit([c.indexed_text() for c in chunks])
    return loaded, failed


def _load(
    src: Source,
    settings: Settings,
    cancelled: Callable[[], bool] | None,
    read_limits: ReadLimits | None = None,
    show_progress: bool = False,
) -> Document:
    """A file source with the settings' limits, in a worker process if `isolate_loading`; pages
    OCR'd show as a bar of their own (the app's progress follows tqdm)."""
    if src.path is None:
        return src.load()
    limits = {
        "max_bytes": src.max_bytes,
        "doc_id": src.doc_id,
        "source": src.source,
        "max_pages": settings.max_pdf_pages,
        "max_chars": settings.max_file_chars,
        "limits": read_limits or ReadLimits.of(settings),
    }
    with _PageBar(src.source, show_progress) as bar:
        if not settings.isolate_loading:
            return load_file(src.path, **limits, progress=bar.update)
        return load_isolated(
            src.path,
            **limits,
            timeout_s=settings.load_timeout_s,
            memory_mb=settings.load_memory_mb,
            cancelled=cancelled,
            progress=bar.update,
        )


class _PageBar:
    """A tqdm bar of pages OCR'd in one file, opened at its first page (most files have none)."""

    def __init__(self, source: str, show: bool) -> None:
        self.name, self.show, self.bar = PurePath(source).name, show, None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, desc=f"OCR {self.name}", unit="page", disable=not self.show)
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> _PageBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _embed(
    embedder: Embedder,
    texts: list[str],
    show_progress: bool,
    cancelled: Callable[[], bool] | None,
    group: int,
) -> np.ndarray:
    """All vectors in one call, or, with a cancellation hook, in groups with a check between."""
    if cancelled is None:
        return embedder.embed(texts, show_progress=show_progress)
    parts = []
    for start in tqdm(range(0, len(texts), group), desc="embed", unit="batch", disable=not show_progress):
        _check(cancelled)
        parts.append(embedder.embed(texts[start : start + group]))
    _check(cancelled)
    return np.concatenate(parts)


def _check(cancelled: Callable[[], bool] | None) -> None:
    if cancelled is not None and cancelled():
        raise IngestCancelled("the ingest was cancelled; the index is unchanged")


def _params_for(settings: Settings) -> dict[str, Any]:
    return {
        "embedding": {"model": settings.embedding_model},
        "chunking": {
            "tokens": settings.chunk_tokens,
            "overlap": settings.chunk_overlap,
            "max_chars": settings.chunk_max_chars,
        },
    }


def _params(manifest: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The build parameters an index records. An index from before the character cap records none:
    it counts as built with the current cap (only files with runs over the cap differ, and those
    are re-chunked when they change), so upgrading does not re-embed everything."""
    emb = manifest.get("embedding", {})
    chunking = dict(manifest.get("chunking") or {})
    if chunking:
        chunking.setdefault("max_chars", settings.chunk_max_chars)
    return {"embedding": {"model": emb.get("model")}, "chunking": chunking or None}


def _dim(
    updates: list[DocumentUpdate], old: dict[str, Any], embedder: Embedder | None, settings: Settings
) -> int:
    if updates:
        return int(updates[0].vectors.shape[1])
    if old.get("embedding", {}).get("dim") and old["embedding"].get("model") == settings.embedding_model:
        return int(old["embedding"]["dim"])
    embedder = embedder or make_embedder(settings)
    return embedder.dim


def _reason(exc: LoadError, source: str) -> str:
    """The report lists the file name apart from the reason, so keep only the reason."""
    return getattr(exc, "reason", "") or str(exc).removeprefix(f"{source}: ")
