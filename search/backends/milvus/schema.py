"""The two collections of one index version, and rows to and from chunks.

Chunks: chunk id (primary key), document id, source, title, pages, character span, the text BM25
and the embedding model see (`Chunk.indexed_text()`, analysed by Milvus's English analyzer), a
sparse BM25 field that Milvus's built-in BM25 function fills from it, and the dense vector. The
chunk text itself is not stored twice: it is the indexed text less its title line.

Docs: the manifest (one row) and one row per document (`DocumentInfo` as JSON). Milvus wants a
vector field in every collection, so it carries a two-dimensional placeholder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from search.errors import SearchError
from search.models import Chunk

MAX_VARCHAR = 65_535
MANIFEST_KEY = "manifest"
DOC_PREFIX = "doc:"
NO_PAGE = -1
#: Fields read back to rebuild a chunk (and, with "vector", to copy it into the next version).
CHUNK_FIELDS = ["id", "doc_id", "source", "title", "text", "page_start", "page_end", "char_start", "char_end"]
#: Milvus index types by our `vector_index` setting. Milvus Lite 2.5 has FLAT and IVF_FLAT only.
INDEX_TYPES = {"flat": "FLAT", "hnsw": "HNSW", "ivf_flat": "IVF_FLAT"}


def analyzer(stemmer: str, stopwords: str) -> dict[str, Any]:
    """Milvus's English analyzer for the default settings (standard tokenizer, lower case, English
    stop words, Snowball English stemmer); otherwise the same pipeline with what the settings ask."""
    if stemmer == "english" and stopwords == "en":
        return {"type": "english"}
    filters: list[Any] = ["lowercase"]
    if stopwords:
        if stopwords != "en":
            raise SearchError(f"bm25_stopwords {stopwords!r}: the Milvus backend knows only 'en' or ''")
        filters.append({"type": "stop", "stop_words": ["_english_"]})
    if stemmer:
        filters.append({"type": "stemmer", "language": stemmer})
    return {"tokenizer": "standard", "filter": filters}


def vector_index(kind: str, embedded: bool, rows: int, hnsw_m: int) -> dict[str, Any]:
    """Index type and build parameters for the dense field (inner product = cosine: vectors are
    L2-normalised at embedding time)."""
    if kind not in INDEX_TYPES:
        raise SearchError(f"vector_index {kind!r}: the Milvus backend takes flat, hnsw or ivf_flat")
    if kind == "hnsw" and embedded:
        raise SearchError(
            "vector_index hnsw: embedded Milvus Lite has no HNSW index; use flat or ivf_flat, or a "
            "Milvus server (milvus_uri=http://host:19530)"
        )
    params: dict[str, Any] = {}
    if kind == "hnsw":
        params = {"M": hnsw_m, "efConstruction": max(40, 2 * hnsw_m)}
    elif kind == "ivf_flat":
        params = {"nlist": ivf_nlist(rows)}
    return {"index_type": INDEX_TYPES[kind], "metric_type": "IP", "params": params}


def ivf_nlist(rows: int) -> int:
    """Milvus's rule of thumb, 4·√n clusters, within its limits."""
    return max(1, min(65_536, int(4 * math.sqrt(max(rows, 1)))))


