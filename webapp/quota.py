"""Storage limits for uploads on a shared server: documents and bytes per session, bytes in all.

A file over a limit is refused with a reason naming the limit; the rest of the upload goes in. When
all sessions together would pass the global cap, the sessions idle longest are evicted first."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ingest.load import MB
from ingest.uploads import safe_filename


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under `folder` (0 when it does not exist)."""
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
    return total


def admit(
    paths: Sequence[str | Path],
    indexed: int,
    used_bytes: int,
    *,
    max_documents: int,
    max_mb: float,
    known: set[str] = frozenset(),  # type: ignore[assignment]
) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files a session may still add, in order, and (name, reason) for each refused one.
    `indexed` documents and `used_bytes` are what the session already holds; re-uploading a name it
    already has (an update) does not count as a new document."""
    admitted: list[Path] = []
    refused: list[tuple[str, str]] = []
    docs, used, cap = indexed, used_bytes, int(max_mb * MB)
    for raw in paths:
        path = Path(raw)
        name = safe_filename(path.name)
        try:
            size = path.stat().st_size
        except OSError:
            admitted.append(path)  # staging reports the unreadable file with its reason
            continue
        new_doc = name not in known
        if new_doc and docs + 1 > max_documents:
            refused.append((name, f"this session already holds {docs} documents (max_session_documents)"))
            continue
        if used + size > cap:
            refused.append((name, f"session storage would pass {max_mb:g} MB (max_session_mb)"))
            continue
        admitted.append(path)
        docs += int(new_doc)
        used += size
    return admitted, refused
