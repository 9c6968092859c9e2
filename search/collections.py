"""Named collections: separate indexes side by side, chosen by name.

The default index (`Settings.index_dir`, `data/index`) is the collection named `main`; every other
collection NAME lives in `Settings.collections_dir / NAME` (`data/collections/NAME`). Names are
plain folder names (letters, digits, `.`, `_`, `-`, starting with a letter or digit), so a name can
never point outside the collections folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from search.settings import Settings

#: The default index's collection name.
MAIN = "main"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """One collection as listed: where it is and what it holds (`error` says why it cannot be read)."""

    name: str
    index_dir: Path
    documents: int = 0
    chunks: int = 0
    pages: int = 0
    built_at: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "index_dir": str(self.index_dir)}


def validate_name(name: str) -> str:
    """`name` if it is a valid collection name; `ValueError` saying what is allowed otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"invalid collection name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no path separators)"
        )
    return name


def collection_dir(settings: Settings, name: str) -> Path:
    """The index folder of collection `name` (`main` is `settings.index_dir`)."""
    if validate_name(name) == MAIN:
        return Path(settings.index_dir)
    return Path(settings.collections_dir) / name


def for_collection(settings: Settings, name: str) -> Settings:
    """`settings` pointing at collection `name`'s index."""
    return replace(settings, index_dir=collection_dir(settings, name))


def list_collections(settings: Settings) -> list[CollectionInfo]:
    """`main` (when built), then every folder under `collections_dir` that holds an index, by name.

    Reads only each index's small pointer and manifest, never its chunks or vectors. A collection
    whose index is damaged or of another format is listed with `error` set rather than left out.
    """
    found = []
    if (Path(settings.index_dir) / "CURRENT").is_file():
        found.append(_info(MAIN, Path(settings.index_dir)))
    root = Path(settings.collections_dir)
    if root.is_dir():
        for folder in sorted(root.iterdir(), key=lambda p: p.name):
            if folder.is_dir() and _NAME.fullmatch(folder.name) and (folder / "CURRENT").is_file():
                found.append(_info(folder.name, folder))
    return found


def _info(name: str, index_dir: Path) -> CollectionInfo:
    from search.backends.local import store
    from search.errors import SearchError

    try:
        manifest = store.read_manifest(store.current_version(index_dir))
    except (SearchError, OSError, ValueError) as exc:
        return CollectionInfo(name, index_dir, error=str(exc))
    counts = manifest.get("counts", {})
    return CollectionInfo(
        name,
        index_dir,
        documents=int(counts.get("documents", len(manifest.get("documents", [])))),
        chunks=int(counts.get("chunks", 0)),
        pages=int(counts.get("pages", 0)),
        built_at=str(manifest.get("built_at", "")),
    )


def format_table(collections: list[CollectionInfo]) -> str:
    """The listing as a small text table (one line per collection), for the command lines."""
    if not collections:
        return "no collections yet: build one with `python -m ingest PATH [--collection NAME]`"
    width = max(len(c.name) for c in collections)
    lines = [f"{'collection':<{max(width, 10)}}  {'documents':>9}  {'chunks':>8}  index"]
    for c in collections:
        if c.error:
            lines.append(f"{c.name:<{max(width, 10)}}  {'-':>9}  {'-':>8}  {c.index_dir}  ({c.error})")
        else:
            lines.append(f"{c.name:<{max(width, 10)}}  {c.documents:>9}  {c.chunks:>8}  {c.index_dir}")
    return "\n".join(lines)


def missing_message(settings: Settings, name: str) -> str:
    """What to say when collection `name` has no index (`settings` may point at it): the command that
    builds it, and the collections that exist (by `--collection` name)."""
    main = replace(settings, index_dir=Settings.from_env().index_dir)  # --index and --collection exclude
    names = [c.name for c in list_collections(main) if not c.error]
    there = f"the collections here: {', '.join(names)}" if names else "there are no collections yet"
    return (
        f"no collection named {name!r}: {there} (`python -m ingest --list`); pick one with "
        f"`--collection NAME`, or build this one with `python -m ingest PATH --collection {name}`"
    )


def to_json(collections: list[CollectionInfo]) -> str:
    return json.dumps([c.to_dict() for c in collections], indent=1)


def settings_from_cli(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Settings:
    """Settings from the environment and the command line's flags, aimed at `--collection` when
    given; a bad value ends the command with argparse's usage error naming it."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env().with_args(args)
        if getattr(args, "collection", None) is not None:
            settings = for_collection(settings, args.collection)
    except ValueError as exc:
        parser.error(str(exc))
    return settings
