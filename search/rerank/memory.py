"""Will a model fit? Its weights' size (from the safetensors files, scaled to the dtype it loads in)
against the free memory of the device it loads on, checked before loading: a model that does not fit
gets the process killed (a Space then restarts in a loop), so it is refused with a reason instead."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: Weights are not all a model needs: activations, the tokenizer and the framework take their share.
HEADROOM = 1.2
GIB = 1024**3
_HALF = {"bfloat16", "float16", "bf16", "fp16"}


def model_dir(name_or_path: str, revision: str = "") -> Path | None:
    """The folder holding the model's files: the path itself, or its snapshot in the local Hugging
    Face cache; None when neither is here (then the loader reports it missing). Read from the
    folder layout alone: no hub client, no torch."""
    from search.rerank.local import locate

    return locate(name_or_path, revision).folder


def weights_bytes(folder: Path, *, full_precision: bool) -> int | None:
    """Bytes the weights take in memory: their files' size, doubled when a half-precision checkpoint
    is loaded in fp32 (`full_precision`); None when the folder has no weight files."""
    files = list(folder.glob("*.safetensors")) or list(folder.glob("*.bin"))
    if not files:
        return None
    size = sum(f.stat().st_size for f in files)
    return size * 2 if full_precision and _stored_dtype(folder) in _HALF else size


def _stored_dtype(folder: Path) -> str:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(config.get("torch_dtype") or config.get("dtype") or "")


def available_bytes(device: str) -> int | None:
    """Free memory on `device` ("cuda" or "cpu"): the GPU's free VRAM, or the RAM Linux reports as
    available; None when it cannot be read (then nothing is refused)."""
    if device.startswith("cuda"):
        try:
            import torch

            return int(torch.cuda.mem_get_info()[0])
        except Exception:
            return None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def fit_problem(need: int | None, free: int | None, name: str, device: str) -> str | None:
    """Why `name` cannot load on `device` (needs more than is free), or None when it fits or either
    figure is unknown."""
    if need is None or free is None:
        return None
    want = int(need * HEADROOM)
    if want <= free:
        return None
    where = "GPU memory" if device.startswith("cuda") else "RAM"
    return (
        f"{name} needs about {want / GIB:.1f} GiB of {where} on {device} but only "
        f"{free / GIB:.1f} GiB is free: not loaded (choose a smaller model or bigger hardware)"
    )


def check_fits(name_or_path: str, device: str, *, revision: str = "", full_precision: bool) -> str | None:
    """The reason a model would not fit on `device`, or None (fits, or size or free memory unknown)."""
    folder = model_dir(name_or_path, revision)
    need = weights_bytes(folder, full_precision=full_precision) if folder is not None else None
    problem = fit_problem(need, available_bytes(device), name_or_path, device)
    if problem:
        log.warning("%s", problem)
    return problem
