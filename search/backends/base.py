"""The retrieval interface the pipeline, the app and the evaluation see.

FAISS and bm25s live behind it (`search.backends.local`), and so does Milvus
(`search.backends.milvus`), without the pipeline changing. Ids are chunk ids (`Chunk.id`), never
storage positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from search.models import Chunk

#: (chunk id, score), best first.
Scored = tuple[str, float]


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One indexed document as the index remembers it (for listing, removal and incremental ingest)."""

    doc_id: str
    source: str
    title: str
    content_hash: str
    pages: int
    chunks: int

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class IndexBackend(Protocol):
    """A loaded, read-only index: lexical and vector search over the same chunks."""

    manifest: dict[str, Any]

    def __len__(self) -> int: ...

    def analyze(self, text: str) -> list[str]:
        """The terms the lexical index derives from `text` (what BM25 matches; used to highlight)."""
        ...

    def lexical_search(self, query: str, k: int) -> list[Scored]: ...

    def vector_search(self, vector: np.ndarray, k: int) -> list[Scored]: ...

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]: ...

    def documents(self) -> list[DocumentInfo]: ...


@dataclass(frozen=True, slots=True)
class DocumentUpdate:
    """A new or changed document, chunked and embedded, ready to be written (vectors row i = chunks[i])."""

    info: DocumentInfo
    chunks: list[Chunk]
    vectors: np.ndarray


class IndexWriter(Protocol):
    """What ingest writes through: the documents an index holds, and one commit per ingest run.

    `commit` keeps the listed existing documents, adds the updates, and makes the result visible to
    new readers at once and completely, or not at all.
    """

    def locked(self) -> AbstractContextManager[None]:
        """Held for a whole ingest run, so two writers never interleave."""
        ...

    def existing(self) -> tuple[dict[str, Any], dict[str, DocumentInfo]]:
        """(manifest, documents by doc_id) of the live index; ({}, {}) when there is none."""
        ...

    def commit(self, keep: set[str], updates: Sequence[DocumentUpdate], manifest: dict[str, Any]) -> Any: ...

    def remove_leftovers(self) -> int:
        """Clean up what interrupted writes left (at start-up); how many were removed."""
        ...
