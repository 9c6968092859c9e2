"""Storage limits for uploads on a shared server: documents and bytes per session, bytes per client
address (all its sessions), bytes in all.

A file over a limit is refused with a reason naming the limit; the rest of the upload goes in. When
all sessions together would pass the global cap, sessions not in use are evicted, idlest first
(`Sessions.evict_idle`); sessions in use never are."""

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


def admit_client(
    paths: Sequence[Path], used_bytes: int, *, max_mb: float
) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files one client address may still add, with `used_bytes` already held by all its
    sessions (a new session each call must not multiply the per-session limit)."""
    admitted: list[Path] = []
    refused: list[tuple[str, str]] = []
    used, cap = used_bytes, int(max_mb * MB)
    for path in paths:
        try:
            size = path.stat().st_size
        except OSError:
            admitted.append(path)
            continue
        if used + size > cap:
            reason = f"uploads from your address would pass {max_mb:g} MB in all its sessions (max_client_mb)"
            refused.append((safe_filename(path.name), reason))
            continue
        admitted.append(path)
        used += size
    return admitted, refused
