"""On-disk layout and atomic swap of the local index.

    <index_dir>/CURRENT        name of the live version folder (replaced atomically with os.replace)
    <index_dir>/v-<stamp>/     manifest.json, chunks.jsonl, embeddings.npy, vectors.faiss, bm25/
    <index_dir>/fusion.json    fusion parameters (kept across rebuilds; see search.fusion_store)
    <index_dir>/judgments/     relevance judgments kept beside the index (evaluation)

A new version is written completely into its own folder and fsynced before CURRENT is switched to
it, so a crash or kill at any moment leaves CURRENT naming a complete, loadable version. Readers
that loaded an older version keep working; the previous version is kept, older ones are removed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from search.atomic import fsync_dir, write_atomic
from search.errors import IndexMismatchError, IndexNotFoundError

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
EMBEDDINGS = "embeddings.npy"
VECTORS = "vectors.faiss"
BM25_DIR = "bm25"
KEEP_VERSIONS = 2


def current_version(index_dir: Path) -> Path:
    """The live version folder; raises IndexNotFoundError with the command that builds one."""
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexNotFoundError(
            f"no index at {index_dir}: build one with `python -m ingest PATH --index {index_dir}`"
        ) from None
    folder = index_dir / name
    if not name or "/" in name or not (folder / MANIFEST).is_file():
        raise IndexNotFoundError(f"index at {index_dir} is damaged (CURRENT names {name!r}): rebuild it")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {folder.parent} has format version {manifest.get('format_version')}, this program "
            f"reads version {FORMAT_VERSION}: rebuild it with `python -m ingest PATH --rebuild`"
        )
    return manifest


def new_version_folder(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time_ns() % 1_000_000_000:09d}"
    folder = index_dir / f".tmp-v-{stamp}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    return folder


def publish(index_dir: Path, staging: Path) -> Path:
    """Make a fully written staging folder the live version, atomically."""
    _fsync_tree(staging)
    final = index_dir / staging.name.removeprefix(".tmp-")
    os.replace(staging, final)
    write_atomic(index_dir / CURRENT, final.name + "\n")
    _prune(index_dir, keep=final.name)
    return final


def remove_leftovers(index_dir: Path) -> int:
    """Remove the staging folders (and CURRENT temp files) of writes that were interrupted; only
    call with the writer lock held, as a live writer's staging folder looks the same. Returns how
    many were removed."""
    removed = 0
    for stale in [*index_dir.glob(".tmp-v-*"), *index_dir.glob(f".{CURRENT}.*.tmp")]:
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
        removed += 1
    return removed


def _prune(index_dir: Path, keep: str) -> None:
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir()), key=lambda p: p.name)
    old = [p for p in versions if p.name != keep][: max(0, len(versions) - KEEP_VERSIONS)]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    for stale in index_dir.glob(".tmp-v-*"):
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    for path in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        fsync_dir(path)
