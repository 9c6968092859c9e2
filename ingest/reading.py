"""Reading one file source for an ingest: the settings' limits, a worker process when
`isolate_loading` (so one hostile file cannot stall the server), and progress of pages OCR'd."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from tqdm.auto import tqdm

from ingest.formats import ReadLimits
from ingest.isolate import load_isolated
from ingest.load import Document, load_file
from ingest.sources import Source
from search.settings import Settings


def load_source(
    src: Source,
    settings: Settings,
    cancelled: Callable[[], bool] | None = None,
    read_limits: ReadLimits | None = None,
    show_progress: bool = False,
    words: Callable[[str, int, int], None] | None = None,
) -> Document:
    """A file source with the settings' limits, in a worker process if `isolate_loading`; pages
    OCR'd show as a bar of their own and in the app's progress words."""
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
    with _PageBar(src.source, show_progress, words) as bar:
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
    """Pages OCR'd in one file: a tqdm bar opened at its first page (most files have none), and
    the app's progress words ("OCR page 3 of 12: scan.pdf")."""

    def __init__(self, source: str, show: bool, words: Callable[[str, int, int], None] | None) -> None:
        self.name, self.show, self.words, self.bar = PurePath(source).name, show, words, None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, desc=f"OCR {self.name}", unit="page", disable=not self.show)
        self.bar.update(done - self.bar.n)
        if self.words is not None:
            self.words(f"OCR page {done} of {total}: {self.name}", done, total)

    def __enter__(self) -> _PageBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
