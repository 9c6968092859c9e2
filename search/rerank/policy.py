"""`reranker = auto`: which reranker to run here, and one line that says why.

In order: zerank-1 when a CUDA GPU (or ZeroGPU) is there; the hosted zerank-1 through the
`zeroentropy` SDK when ZEROENTROPY_API_KEY is set; else a small CPU cross-encoder
(`cross_encoder_model`); if none of them loads, none. `choose_reranker` is a pure function of the
facts it is given (`Facts`) and of what the loader returns, so every branch is tested with stand-in
models; `read_facts` is the only part that looks at the machine. An explicit `reranker` setting
never comes here (see `load_reranker`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePath

from search.models import RerankAttempt, RerankerStatus
from search.rerank.base import Reranker
from search.rerank.devices import cuda_available
from search.settings import Settings

API_KEY_ENV = "ZEROENTROPY_API_KEY"  # the same name search.rerank.api reads (kept here: no SDK import)

#: A loader for one explicit backend: `load_reranker` in the app, a stand-in in tests.
Loader = Callable[[Settings], tuple[Reranker | None, RerankerStatus]]

GPU_FIX = "run on a machine with an NVIDIA GPU (CUDA) or on a ZeroGPU Space"
API_FIX = f"set {API_KEY_ENV} (a ZeroEntropy API key) for the hosted zerank-1"
CROSS_ENCODER_FIX = (
    "download {model} once while online (it then loads offline from the cache), "
    "or set SEARCH_CROSS_ENCODER_MODEL to a local copy"
)


@dataclass(frozen=True)
class Facts:
    """What the policy reads about the machine: the GPU it may use ("" for none) and the API key."""

    gpu: str = ""  # "" | "cuda" | "ZeroGPU"
    api_key: bool = False


def read_facts(settings: Settings, env: dict[str, str] | None = None) -> Facts:
    """The GPU and API key here. The GPU is looked for without importing torch unless a driver is
    present; `reranker_device = cpu` means no GPU for the policy."""
    env = dict(os.environ) if env is None else env
    key = bool(env.get(API_KEY_ENV, "").strip())
    if settings.reranker_device.strip().lower() == "cpu":
        return Facts("", key)
    if env.get("SPACES_ZERO_GPU", "").strip().lower() not in {"", "0", "false", "no"}:
        return Facts("ZeroGPU", key)
    return Facts("cuda" if cuda_available() else "", key)


def short_name(name: str) -> str:
    """ "zeroentropy/zerank-1" -> "zerank-1"; "/models/my-ce" -> "my-ce"; the API's name as is."""
    if name.endswith(")"):  # "zerank-1 (ZeroEntropy API)"
        return name
    return PurePath(name.replace("\\", "/").rstrip("/")).name or name


def choose_reranker(
    settings: Settings, facts: Facts | None = None, load: Loader | None = None
) -> tuple[Reranker | None, RerankerStatus]:
    """The first candidate that loads, with a status whose `line()` says what was chosen and why
    the better ones were passed over; (None, status) with every reason when none loads."""
    if facts is None:
        facts = read_facts(settings)
    if load is None:
        from search.rerank.load import load_reranker as load
    zerank = short_name(settings.reranker_model)
    cross = short_name(settings.cross_encoder_model)
    tried: list[tuple[RerankAttempt, str]] = []

    if facts.gpu:
        device = "cuda"
        reranker, status = load(replace(settings, reranker="zerank", reranker_device=device))
        if reranker is not None:
            where = "ZeroGPU" if facts.gpu == "ZeroGPU" else device
            return reranker, _chosen(status, f"{short_name(reranker.name)} on {where}", tried)
        attempt = RerankAttempt(f"{zerank} on GPU", status.reason, GPU_FIX)
        tried.append((attempt, f"{zerank} did not load on the GPU: {status.reason}"))
    else:
        tried.append((RerankAttempt(f"{zerank} on GPU", "no GPU here", GPU_FIX), f"no GPU for {zerank}"))

    if facts.api_key:
        reranker, status = load(replace(settings, reranker="api"))
        if reranker is not None:
            return reranker, _chosen(status, f"{zerank} via the ZeroEntropy API", tried)
        tried.append(
            (RerankAttempt(f"hosted {zerank}", status.reason, API_FIX), f"hosted {zerank}: {status.reason}")
        )
    else:
        reason = f"{API_KEY_ENV} is not set"
        tried.append(
            (RerankAttempt(f"hosted {zerank}", reason, API_FIX), f"set {API_KEY_ENV} for hosted {zerank}")
        )

    device = "cpu" if not facts.gpu else settings.reranker_device
    reranker, status = load(replace(settings, reranker="cross-encoder", reranker_device=device))
    if reranker is not None:
        return reranker, _chosen(status, f"{short_name(reranker.name)} on {reranker.device}", tried)
    fix = CROSS_ENCODER_FIX.format(model=settings.cross_encoder_model)
    tried.append(
        (RerankAttempt(f"{cross} on cpu", status.reason, fix), f"{cross} did not load: {status.reason}")
    )
    attempts = tuple(a for a, _ in tried)
    return None, RerankerStatus(
        name="",
        backend="none",
        loaded=False,
        reason="; ".join(f"{a.candidate}: {a.reason}" for a in attempts),
        choice=f"none: {_why(tried)}",
        attempts=attempts,
    )


def _chosen(status: RerankerStatus, head: str, tried: list[tuple[RerankAttempt, str]]) -> RerankerStatus:
    line = f"{head}: {_why(tried)}" if tried else head
    return replace(status, choice=line, attempts=tuple(a for a, _ in tried))


def _why(tried: list[tuple[RerankAttempt, str]]) -> str:
    """ "no GPU for zerank-1 (set ZEROENTROPY_API_KEY for hosted zerank-1); ms-marco-… did not load" """
    out = ""
    for i, (_, phrase) in enumerate(tried):
        if i == 0:
            out = phrase
        elif phrase.startswith("set "):
            out += f" ({phrase})"
        else:
            out += f"; {phrase}"
    return out
