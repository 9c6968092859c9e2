"""What an upload did and what a collection holds, as HTML for the app and JSON for `/ingest`."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from ingest.formats import KINDS, SUPPORTED_SUFFIXES
from ingest.pipeline import IngestReport
from search.backends import DocumentInfo

#: What the upload box accepts, and says it accepts.
UPLOAD_TYPES = sorted(SUPPORTED_SUFFIXES)
UPLOAD_KINDS = KINDS


def ingest_html(report: IngestReport, collection: str) -> str:
    """What an upload did, file by file: indexed, unchanged, or refused and why (by name)."""
    parts = []
    done = [*report.added, *report.updated]
    if done:
        names = ", ".join(html.escape(n) for n in done)
        parts.append(f'<div><span class="hs-ok">✓</span> Indexed {_count(len(done), "file")}: {names}.</div>')
    if report.unchanged:
        parts.append(
            f"<div>= {_count(report.unchanged, 'file')} already indexed with the same content.</div>"
        )
    for name, reason in report.skipped:
        shown = html.escape(PurePath(name).name)
        parts.append(f'<div><span class="hs-bad">✗</span> <b>{shown}</b>: {html.escape(reason)}</div>')
    for name, note in report.warnings:
        shown = html.escape(PurePath(name).name)
        parts.append(f'<div><span class="hs-bad">!</span> <b>{shown}</b>: {html.escape(note)}</div>')
    if report.ocr_pages:
        parts.append(
            f"<div>OCR read {_count(report.ocr_pages, 'page')} in {report.ocr_seconds:.0f} s "
            f"({report.ocr_seconds / report.ocr_pages:.1f} s a page).</div>"
        )
    if not done and report.skipped:
        parts.append("<div>Nothing was added; the index is as it was.</div>")
    parts.append(
        f'<div class="hs-hint">{html.escape(collection)} now holds {_count(report.documents, "document")}, '
        f"{_count(report.pages, 'page')}, {_count(report.chunks, 'passage')}.</div>"
    )
    return '<div class="hs-foot">' + "".join(parts) + "</div>"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def ingest_json(report: IngestReport, collection: str) -> dict[str, Any]:
    """`/ingest`'s answer: per-file outcome and the collection's new size."""
    return {
        "collection": collection,
        "added": list(report.added),
        "updated": list(report.updated),
        "unchanged": report.unchanged,
        "skipped": [{"file": PurePath(n).name, "reason": r} for n, r in report.skipped],
        "warnings": [{"file": PurePath(n).name, "note": note} for n, note in report.warnings],
        "documents": report.documents,
        "pages": report.pages,
        "chunks": report.chunks,
        "ocr_pages": report.ocr_pages,
        "ocr_seconds": round(report.ocr_seconds, 3),
        "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
    }


def document_rows(docs: Sequence[DocumentInfo]) -> list[list[Any]]:
    """Rows of the documents table: file, title, pages (blank for unpaged text), passages."""
    rows = [[PurePath(d.source).name, d.title, d.pages or "", d.chunks] for d in docs]
    return sorted(rows, key=lambda r: str(r[0]).lower())
