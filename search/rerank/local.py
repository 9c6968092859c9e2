"""Where a model's files are on this disk, read from the folder layout alone (no torch, no hub client).

The auto policy asks this before importing torch or sentence-transformers: offline with nothing
cached, the answer (and the reason) costs a few `stat` calls instead of ~20 s of imports. The hub
cache layout is huggingface_hub's: `<cache>/models--owner--name/refs/<revision>` holds a commit,
whose files sit in `snapshots/<commit>/`; the cache is `HF_HUB_CACHE`, else `HF_HOME/hub`, else
`$XDG_CACHE_HOME/huggingface/hub` (`~/.cache/huggingface/hub`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Located:
    """`folder`: the model's files here (a local path or a cache snapshot), else None; `reason`: why it
    cannot load without downloading ("" when a download may be tried)."""

    folder: Path | None
    reason: str = ""


def hub_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The Hugging Face hub cache folder as huggingface_hub resolves it from the environment."""
    env = os.environ if env is None else env
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(var, "").strip():
            return Path(env[var].strip()).expanduser()
    home = env.get("HF_HOME", "").strip()
    if not home:
        home = str(Path(env.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache") / "huggingface")
    return Path(home).expanduser() / "hub"


def cached_snapshot(repo_id: str, revision: str = "", env: Mapping[str, str] | None = None) -> Path | None:
    """The snapshot folder of `repo_id` at `revision` (a branch, tag or commit; default main) when its
    config.json is in the cache, else None."""
    if repo_id.count("/") > 1 or not repo_id.strip("/"):
        return None
    repo = hub_cache_dir(env) / ("models--" + repo_id.replace("/", "--"))
    if not repo.is_dir():
        return None
    rev = revision or "main"
    ref = repo / "refs" / rev
    try:
        commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else rev
    except OSError:
        return None
    if not _COMMIT.match(commit):
        return None
    snapshot = repo / "snapshots" / commit
    return snapshot if (snapshot / "config.json").is_file() else None


def offline_flag(env: Mapping[str, str] | None = None) -> str:
    """The offline variable that is set (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE), or ""."""
    env = os.environ if env is None else env
    for var in OFFLINE_VARS:
        if env.get(var, "").strip().lower() in {"1", "true", "yes", "on"}:
            return var
    return ""


def looks_like_path(name: str) -> bool:
    """Hub ids are `owner/name`; anything absolute, relative-dotted, home-based or deeper is a path."""
    return name.startswith(("/", "./", "../", "~", "\\")) or name.count("/") > 1 or "\\" in name


def locate(name: str, revision: str = "", env: Mapping[str, str] | None = None) -> Located:
    """Where `name` (a local folder or a hub id) is on disk, or why it cannot be had without a download."""
    path = Path(name).expanduser()
    if path.is_dir():
        return Located(path)
    if path.exists() or looks_like_path(name):
        return Located(None, f"model path {name} does not exist or is not a directory")
    snapshot = cached_snapshot(name, revision, env)
    if snapshot is not None:
        return Located(snapshot)
    flag = offline_flag(env)
    if flag:
        return Located(None, f"{name} is not in the local model cache and {flag} is set")
    return Located(None)
