"""Reading a local index: FAISS + bm25s + the chunk store, loaded once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from search.backends.base import DocumentInfo, Scored
from search.backends.local import lexical, store, vectors
from search.models import Chunk


class LocalBackend:
    """A loaded, immutable index version. Ingest never changes it in place; it publishes a new one."""

    def __init__(
        self,
        folder: Path,
        manifest: dict[str, Any],
        chunks: list[Chunk],
        vector_index: Any,
        lexical_index: lexical.LexicalIndex,
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self._chunks = chunks
        self._position = {c.id: i for i, c in enumerate(chunks)}
        self._vectors = vector_index
        self._lexical = lexical_index

    @classmethod
    def open(cls, index_dir: Path, ef_search: int | None = None) -> LocalBackend:
        folder = store.current_version(Path(index_dir))
        manifest = store.read_manifest(folder)
        chunks = read_chunks(folder)
        bm25 = manifest["bm25"]
        lex = lexical.LexicalIndex.load(
            folder / store.BM25_DIR, stemmer=bm25["stemmer"], stopwords=bm25["stopwords"]
        )
        vec = vectors.load(folder / store.VECTORS, ef_search)
        return cls(folder, manifest, chunks, vec, lex)

    def __len__(self) -> int:
        return len(self._chunks)

    def analyze(self, text: str) -> list[str]:
        """The terms BM25 matches for `text`: this index's own tokenizer, stemmer and stop words."""
        return self._lexical.analyze(text)

    def lexical_search(self, query: str, k: int) -> list[Scored]:
        return [(self._chunks[i].id, s) for i, s in self._lexical.search(query, k)]

    def vector_search(self, vector: np.ndarray, k: int) -> list[Scored]:
        return [(self._chunks[i].id, s) for i, s in vectors.search(self._vectors, vector, k)]

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        return [self._chunks[self._position[i]] for i in ids]

    def all_chunks(self) -> list[Chunk]:
        return list(self._chunks)

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(**d) for d in self.manifest.get("documents", [])]


def read_chunks(folder: Path) -> list[Chunk]:
    with open(folder / store.CHUNKS, encoding="utf-8") as f:
        return [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]


def read_embeddings(folder: Path) -> np.ndarray:
    return np.load(folder / store.EMBEDDINGS, allow_pickle=False)
