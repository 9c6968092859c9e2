"""Pick and load the configured reranker once at start-up, never raising for an unavailable model.

Search must keep working without a reranker, so every failure becomes `(None, status)` with a
one-line reason the UI shows. Offline, a plain hub `from_pretrained` retries DNS for ~20 s before
failing, so we try the local cache first and probe the hub with a 2 s budget before downloading.
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
from search.settings import Settings

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "zerank", "cross-encoder", "api", "none")
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
    name = settings.reranker_model
    path = Path(name).expanduser()
    if path.is_dir():
        _check_memory(backend, str(path), settings)
        return _construct(backend, str(path), settings, local_files_only=True)
    if path.exists() or _looks_like_path(name):
        raise _Unavailable(f"model path {name} does not exist or is not a directory")
    _check_memory(backend, name, settings)
    try:
        return _construct(backend, name, settings, local_files_only=True)
    except Exception as exc:
        if not _is_not_cached(exc):
            raise
        # the hub's own message is a paragraph; the one-line reason comes from `_off` below
        logger.debug("%s is not in the local Hugging Face cache (%s)", name, _one_line(exc))
    if _hub_offline():
        raise _Unavailable(f"{name} is not in the local model cache and HF_HUB_OFFLINE is set")
    host, port = _hub_address()
    if not _reachable(host, port, HUB_PROBE_TIMEOUT_S):
        raise _Unavailable(f"cannot reach the model hub to download {name} (offline?)")
    logger.info("downloading %s from %s", name, host)
    return _construct(backend, name, settings, local_files_only=False)


def _check_memory(backend: str, name: str, settings: Settings) -> None:
    """Refuse a model whose weights would not fit in the free RAM or VRAM (checked when its files
    are here; a download is checked on the next start)."""
    from search.rerank.memory import check_fits, model_dir

    if model_dir(name, settings.reranker_revision) is None:
        return  # not here: the loader says so (and needs no torch to say it)
    from search.rerank.zerank import resolve_device

    device = resolve_device(settings.reranker_device)
    full = backend == "zerank" and not device.startswith("cuda")  # zerank loads fp32 on CPU
    problem = check_fits(name, device, revision=settings.reranker_revision, full_precision=full)
    if problem:
        raise _Unavailable(problem)


def _construct(backend: str, name: str, settings: Settings, *, local_files_only: bool) -> Reranker:
    quiet_model_loading()
    if backend == "zerank":
        from search.rerank.zerank import ZerankReranker

        return ZerankReranker.from_pretrained(
            name,
            revision=settings.reranker_revision,
            device=settings.reranker_device,
            local_files_only=local_files_only,
            max_query_chars=settings.rerank_max_query_chars,
            max_doc_chars=settings.rerank_max_doc_chars,
            max_tokens=settings.rerank_max_tokens,
            token_budget=settings.rerank_token_budget,
        )
    from search.rerank.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker.from_pretrained(
        name,
        revision=settings.reranker_revision,
        device=settings.reranker_device,
        local_files_only=local_files_only,
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


def _looks_like_path(name: str) -> bool:
    """Hub ids are `owner/name`; anything absolute, relative-dotted, home-based or deeper is a path."""
    return name.startswith(("/", "./", "../", "~", "\\")) or name.count("/") > 1 or "\\" in name


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


def _hub_offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


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