def search_params(kind: str, ef_search: int, nlist: int) -> dict[str, Any]:
    if kind == "hnsw":
        return {"metric_type": "IP", "params": {"ef": ef_search}}
    if kind == "ivf_flat":
        # an eighth of the lists: recall near exact on normalised sentence embeddings
        return {"metric_type": "IP", "params": {"nprobe": max(1, nlist // 8)}}
    return {"metric_type": "IP", "params": {}}


def create_chunks_collection(
    client: Any, name: str, dim: int, index: dict[str, Any], bm25: dict[str, Any]
) -> None:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("source", DataType.VARCHAR, max_length=4096)
    schema.add_field("title", DataType.VARCHAR, max_length=4096)
    schema.add_field(
        "text",
        DataType.VARCHAR,
        max_length=MAX_VARCHAR,
        enable_analyzer=True,
        analyzer_params=bm25["analyzer"],
    )
    for field in ("page_start", "page_end", "char_start", "char_end"):
        schema.add_field(field, DataType.INT64)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    params = client.prepare_index_params()
    params.add_index(
        field_name="sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": bm25["k1"], "bm25_b": bm25["b"]},
    )
    params.add_index(field_name="vector", **index)
    client.create_collection(name, schema=schema, index_params=params)


def create_docs_collection(client: Any, name: str) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=2048)
    schema.add_field("info", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=params)


def chunk_rows(chunks: Sequence[Chunk], vectors: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for chunk, vector in zip(chunks, np.asarray(vectors, dtype=np.float32), strict=True):
        text = chunk.indexed_text()
        if len(text.encode("utf-8")) > MAX_VARCHAR:
            raise SearchError(
                f"chunk {chunk.id} of {chunk.source} is over {MAX_VARCHAR} bytes, Milvus's text limit: "
                "lower chunk_tokens"
            )
        rows.append(
            {
                "id": chunk.id,
                "doc_id": chunk.doc_id,
                "source": chunk.source,
                "title": chunk.title,
                "text": text,
                "page_start": NO_PAGE if chunk.page_start is None else chunk.page_start,
                "page_end": NO_PAGE if chunk.page_end is None else chunk.page_end,
                "char_start": chunk.char_start,
                "char_end": chunk.char_end,
                "vector": vector.tolist(),
            }
        )
    return rows


def row_chunk(row: dict[str, Any]) -> Chunk:
    title, indexed = row["title"], row["text"]
    text = indexed[len(title[:120]) + 1 :] if title else indexed
    page_start, page_end = int(row["page_start"]), int(row["page_end"])
    return Chunk(
        id=row["id"],
        doc_id=row["doc_id"],
        source=row["source"],
        title=title,
        text=text,
        page_start=None if page_start == NO_PAGE else page_start,
        page_end=None if page_end == NO_PAGE else page_end,
        char_start=int(row["char_start"]),
        char_end=int(row["char_end"]),
    )


def docs_rows(manifest: dict[str, Any], documents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [{"key": MANIFEST_KEY, "info": json.dumps(manifest, ensure_ascii=False)}]
    rows += [{"key": DOC_PREFIX + d["doc_id"], "info": json.dumps(d, ensure_ascii=False)} for d in documents]
    for row in rows:
        if len(row["info"].encode("utf-8")) > MAX_VARCHAR or len(row["key"].encode("utf-8")) > 2048:
            raise SearchError(f"index record {row['key'][:80]!r} is too long for a Milvus text field")
        row["placeholder"] = [0.0, 0.0]
    return rows


def read_docs(client: Any, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(manifest without documents, documents in canonical order) of one version."""
    manifest: dict[str, Any] = {}
    documents = []
    for row in iterate(client, name, ["key", "info"]):
        if row["key"] == MANIFEST_KEY:
            manifest = json.loads(row["info"])
        else:
            documents.append(json.loads(row["info"]))
    documents.sort(key=lambda d: (d["source"], d["doc_id"]))
    return manifest, documents


def literal(values: set[str]) -> str:
    """A list of strings in Milvus's filter syntax (JSON's quoting and escapes; Milvus Lite 2.5 has
    no filter templates, so values are written into the expression)."""
    return json.dumps(sorted(values), ensure_ascii=False)


def iterate(client: Any, name: str, fields: list[str], filter: str = "", batch: int = 1000) -> Any:
    """Every row of a collection (matching `filter`), in batches through the query iterator."""
    it = client.query_iterator(name, batch_size=batch, filter=filter, output_fields=fields)
    try:
        while rows := it.next():
            yield from rows
    finally:
        it.close()
