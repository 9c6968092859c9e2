"""One ingest run: find sources, skip what is unchanged, load → chunk → embed the rest, commit.

Incremental by content hash: a source whose hash matches the index is kept as it is (its chunks and
vectors are reused), a new or changed one is embedded, and only with `prune` is a document no longer
among the sources removed (without it, such documents are kept and listed in `kept_missing`). A
source that fails to load is reported by name and, if an earlier version of it is indexed, that
version is kept: bad input never loses what was stored.

Work is bounded: files load in a worker process with a time and memory limit (`isolate_loading`),
a file is cut at `max_pdf_pages` / `max_file_chars` and refused past the run's chunk budget
(`ingest.budget`), each with a reason naming the limit in the report; `cancelled()` is checked
between files and between embedding groups, and a cancelled ingest writes nothing (the previous
index stays). Past the budget's seconds the run is cut: what was embedded goes in. Junk text
(`ingest.junk`: mostly punctuation, one repeated token) is refused per file or left out per chunk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ingest import junk
from ingest.budget import Budget, cut_rows
from ingest.chunk import Chunker
from ingest.embed import BackgroundEmbedder
from ingest.formats import ReadLimits
from ingest.isolate import IngestCancelled
from ingest.load import (
    Document,
    LoadError,
)
from ingest.reading import load_source
from ingest.report import IngestReport
from ingest.sources import Source, file_sources
from search.backends.base import DocumentInfo, DocumentUpdate, IndexWriter
from search.embedding import Embedder, make_embedder
from search.models import Chunk
from search.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["IngestProgress", "IngestReport", "Source", "file_sources", "run_ingest"]

#: Progress for a person, in words: ("Reading file 2 of 5: report.pdf", 2, 5), ("Embedding 40 of 58
#: passages", 40, 58). Any step of the ingest may call it (a loader reading pages: "OCR page 3 of 12").
IngestProgress = Callable[[str, int, int], None]


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
    progress: IngestProgress | None = None,
    budget: Budget | None = None,
    embed_group: int = 0,
) -> IngestReport:
    """Add new and changed `sources` to the index and commit once. `prune` also removes indexed
    documents not among `sources`; `remove` names doc_ids to drop. `progress` hears each step in
    words. `cancelled` ("has the client gone?") is checked between files and groups of `embed_group`
    chunks (default `embed_batch_size` x 8): `IngestCancelled`, nothing written. `budget` (default:
    `max_ingest_chunks`, no time limit) bounds the new chunks and the seconds of this run."""
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

        budget, group = budget or Budget.for_cli(settings), embed_group or settings.embed_batch_size * 8
        work = _Work(settings, embedder, chunker, budget, max(1, group), show_progress, cancelled, progress)
        updates, failed = _prepare(todo, work, report)
        if not rebuild:
            _keep_failed(failed, old_docs, keep, dropped, report)
        report.removed = sorted(old_docs[d].source for d in dropped if d in old_docs)
        report.kept_missing = sorted(old_docs[d].source for d in keep if d not in seen)
        for update in updates:
            (report.updated if update.info.doc_id in old_docs else report.added).append(update.info.source)

        if report.changed or report.rebuilt:
            _check(cancelled)
            if progress is not None:
                progress("Writing the index", 1, 1)
            t0 = time.perf_counter()
            manifest = {**old_manifest, **_params_for(settings), **(manifest_extra or {})}
            manifest["embedding"]["dim"] = _dim(updates, old_manifest, embedder, settings)
            writer.commit(keep - dropped, updates, manifest)
            report.seconds["write"] = time.perf_counter() - t0
        final_docs = writer.existing()[1]
    return _totals(report, final_docs, t_start)


def _totals(report: IngestReport, docs: dict[str, DocumentInfo], t_start: float) -> IngestReport:
    """The index's counts after the run, and the run's total seconds."""
    report.documents = len(docs)
    report.pages = sum(d.pages for d in docs.values())
    report.chunks = sum(d.chunks for d in docs.values())
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


@dataclass(frozen=True)
class _Work:
    """What loading, chunking and embedding one run need, passed along as one."""

    settings: Settings
    embedder: Embedder | None
    chunker: Chunker | None
    budget: Budget
    group: int
    show_progress: bool
    cancelled: Callable[[], bool] | None
    progress: IngestProgress | None = None


def _prepare(todo: list[Source], work: _Work, report: IngestReport) -> tuple[list[DocumentUpdate], set[str]]:
    """Load and chunk every source to do; their chunks are embedded on a background thread while
    the next files are loaded and chunked (`ingest.embed`), or, with a cancellation hook (app
    uploads), in groups with a check of the hook and the time budget between them."""
    if not todo:
        return [], set()
    t0 = time.perf_counter()
    embedder = work.embedder or make_embedder(work.settings, lazy=True)  # loads only if a chunk comes
    background = None
    if work.cancelled is None and not work.budget.seconds:
        background = BackgroundEmbedder(embedder, show_progress=work.show_progress)
    try:
        submit = background.submit if background is not None else None
        loaded, failed = _load_and_chunk(todo, work, report, submit)
        t1 = time.perf_counter()
        report.seconds["load+chunk"] = t1 - t0
        if not loaded:
            return [], failed
        if background is not None:
            matrix = background.finish()  # waits for the windows still in the model
        else:
            texts = [c.indexed_text() for _, _, chunks in loaded for c in chunks]
            matrix = _embed(embedder, texts, work)
            if len(matrix) < len(texts):  # out of time: keep what was embedded
                loaded = _cut(loaded, len(matrix), work.budget, report, failed)
        report.seconds["embed"] = time.perf_counter() - t1
    finally:
        if background is not None:
            background.close()
    return _updates(loaded, matrix, report), failed


def _updates(
    loaded: list[tuple[Source, Document, list[Chunk]]], matrix: np.ndarray, report: IngestReport
) -> list[DocumentUpdate]:
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
    return updates


def _load_and_chunk(
    todo: list[Source],
    work: _Work,
    report: IngestReport,
    submit: Callable[[list[str]], None] | None = None,
) -> tuple[list[tuple[Source, Document, list[Chunk]]], set[str]]:
    """Documents and their chunks, each file's chunk texts handed to `submit` as soon as it is
    chunked; a file that fails, is junk, or would pass the chunk budget is skipped with its
    reason, and the notes of files cut at a limit go to `report.warnings`."""
    s = work.settings
    chunker = work.chunker or Chunker.for_model(
        s.embedding_model, s.chunk_tokens, s.chunk_overlap, s.chunk_max_chars
    )
    loaded = []
    failed: set[str] = set()
    total = 0
    ocr_cap = s.max_ocr_pages_per_ingest
    for number, src in enumerate(
        tqdm(todo, desc="load + chunk", unit="file", disable=not work.show_progress), 1
    ):
        _check(work.cancelled)
        if work.progress is not None:
            work.progress(f"Reading file {number} of {len(todo)}: {src.source}", number - 1, len(todo))
        ocr_left = max(0, ocr_cap - report.ocr_pages) if ocr_cap > 0 else None
        try:
            if work.budget.over_time():
                raise LoadError(src.source, work.budget.time_reason())
            doc = load_source(
                src, s, work.cancelled, ReadLimits.of(s, ocr_left), work.show_progress, work.progress
            )
            report.ocr_pages += doc.ocr_pages
            report.ocr_seconds += doc.ocr_seconds
            chunks, notes = _chunk(doc, chunker, s.junk_filter)
            refusal = work.budget.chunk_refusal(len(chunks), total)
            if refusal:
                raise LoadError(src.source, refusal)
        except LoadError as exc:
            report.skipped.append((src.source, _reason(exc, src.source)))
            failed.add(src.doc_id)
            continue
        total += len(chunks)
        report.warnings += [(src.source, note) for note in (*doc.notes, *notes)]
        loaded.append((src, doc, chunks))
        if submit is not None:
            submit([c.indexed_text() for c in chunks])
    return loaded, failed


def _chunk(doc: Document, chunker: Chunker, junk_filter: bool) -> tuple[list[Chunk], list[str]]:
    """A document's chunks (junk ones left out, with a note saying how many), or LoadError for a
    file with nothing to index; a file that is junk as a whole is refused before chunking."""
    reason = junk.file_junk_reason("\n".join(doc.pages)) if junk_filter else None
    if reason:
        raise LoadError(doc.source, reason)
    chunks = chunker.chunk(doc)
    if not chunks:
        raise LoadError(doc.source, "no text to index")
    if not junk_filter:
        return chunks, []
    kept, dropped = junk.drop_junk(chunks)
    if not kept:
        raise LoadError(doc.source, f"refused: no searchable text, {junk.dropped_note(dropped, len(chunks))}")
    return kept, [junk.dropped_note(dropped, len(chunks))] if dropped else []


def _embed(embedder: Embedder, texts: list[str], work: _Work) -> np.ndarray:
    """Vectors in groups of `work.group`, checking the cancellation hook before each; when the time
    budget runs out, the vectors so far (fewer rows than texts)."""
    parts, total = [], len(texts)
    bar = tqdm(range(0, total, work.group), desc="embed", unit="group", disable=not work.show_progress)
    for start in bar:
        _check(work.cancelled)
        if work.budget.over_time():
            break
        if work.progress is not None:
            work.progress(f"Embedding {start} of {total} passages", start, total)
        parts.append(embedder.embed(texts[start : start + work.group]))
    _check(work.cancelled)
    if work.progress is not None and parts:
        done = sum(len(p) for p in parts)
        work.progress(f"Embedding {done} of {total} passages", done, total)
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def _cut(
    loaded: list[tuple[Source, Document, list[Chunk]]],
    rows: int,
    budget: Budget,
    report: IngestReport,
    failed: set[str],
) -> list[tuple[Source, Document, list[Chunk]]]:
    """What the first `rows` vectors cover, the rest reported with the time budget's reason."""
    kept = []
    for (src, doc, chunks), n in zip(loaded, cut_rows([len(c) for _, _, c in loaded], rows), strict=True):
        if n == 0:
            report.skipped.append((src.source, budget.time_reason()))
            failed.add(src.doc_id)
            continue
        if n < len(chunks):
            report.warnings.append((src.source, budget.cut_note(n, len(chunks))))
        kept.append((src, doc, chunks[:n]))
    return kept


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
