"""Candidate fusion rules measured by `bench.fusion_eval` (issue 19's experiments)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Scored = tuple[str, float]


def combine(bm25: Sequence[Scored], dense: Sequence[Scored], nb: np.ndarray, nd: np.ndarray, w: float,
            miss_b: float = 0.0, miss_d: float = 0.0) -> list[Scored]:  # fmt: skip
    scores: dict[str, float] = {}
    for (c, _), v in zip(bm25, nb, strict=True):
        scores[c] = (1 - w) * float(v) + w * miss_d
    dense_ids = set()
    for (c, _), v in zip(dense, nd, strict=True):
        dense_ids.add(c)
        if c in scores:
            scores[c] += w * (float(v) - miss_d)
        else:
            scores[c] = (1 - w) * miss_b + w * float(v)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def arr(lst: Sequence[Scored]) -> np.ndarray:
    return np.asarray([s for _, s in lst], dtype=np.float64)


def mm(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    lo, hi = x.min(), x.max()
    return np.ones_like(x) if hi - lo < 1e-12 else (x - lo) / (hi - lo)


def coverage(q: dict) -> float:
    return min(1.0, (q["max_tokens"] - 2) / max(1, q["wordpieces"]))


def tm2c2(w: float | Callable[[dict], float], dense_lo: float = -1.0, miss: bool = False) -> Callable:
    def rule(q: dict) -> list[Scored]:
        b, d = arr(q["bm25"]), arr(q["dense"])
        nb = b / b.max() if b.size else b
        nd = (d - dense_lo) / (1 - dense_lo)
        ww = w(q) if callable(w) else w
        mb = float(nb.min()) if miss and nb.size else 0.0
        md = float(nd.min()) if miss and nd.size else 0.0
        return combine(q["bm25"], q["dense"], nb, nd, ww, mb, md)

    return rule


def minmax(w: float | Callable[[dict], float]) -> Callable:
    def rule(q: dict) -> list[Scored]:
        ww = w(q) if callable(w) else w
        return combine(q["bm25"], q["dense"], mm(arr(q["bm25"])), mm(arr(q["dense"])), ww)

    return rule


def cov(alpha: float) -> Callable[[dict], float]:
    return lambda q: alpha * coverage(q)


def candidates() -> dict[str, Callable]:
    out: dict[str, Callable] = {}
    for a in (0.5, 0.6, 0.7, 0.8, 0.9):
        out[f"tm2c2 [-1,1] a={a}"] = tm2c2(a)
        out[f"tm2c2 [-1,1] cov a={a}"] = tm2c2(cov(a))
        out[f"tm2c2 [0,1] cov a={a}"] = tm2c2(cov(a), 0.0)
        out[f"minmax cov a={a}"] = minmax(cov(a))
        out[f"tm2c2 [-1,1] cov miss a={a}"] = tm2c2(cov(a), miss=True)
    return out
