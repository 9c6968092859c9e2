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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ingest.chunk import Chunker
from ingest.embed import BackgroundEmbedder
from ingest.isolate import IngestCancelled, load_isolated
from ingest.load import (
    Document,
    LoadError,
    default_doc_id,
    discover,
    doc_id_of_resolved,
    file_hash,
    load_file,
)
from search.backends.base import DocumentInfo, DocumentUpdate, IndexWriter
from search.embedding import Embedder, make_embedder
from search.models import Chunk
from search.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Source:
    """Something to index: an id, a content hash to compare, and how to load it when needed."""

    doc_id: str
    source: str
    content_hash: str
    load: Callable[[], Document]
    #: A file on disk: then the ingest loads it itself, with the settings' limits and isolation
    #: (`load` is used only for sources that are not plain files).
    path: Path | None = None
    max_bytes: int = 0


@dataclass
class IngestReport:
    index_dir: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: (source, note) for files that went in only in part: pages left out, text cut at a limit.
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: indexed documents not among the sources, kept because `prune` was off
    kept_missing: list[str] = field(default_factory=list)
    documents: int = 0
    pages: int = 0
    chunks: int = 0
    new_chunks: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    rebuilt: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        lines = [
            f"index {self.index_dir}: {self.documents} documents, {self.pages} pages, {self.chunks} chunks",
            f"  added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
            f"unchanged {self.unchanged}, skipped {len(self.skipped)}; {self.new_chunks} chunks embedded"
            + (" (full rebuild)" if self.rebuilt else ""),
        ]
        if not self.changed:
            lines.append("  index is up to date; nothing written")
        lines += [f"  skipped {name}: {reason}" for name, reason in self.skipped]
        lines += [f"  note {name}: {note}" for name, note in self.warnings]
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items())
        lines.append(f"  time: {phases}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def file_sources(paths: Sequence[Path], max_bytes: int) -> tuple[list[Source], list[tuple[str, str]]]:
    """Sources for files and folders; unsupported or missing paths come back as (name, reason)."""
    files, skipped = discover([Path(p) for p in paths])
    doc_ids = _DocIds()
    sources = []
    for path in files:
        doc_id = doc_ids(path)
        try:
            digest = file_hash(path)
        except OSError as exc:
            skipped.append((path, f"cannot read: {exc.strerror or exc}"))
            continue
        sources.append(Source(doc_id, str(path), digest, _loader(path, max_bytes, doc_id), path, max_bytes))
    return sources, [(str(p), reason) for p, reason in skipped]


class _DocIds:
    """`default_doc_id` for many files at the cost of one `Path.resolve` per folder, not per file.

    `Path.resolve` checks every component of a path, and per file it was most of an unchanged
    re-run's time. A file that is not a symlink resolves to its resolved folder plus its name, so
    the id is hashed from that. The first file of each folder is checked against `default_doc_id`
    itself; if they ever disagree (the id scheme changed), that folder uses `default_doc_id`.
    """

    def __init__(self) -> None:
        self._folders: dict[Path, Path | None] = {}

    def __call__(self, path: Path) -> str:
        if path.is_symlink():
            return default_doc_id(path)
        parent = path.parent
        if parent not in self._folders:
            expected = default_doc_id(path)
            folder = parent.resolve()
            self._folders[parent] = folder if doc_id_of_resolved(folder / path.name) == expected else None
            return expected
        folder = self._folders[parent]
        return default_doc_id(path) if folder is None else doc_id_of_resolved(folder / path.name)


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
        dropped = set(remove)
        if prune:
            dropped |= set(old_docs) - seen
        keep |= {d for d in old_docs if d not in seen and d not in dropped}
        report.seconds["scan"] = time.perf_counter() - t_start

        updates, failed = _prepare(todo, settings, embedder, chunker, report, show_progress, cancelled)
        for doc_id in failed:  # keep the last good version of a file that now fails to load
            if doc_id in old_docs and not rebuild:
                keep.add(doc_id)
                dropped.discard(doc_id)
                report.skipped = [
                    (n, f"{r} (kept the version indexed before)" if n == old_docs[doc_id].source else r)
                    for n, r in report.skipped
                ]
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
    for src in tqdm(todo, desc="load + chunk", unit="file", disable=not show_progress):
        _check(cancelled)
        try:
            doc = _load(src, settings, cancelled)
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


def _load(src: Source, settings: Settings, cancelled: Callable[[], bool] | None) -> Document:
    """A file source with the settings' limits, in a worker process if `isolate_loading`."""
    if src.path is None:
        return src.load()
    if not settings.isolate_loading:
        return load_file(
            src.path,
            max_bytes=src.max_bytes,
            doc_id=src.doc_id,
            source=src.source,
            max_pages=settings.max_pdf_pages,
            max_chars=settings.max_file_chars,
        )
    return load_isolated(
        src.path,
        max_bytes=src.max_bytes,
        doc_id=src.doc_id,
        source=src.source,
        max_pages=settings.max_pdf_pages,
        max_chars=settings.max_file_chars,
        timeout_s=settings.load_timeout_s,
        memory_mb=settings.load_memory_mb,
        cancelled=cancelled,
    )


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


def _loader(path: Path, max_bytes: int, doc_id: str) -> Callable[[], Document]:
    return lambda: load_file(path, max_bytes=max_bytes, doc_id=doc_id, source=str(path))


def _reason(exc: LoadError, source: str) -> str:
    """The report lists the file name apart from the reason, so keep only the reason."""
    return getattr(exc, "reason", "") or str(exc).removeprefix(f"{source}: ")
