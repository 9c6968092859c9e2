"""Which device and dtype a model runs on, decided without importing torch where no GPU can be.

`cuda_available` looks for the NVIDIA driver on disk first and imports torch only when it is there,
so a CPU machine answers "cpu" in microseconds (the auto policy and the ONNX reranker stay
torch-free). `gpu_dtype` picks zerank's dtype from what the GPU supports (see `zerank.dtype_for`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidia0", "/dev/dxg")  # dxg: WSL2


def nvidia_driver_present() -> bool:
    """Whether an NVIDIA driver is visible (no driver: no CUDA, and torch need not be imported)."""
    return any(Path(f).exists() for f in _DRIVER_FILES)


def cuda_available() -> bool:
    """A usable CUDA GPU: the driver is there and torch sees a device (a broken install is no GPU)."""
    if not nvidia_driver_present():
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def resolve_device(device: str = "auto") -> str:
    """ "auto" (or "") means cuda when a GPU is usable, else cpu; anything else is passed through."""
    if device.strip().lower() in ("", "auto"):
        return "cuda" if cuda_available() else "cpu"
    return device


def gpu_dtype(torch: Any) -> Any:
    """bf16 where the GPU computes it natively (Ampere and later), else fp16 (T4, V100: bf16 would be
    emulated, slowly, or refused); the caller checks fp16 logits for overflow (`zerank`)."""
    try:
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16
    except Exception:  # an old driver or torch that cannot tell: fp16 runs everywhere CUDA does
        pass
    return torch.float16
