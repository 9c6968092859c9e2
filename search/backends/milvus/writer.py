"""Writing a Milvus index: build a fresh collection, switch readers to it in one step, drop the old.

`commit` creates `<base>_v<stamp>` (and its `_docs` companion), copies the kept documents' rows
from the live version (their vectors included, so nothing is re-embedded), inserts the updates,
flushes, loads and counts them, and only then publishes: alias on a server, pointer file on Milvus
Lite. Until that step readers see the previous version whole; an ingest killed at any moment leaves
at most an unpublished collection, which the next commit drops. The previous version is kept (a
reader that opened it keeps answering, as with the local backend's previous version folder).

Milvus could upsert and delete in place, but readers would then see an ingest half done; a
rebuild per commit costs a copy of the kept rows (no embedding), cheap next to embedding.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.backends.base import DocumentInfo, DocumentUpdate
from search.backends.milvus import client as mc
from search.backends.milvus import schema
from search.backends.milvus.backend import FORMAT_VERSION, read_manifest
from search.errors import SearchError

#: Rows per insert call: ~2-3 MB of 384-dimensional vectors and text, far under gRPC's 64 MB.
INSERT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class CommitStats:
    collection: str
    documents: int
    chunks: int
    seconds_copy: float
    seconds_insert: float
    seconds_publish: float


class MilvusWriter:
    """Writes versions of one index (a collection base name) in Milvus; one writer at a time."""

    def __init__(
        self,
        index_dir: Path,
        *,
        uri: str = "",
        token: str = "",
        collection: str = "",
        vector_index: str = "flat",
        hnsw_m: int = 32,
        bm25_k1: float = 1.5,
        bm25_b: float = 0.75,
        bm25_stemmer: str = "english",
        bm25_stopwords: str = "en",
    ) -> None:
        self.index_dir = Path(index_dir)
        self.uri = mc.resolve_uri(uri, self.index_dir)
        self.token = token
        self.base = mc.base_name(collection, self.uri, self.index_dir)
        self.vector_params: dict[str, Any] = {"kind": vector_index, "hnsw_m": hnsw_m}
        self.bm25_params = {
            "engine": "milvus",
            "k1": bm25_k1,
            "b": bm25_b,
            "analyzer": schema.analyzer(bm25_stemmer, bm25_stopwords),
        }
        schema.vector_index(vector_index, mc.is_embedded(self.uri), 0, hnsw_m)  # refuse bad settings now
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = mc.connect(self.uri, self.token)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise writers on this machine (a lock file in the index folder). With a Milvus server
        shared by several machines, run ingest from one of them."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / ".milvus.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SearchError(
                    f"another ingest is writing {self.index_dir}; try again when it ends"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def remove_leftovers(self) -> int:
        """Drop collections an interrupted ingest left half-built (at start-up); 0 while another
        writer holds the lock."""
        live = self._live()
        try:
            with self.locked():
                before = len(self.client.list_collections())
                mc.prune(self.client, self.base, keep={live} if live else set())
                return before - len(self.client.list_collections())
        except SearchError:
            return 0

    def _live(self) -> str | None:
        if mc.is_embedded(self.uri) and not Path(self.uri).is_file():
            return None  # no index yet: do not start a server just to find that out
        return mc.live_collection(self.client, self.base, self.uri, self.index_dir)

    def existing(self) -> tuple[dict[str, Any], dict[str, DocumentInfo]]:
        live = self._live()
        if live is None:
            return {}, {}
        self.client.load_collection(live + mc.DOCS_SUFFIX)
        manifest = read_manifest(self.client, live, self.uri)
        return manifest, {d["doc_id"]: DocumentInfo(**d) for d in manifest["documents"]}

    def commit(
        self, keep: set[str], updates: Sequence[DocumentUpdate], manifest: dict[str, Any]
    ) -> CommitStats:
        live = self._live()
        _, old_docs = self.existing()
        infos = {d: old_docs[d] for d in keep}
        infos.update({u.info.doc_id: u.info for u in updates})
        documents = sorted(infos.values(), key=lambda i: (i.source, i.doc_id))
        copied = {d for d in keep if d in old_docs} - {u.info.doc_id for u in updates}
        expected = sum(infos[d].chunks for d in copied) + sum(len(u.chunks) for u in updates)
        dim = int(manifest["embedding"]["dim"])
        index = schema.vector_index(
            self.vector_params["kind"], mc.is_embedded(self.uri), expected, self.vector_params["hnsw_m"]
        )
        name = f"{self.base}_v{time.strftime('%Y%m%d%H%M%S', time.gmtime())}{time.time_ns() % 10**9:09d}"
        client = self.client
        try:
            schema.create_chunks_collection(client, name, dim, index, self.bm25_params)
            schema.create_docs_collection(client, name + mc.DOCS_SUFFIX)
            t0 = time.perf_counter()
            if copied and live is not None:
                self._copy(live, name, copied, set(old_docs) - copied)
            t1 = time.perf_counter()
            for update in updates:
                rows = schema.chunk_rows(update.chunks, update.vectors.reshape(-1, dim))
                for start in range(0, len(rows), INSERT_BATCH):
                    client.insert(name, rows[start : start + INSERT_BATCH])
            t2 = time.perf_counter()
            full = self._manifest(manifest, documents, expected, index)
            client.insert(name + mc.DOCS_SUFFIX, schema.docs_rows(full, [i.to_dict() for i in documents]))
            self._seal(name, expected, len(documents) + 1)
            mc.publish(client, self.base, name, self.uri, self.index_dir)
        except BaseException:
            with contextlib.suppress(Exception):
                client.drop_collection(name)
                client.drop_collection(name + mc.DOCS_SUFFIX)
            raise
        mc.prune(client, self.base, keep={name} | ({live} if live else set()))
        t3 = time.perf_counter()
        return CommitStats(name, len(documents), expected, t1 - t0, t2 - t1, t3 - t2)

    def _copy(self, live: str, name: str, copied: set[str], dropped: set[str]) -> None:
        """Copy the kept documents' rows, vectors included; BM25 is recomputed by Milvus on insert."""
        self.client.load_collection(live)
        if len(dropped) <= len(copied):  # filter on the shorter list of document ids
            expr = f"doc_id not in {schema.literal(dropped)}" if dropped else ""
        else:
            expr = f"doc_id in {schema.literal(copied)}"
        it = self.client.query_iterator(
            live, batch_size=INSERT_BATCH, filter=expr, output_fields=[*schema.CHUNK_FIELDS, "vector"]
        )
        try:
            while rows := it.next():
                self.client.insert(name, [{k: r[k] for k in (*schema.CHUNK_FIELDS, "vector")} for r in rows])
        finally:
            it.close()

    def _seal(self, name: str, chunks: int, docs: int) -> None:
        """Persist and load the new version, and check every row is there before anyone reads it."""
        for coll, want in ((name, chunks), (name + mc.DOCS_SUFFIX, docs)):
            self.client.flush(coll)
            self.client.load_collection(coll)
            got = self.client.query(coll, filter="", output_fields=["count(*)"], consistency_level="Strong")
            if int(got[0]["count(*)"]) != want:
                raise SearchError(
                    f"Milvus collection {coll} holds {got[0]['count(*)']} rows, expected {want}"
                )

    def _manifest(
        self, manifest: dict[str, Any], documents: list[DocumentInfo], chunks: int, index: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            **{k: v for k, v in manifest.items() if k != "documents"},
            "format_version": FORMAT_VERSION,
            "backend": "milvus",
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "bm25": self.bm25_params,
            "vectors": {**self.vector_params, "milvus_index": index["index_type"], **index["params"]},
            "counts": {
                "documents": len(documents),
                "chunks": chunks,
                "pages": sum(i.pages for i in documents),
            },
        }
