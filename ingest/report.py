"""What one ingest run did, file by file: the report the CLI prints and the app shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    #: pages (and images) read by OCR in this run, and the seconds OCR took
    ocr_pages: int = 0
    ocr_seconds: float = 0.0
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
        if self.ocr_pages:
            lines.append(
                f"  OCR: {self.ocr_pages} page{'s' if self.ocr_pages != 1 else ''} read in "
                f"{self.ocr_seconds:.1f}s ({self.ocr_seconds / self.ocr_pages:.1f}s a page)"
            )
        lines += [f"  skipped {name}: {reason}" for name, reason in self.skipped]
        lines += [f"  note {name}: {note}" for name, note in self.warnings]
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items())
        lines.append(f"  time: {phases}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}
