"""Pick and load the configured reranker once at start-up, never raising for an unavailable model.

Search must keep working without a reranker, so every failure becomes `(None, status)` with a
one-line reason the UI shows. Whether the model is on disk is read from the folder layout before
torch is imported (`search.rerank.local`): offline with nothing cached that takes milliseconds, not
~20 s of imports. A model not cached while online is fetched only after the hub answers a 2 s probe.
A cross-encoder on CPU runs on ONNX Runtime (`onnx_cross`) where it can, the torch CrossEncoder
otherwise.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

from search.models import RerankerStatus
from search.quiet import quiet_model_loading
from search.rerank.base import Reranker
from search.rerank.devices import resolve_device
from search.rerank.local import locate, looks_like_path, offline_flag
from search.settings import Settings

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "zerank", "cross-encoder", "api", "none")
CROSS_ENCODER_BACKENDS = ("auto", "onnx", "torch")
HUB_PROBE_TIMEOUT_S = 2.0


def load_reranker(settings: Settings) -> tuple[Reranker | None, RerankerStatus]:
    """The configured reranker and its status; (None, status with reason) when it cannot load."""
    backend = settings.reranker.strip().lower()
    if backend == "auto":
        from search.rerank.policy import choose_reranker

        return choose_reranker(settings)
    if backend == "cross-encoder":  # the cross-encoder backend reads its own model setting
        settings = replace(settings, reranker_model=settings.cross_encoder_model)
    name = settings.reranker_model
    if backend in ("none", ""):
        return None, RerankerStatus(name="", backend="none", loaded=False, reason="")
    if backend not in BACKENDS:
        expected = ", ".join(BACKENDS)
        return None, _off(name, backend, f"unknown reranker backend {backend!r} (expected one of {expected})")
    if backend == "api":
        return _load_api(settings)
    if backend == "cross-encoder" and "zerank" in name.lower():
        return None, _off(name, backend, f"{name} must run with the zerank backend, not as a CrossEncoder")
    try:
        reranker = _load_local(backend, settings)
    except _Unavailable as exc:
        return None, _off(name, backend, str(exc))
    except Exception as exc:  # a broken checkpoint, out of memory, ...: search goes on without reranking
        logger.exception("could not load reranker %s", name)
        return None, _off(name, backend, f"could not load {name}: {_one_line(exc)}")
    return reranker, RerankerStatus(name=reranker.name, backend=backend, device=reranker.device, loaded=True)


class _Unavailable(Exception):
    """The model cannot be had here (missing path, not cached while offline); the message says why."""


def _load_local(backend: str, settings: Settings) -> Reranker:
    """Decide from the disk alone (`locate`) whether the model can load before importing torch:
    offline with nothing cached this fails in milliseconds, with the reason."""
    name = settings.reranker_model
    found = locate(name, settings.reranker_revision)
    if found.reason:
        raise _Unavailable(found.reason)
    if found.folder is not None:
        _check_memory(backend, found.folder, settings)
        try:
            return _construct(backend, name, found.folder, settings, local_files_only=True)
        except Exception as exc:  # a snapshot with its weights missing: download them if we may
            if looks_like_path(name) or Path(name).expanduser().is_dir() or not _is_not_cached(exc):
                raise
            logger.debug("%s is only partly in the local cache (%s)", name, _one_line(exc))
    if offline_flag():
        raise _Unavailable(f"{name} is not in the local model cache and {offline_flag()} is set")
    host, port = _hub_address()
    if not _reachable(host, port, HUB_PROBE_TIMEOUT_S):
        raise _Unavailable(f"cannot reach the model hub to download {name} (offline?)")
    logger.info("downloading %s from %s", name, host)
    return _construct(backend, name, None, settings, local_files_only=False)


def _check_memory(backend: str, folder: Path, settings: Settings) -> None:
    """Refuse a model whose weights would not fit in the free RAM or VRAM (checked when its files
    are here; a download is checked on the next start)."""
    from search.rerank.memory import check_fits

    device = resolve_device(settings.reranker_device)
    full = backend == "zerank" and not device.startswith("cuda")  # zerank loads fp32 on CPU
    problem = check_fits(str(folder), device, revision=settings.reranker_revision, full_precision=full)
    if problem:
        raise _Unavailable(problem.replace(str(folder), settings.reranker_model))


def _construct(
    backend: str, name: str, folder: Path | None, settings: Settings, *, local_files_only: bool
) -> Reranker:
    if backend == "cross-encoder" and folder is not None:
        onnx = _onnx_cross_encoder(name, folder, settings)
        if onnx is not None:
            return onnx
    reranker = _construct_torch(backend, str(folder) if folder else name, settings, local_files_only)
    reranker.name = name  # the hub id, not the snapshot folder it was read from
    return reranker


def _construct_torch(backend: str, source: str, settings: Settings, local_files_only: bool) -> Reranker:
    """The torch model from `source`: the folder found on disk (so the hub client's own idea of the
    cache cannot disagree) or, for a download, the hub id at the configured revision."""
    quiet_model_loading()
    revision = "" if Path(source).is_dir() else settings.reranker_revision
    if backend == "zerank":
        from search.rerank.zerank import ZerankReranker

        return ZerankReranker.from_pretrained(
            source,
            revision=revision,
            device=settings.reranker_device,
            local_files_only=local_files_only,
            max_query_chars=settings.rerank_max_query_chars,
            max_doc_chars=settings.rerank_max_doc_chars,
            max_tokens=settings.rerank_max_tokens,
            token_budget=settings.rerank_token_budget,
        )
    from search.rerank.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker.from_pretrained(
        source,
        revision=revision,
        device=settings.reranker_device,
        local_files_only=local_files_only,
        max_length=settings.rerank_max_tokens,
        max_query_chars=settings.rerank_max_query_chars,
        max_doc_chars=settings.rerank_max_doc_chars,
    )


def _onnx_cross_encoder(name: str, folder: Path, settings: Settings) -> Reranker | None:
    """The ONNX Runtime cross-encoder when `cross_encoder_backend` allows it and it can run here
    (CPU, a BERT-type model with a tokenizer.json); None means the torch CrossEncoder."""
    from search.rerank.onnx_cross import OnnxCrossEncoder, onnx_usable

    choice = settings.cross_encoder_backend.strip().lower()
    if choice not in CROSS_ENCODER_BACKENDS:
        raise _Unavailable(
            f"cross_encoder_backend={choice!r}: expected one of {', '.join(CROSS_ENCODER_BACKENDS)}"
        )
    if choice == "torch":
        return None
    on_cpu = resolve_device(settings.reranker_device) == "cpu"
    why = onnx_usable(folder) if on_cpu else "ONNX Runtime runs the cross-encoder on CPU only"
    if why:
        if choice == "onnx":
            raise _Unavailable(f"cross_encoder_backend=onnx: {why}")
        logger.info("cross-encoder %s runs on torch: %s", name, why)
        return None
    return OnnxCrossEncoder(
        folder,
        name=name,
        quantized=settings.cross_encoder_int8,
        threads=settings.rerank_threads,
        max_length=settings.rerank_max_tokens,
        max_query_chars=settings.rerank_max_query_chars,
        max_doc_chars=settings.rerank_max_doc_chars,
    )


def _load_api(settings: Settings) -> tuple[Reranker | None, RerankerStatus]:
    from search.rerank.api import API_KEY_ENV, ApiReranker

    name = settings.reranker_model
    if not os.environ.get(API_KEY_ENV, "").strip():
        return None, _off(name, "api", f"{API_KEY_ENV} is not set")
    try:
        reranker = ApiReranker(settings)
    except Exception as exc:  # RerankerError or an SDK error: one line, never the key
        return None, _off(name, "api", _one_line(exc))
    return reranker, RerankerStatus(name=reranker.name, backend="api", device=reranker.device, loaded=True)


def _off(name: str, backend: str, reason: str) -> RerankerStatus:
    logger.warning("reranking unavailable: %s", reason)
    return RerankerStatus(name=name, backend=backend, loaded=False, reason=reason)


def _is_not_cached(exc: BaseException) -> bool:
    """True for the errors `local_files_only=True` raises when files are simply not cached."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    seen: BaseException | None = exc
    for _ in range(10):  # walk the cause chain, bounded in case it loops
        if seen is None:
            break
        if isinstance(seen, (OSError, LocalEntryNotFoundError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _hub_address() -> tuple[str, int]:
    endpoint = os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"
    parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    return parsed.hostname or "huggingface.co", port


def _reachable(host: str, port: int, timeout_s: float) -> bool:
    """TCP connect within `timeout_s`, DNS included (getaddrinfo has no timeout, so use a thread)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, name="hub-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(result and result[0])


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
