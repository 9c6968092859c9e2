"""Fusion parameters stored with an index (`<index_dir>/fusion.json`), so tuning survives rebuilds."""

from __future__ import annotations

import json
from pathlib import Path

from search.adaptive import ADAPTIVE_ALPHA
from search.atomic import write_atomic
from search.models import FusionParams
from search.settings import Settings

FUSION_FILE = "fusion.json"


def default_fusion(settings: Settings) -> FusionParams:
    return FusionParams(
        mode=settings.fusion_mode,
        k=settings.rrf_k,
        alpha=settings.fusion_alpha,
        normalization=settings.fusion_normalization,
        source="default",
    )


def adaptive_default(settings: Settings) -> FusionParams:
    """The adaptive fusion with the settings' dense weight, or `ADAPTIVE_ALPHA` when the settings
    choose another mode (the evaluation's comparison column)."""
    base = default_fusion(settings)
    if base.mode == "adaptive":
        return base
    return FusionParams(mode="adaptive", alpha=ADAPTIVE_ALPHA, source="default")


def load_fusion(index_dir: Path, settings: Settings) -> FusionParams:
    """The index's stored parameters, or the settings' defaults when none were stored."""
    path = Path(index_dir) / FUSION_FILE
    if not path.is_file():
        return default_fusion(settings)
    return FusionParams.from_dict(json.loads(path.read_text(encoding="utf-8")))


def save_fusion(index_dir: Path, params: FusionParams) -> None:
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    write_atomic(Path(index_dir) / FUSION_FILE, json.dumps(params.to_dict(), indent=1))
