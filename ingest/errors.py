"""The error every reader raises for a file it cannot load: shared by `ingest.load` and the
format readers (`ingest.text`, `ingest.pdf`), so neither has to import the other."""

from __future__ import annotations

from pathlib import Path

from search.errors import DocumentError


class LoadError(DocumentError):
    """A file that cannot be indexed; `str()` is `<file>: <reason>` on one line.

    `LoadError(path, reason)` is the normal form; `LoadError(message)` is accepted too (then
    `.path` is None and `.reason` is the whole message).
    """

    def __init__(self, path: str | Path, reason: str | None = None) -> None:
        if reason is None:
            self.path: str | None = None
            self.reason = " ".join(str(path).split())
            super().__init__(self.reason)
        else:
            self.path = str(path)
            self.reason = " ".join(reason.split())
            super().__init__(f"{self.path}: {self.reason}")
