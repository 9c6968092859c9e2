"""What an ingest reads: files and folders as sources with a stable id, a content hash (to skip what
is unchanged) and a way to load them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.load import Document, default_doc_id, discover, doc_id_of_resolved, file_hash, load_file


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


def _loader(path: Path, max_bytes: int, doc_id: str) -> Callable[[], Document]:
    return lambda: load_file(path, max_bytes=max_bytes, doc_id=doc_id, source=str(path))
