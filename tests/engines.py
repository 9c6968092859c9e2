"""Both index engines behind one small handle, so the backend contract tests run on each.

`milvus` is embedded Milvus Lite 2.5 (the real Milvus engine) in a file inside the test's index
folder; its server process is stopped when the test ends.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from search.backends import open_backend, open_writer
from search.settings import Settings

HAS_MILVUS = (
    importlib.util.find_spec("pymilvus") is not None and importlib.util.find_spec("milvus_lite") is not None
)
ENGINES = [
    "local",
    pytest.param(
        "milvus", marks=pytest.mark.skipif(not HAS_MILVUS, reason="needs `pip install -e .[milvus]`")
    ),
]


class Engine:
    def __init__(self, name: str) -> None:
        self.name = name
        self._handles: list[Any] = []
        self._dirs: set[Path] = set()

    def settings(self, index_dir: Path, **overrides: Any) -> Settings:
        self._dirs.add(Path(index_dir))
        return Settings(index_dir=Path(index_dir), backend=self.name, **overrides)

    def writer(self, index_dir: Path, **overrides: Any) -> Any:
        return self.track(open_writer(self.settings(index_dir, **overrides)))

    def open(self, index_dir: Path, **overrides: Any) -> Any:
        return self.track(open_backend(self.settings(index_dir, **overrides)))

    def track(self, handle: Any) -> Any:
        self._handles.append(handle)
        return handle

    def release(self) -> None:
        """Close every client and stop this process's embedded Milvus servers (frees the files)."""
        for handle in self._handles:
            if hasattr(handle, "close"):
                handle.close()
        self._handles.clear()
        if self.name == "milvus":
            from search.backends.milvus import release_embedded

            for folder in self._dirs:
                release_embedded(str(folder / "milvus.db"))
