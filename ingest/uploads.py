"""Uploaded files into an upload folder under safe names, and the ingest sources for them.

A name from a browser or an API client is untrusted: it is reduced to a safe base name that cannot
leave its folder, and checked once more after resolving, before anything is written.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from ingest.formats import KINDS
from ingest.load import MB, SUPPORTED_SUFFIXES, default_doc_id, file_hash, load_file
from ingest.pipeline import Source

#: Uploaded names keep letters, digits, dot, dash, underscore and space; anything else becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._\- ]+")

MAX_NAME_CHARS = 120


def safe_filename(name: str) -> str:
    """A file name that cannot leave its folder: the last path component only (either slash), NFKC
    normalised, unsafe characters replaced, no leading dots, at most `MAX_NAME_CHARS` characters,
    and the suffix lower-cased so `.PDF` is recognised."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base).replace("\x00", "")
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"_+", "_", stem).strip(" ._") or "upload"
    suffix = suffix.lower()[:10]
    stem = stem[: MAX_NAME_CHARS - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


def inside(folder: Path, path: Path) -> bool:
    """True when `path` resolves to somewhere inside `folder` (symlinks and `..` followed)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def stage_uploads(
    paths: Iterable[str | Path], folder: Path, max_bytes: int
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Copy uploaded temp files into `folder` under safe names; refuse what is too big or of an
    unsupported type. Returns the staged paths and (name, reason) for each refused file.

    Two uploads with the same safe name in one batch get `-2`, `-3`, ...; a name already in the
    folder is replaced (re-uploading a file updates it in the index)."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[Path] = []
    skipped: list[tuple[str, str]] = []
    taken: set[str] = set()
    for raw in paths:
        src = Path(raw)
        name = safe_filename(src.name)
        suffix = Path(name).suffix
        if suffix not in SUPPORTED_SUFFIXES:
            kind = f"{suffix} files" if suffix else "files without an extension"
            skipped.append((name, f"unsupported file type: {kind} cannot be indexed ({KINDS} only)"))
            continue
        try:
            size = src.stat().st_size
        except OSError as exc:
            skipped.append((name, f"cannot read the upload: {exc.strerror or exc}"))
            continue
        if size > max_bytes:
            skipped.append((name, f"file is {size / MB:.1f} MB, over the {max_bytes / MB:g} MB upload limit"))
            continue
        stem, n = Path(name).stem, 2
        while name in taken:
            name = f"{stem}-{n}{suffix}"
            n += 1
        taken.add(name)
        target = folder / name
        if not inside(folder, target):  # cannot happen with safe names; refuse rather than trust it
            skipped.append((name, "refused: the file name points outside the upload folder"))
            continue
        tmp = folder / f".{name}.part"
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
        staged.append(target)
    return staged, skipped


def upload_sources(paths: Sequence[Path], max_bytes: int) -> list[Source]:
    """Ingest sources for staged uploads, cited by file name alone: the folder (which carries the
    session's key) never reaches results or error messages."""
    sources = []
    for path in paths:
        doc_id = default_doc_id(path)
        name = path.name
        sources.append(
            Source(
                doc_id,
                name,
                file_hash(path),
                lambda p=path, n=name, d=doc_id: load_file(p, max_bytes=max_bytes, doc_id=d, source=n),
                path=path,
                max_bytes=max_bytes,
            )
        )
    return sources
