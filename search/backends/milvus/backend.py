"""Reading a Milvus index: BM25 and dense search in Milvus, chunks fetched by id.

A reader pins the collection that was live when it opened (as a local reader pins its version
folder); the writer keeps the previous version, so a reader opened before an ingest keeps
answering until it reloads. Collections are loaded explicitly on open, so a restarted Milvus (or
Milvus Lite process) serves again without anyone calling `load_collection` by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from search.backends.base import DocumentInfo, Scored
from search.backends.milvus import client as mc
from search.backends.milvus import schema
from search.errors import IndexMismatchError, IndexNotFoundError, SearchError
from search.models import Chunk

FORMAT_VERSION = 1
#: Milvus's largest top-k for one search.
MAX_TOPK = 16_384
_GET_BATCH = 1000


class MilvusBackend:
    """One loaded, immutable version of an index in Milvus."""

    def __init__(self, client: Any, collection: str, manifest: dict[str, Any], ef_search: int = 128) -> None:
        self.client = client
        self.collection = collection
        self.manifest = manifest
        vectors = manifest.get("vectors", {})
        self._search_params = schema.search_params(
            vectors.get("kind", "flat"), ef_search, int(vectors.get("nlist", 1))
        )
        self._count = int(manifest.get("counts", {}).get("chunks", 0))

    @classmethod
    def open(
        cls,
        index_dir: Path,
        *,
        uri: str = "",
        token: str = "",
        collection: str = "",
        ef_search: int = 128,
    ) -> MilvusBackend:
        uri = mc.resolve_uri(uri, Path(index_dir))
        base = mc.base_name(collection, uri, Path(index_dir))
        if mc.is_embedded(uri) and not Path(uri).is_file():
            raise _not_found(index_dir, uri)
        client = mc.connect(uri, token)
        try:
            name = mc.live_collection(client, base, uri, Path(index_dir))
            if name is None:
                raise _not_found(index_dir, uri)
            client.load_collection(name)
            client.load_collection(name + mc.DOCS_SUFFIX)
            manifest = read_manifest(client, name, uri)
        except BaseException:
            client.close()
            raise
        return cls(client, name, manifest, ef_search)

    def close(self) -> None:
        """Close this reader's connection (the embedded server stays for other readers)."""
        if self.client is not None:
            self.client.close()
            self.client = None

    def __del__(self) -> None:  # a replaced reader (Searcher.reload) lets go of its connection
        with contextlib.suppress(Exception):
            self.close()

    def __len__(self) -> int:
        return self._count

    def analyze(self, text: str) -> list[str]:
        """The terms BM25 matches for `text`, for highlighting. Milvus's English analyzer (standard
        tokenizer, lower case, English stop words, Snowball English) is reproduced with the local
        tokenizer under the same settings: a round trip to the server per hit would cost more than
        the search, and the two differ only on rare tokens (hyphens, apostrophes)."""
        from search.backends.local.lexical import query_tokens

        analyzer = self.manifest.get("bm25", {}).get("analyzer", {"type": "english"})
        if analyzer.get("type") == "english":
            return query_tokens(text, "english", "en")
        filters = analyzer.get("filter", [])
        stem = next(
            (f.get("language", "") for f in filters if isinstance(f, dict) and f.get("type") == "stemmer"), ""
        )
        stop = "en" if any(isinstance(f, dict) and f.get("type") == "stop" for f in filters) else ""
        return query_tokens(text, stem, stop)

    def lexical_search(self, query: str, k: int) -> list[Scored]:
        if k <= 0 or not self._count or not query.strip():
            return []
        hits = self.client.search(
            self.collection,
            data=[query],
            anns_field="sparse",
            limit=min(k, self._count, MAX_TOPK),
            search_params={"metric_type": "BM25"},
            output_fields=[],
        )[0]
        return [(h["id"], float(h["distance"])) for h in hits]

    def vector_search(self, vector: np.ndarray, k: int) -> list[Scored]:
        if k <= 0 or not self._count:
            return []
        hits = self.client.search(
            self.collection,
            data=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
            anns_field="vector",
            limit=min(k, self._count, MAX_TOPK),
            search_params=self._search_params,
            output_fields=[],
        )[0]
        return [(h["id"], float(h["distance"])) for h in hits]

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids, in this order; KeyError for an id the index does not hold."""
        found: dict[str, Chunk] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), _GET_BATCH):
            rows = self.client.get(
                self.collection, ids=wanted[start : start + _GET_BATCH], output_fields=schema.CHUNK_FIELDS
            )
            found.update((row["id"], schema.row_chunk(row)) for row in rows)
        return [found[i] for i in ids]

    def all_chunks(self) -> list[Chunk]:
        """Every chunk, documents in canonical order, chunks in id order within a document."""
        order = {d["doc_id"]: i for i, d in enumerate(self.manifest.get("documents", []))}
        chunks = [schema.row_chunk(r) for r in self.rows()]
        return sorted(chunks, key=lambda c: (order.get(c.doc_id, len(order)), c.id))

    def rows(self, fields: Sequence[str] = schema.CHUNK_FIELDS, filter: str = "") -> Iterator[dict[str, Any]]:
        return schema.iterate(self.client, self.collection, list(fields), filter)

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(**d) for d in self.manifest.get("documents", [])]


def read_manifest(client: Any, name: str, uri: str) -> dict[str, Any]:
    """The full manifest of version `name` (documents included), checked for format."""
    manifest, documents = schema.read_docs(client, name + mc.DOCS_SUFFIX)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"Milvus collection {name} at {uri} has format version {manifest.get('format_version')}, "
            f"this program reads version {FORMAT_VERSION}: rebuild it with "
            "`python -m ingest PATH --backend milvus --rebuild`"
        )
    return {**manifest, "documents": documents}


def _not_found(index_dir: Path, uri: str) -> SearchError:
    return IndexNotFoundError(
        f"no Milvus index for {index_dir} at {uri}: build one with "
        f"`python -m ingest PATH --index {index_dir} --backend milvus`"
    )
