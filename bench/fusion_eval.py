"""Score fusion rules on the stored first-stage lists of `bench.fusion_lists` (seconds per rule).

    python -m bench.fusion_eval [--lists bench/out/fusion-lists] [--split test|tune] [--plus]

Prints NDCG@10 per set for BM25, dense, today's default (weighted min-max, dense weight 0.6) and
each candidate rule, with the rule of issue 19 checked: on every set >= the better single retriever
- 0.01, and the mean above the default's. `--plus` uses the BM25 lists with the "en_plus" stop words.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from search.adaptive import ADAPTIVE_ALPHA, QueryShape  # noqa: E402
from search.fusion import fuse  # noqa: E402
from search.models import FusionParams  # noqa: E402

ADAPTIVE = FusionParams(mode="adaptive", alpha=ADAPTIVE_ALPHA)


def shape_of(q: dict) -> QueryShape:
    return QueryShape(q["wordpieces"], q["max_tokens"] - 2)


Scored = tuple[str, float]
Rule = Callable[[dict], list[Scored]]


def ndcg10(ranked_docs: Sequence[str], grades: dict[str, int]) -> float:
    """NDCG@10 with linear gains (ranx's "ndcg", the evaluation's metric)."""
    gains = [grades.get(d, 0) for d in ranked_docs[:10]]
    dcg = sum(g / np.log2(i + 2) for i, g in enumerate(gains) if g > 0)
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / np.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def load_sets(folder: Path, plus: bool = False) -> dict[str, dict]:
    sets = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for q in data["queries"].values():
            for key in ("bm25", "dense", "bm25_plus"):
                q[key] = [(c, s) for c, s in q[key]]
            if plus:
                q["bm25"] = q["bm25_plus"]
        sets[data["name"]] = data
    return sets


def score(data: dict, rule: Rule, split: str) -> tuple[float, np.ndarray]:
    doc_of = data["doc_of"]
    values = []
    for qid, q in data["queries"].items():
        if q["split"] != split:
            continue
        fused = rule(q)
        docs = list(dict.fromkeys(doc_of[c] for c, _ in fused))
        values.append(ndcg10(docs, data["qrels"][qid]))
    arr = np.asarray(values)
    return float(arr.mean()) if arr.size else 0.0, arr


def params_rule(params: FusionParams) -> Rule:
    return lambda q: fuse(q["bm25"], q["dense"], params)


def base_rules() -> dict[str, Rule]:
    return {
        "BM25": lambda q: q["bm25"],
        "dense": lambda q: q["dense"],
        "default mm .6": params_rule(FusionParams(mode="weighted", alpha=0.6)),
        "RRF 60": params_rule(FusionParams(mode="rrf", k=60)),
        f"ADAPTIVE (product, a={ADAPTIVE_ALPHA})": lambda q: fuse(
            q["bm25"], q["dense"], ADAPTIVE, shape_of(q)
        ),
    }


def table(sets: dict[str, dict], rules: dict[str, Rule], split: str) -> None:
    names = list(sets)
    res = {r: {n: score(sets[n], f, split)[0] for n in names} for r, f in rules.items()}
    best_single = {n: max(res["BM25"][n], res["dense"][n]) for n in names}
    default_mean = np.mean([res["default mm .6"][n] for n in names])
    print(f"{'rule':34}" + "".join(f"{n[:12]:>13}" for n in names) + f"{'mean':>8}  ok")
    for r in rules:
        row = [res[r][n] for n in names]
        ok = all(res[r][n] >= best_single[n] - 0.01 for n in names) and np.mean(row) > default_mean
        print(
            f"{r[:34]:34}" + "".join(f"{v:13.3f}" for v in row) + f"{np.mean(row):8.3f}  {'*' if ok else ''}"
        )


def timing(sets: dict[str, dict], rule: Rule, n: int = 300) -> float:
    """Median ms per query of `rule` (the median resists a loaded machine's time slices)."""
    qs = [q for d in sets.values() for q in list(d["queries"].values())[:n]]
    times = []
    for q in qs:
        t0 = time.perf_counter()
        rule(q)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1000


def count_timing(queries_jsonl: Path) -> tuple[float, float]:
    """Median and max ms of `QueryShape.of` (the word-piece count) over a set's query texts."""
    from search.embedding import make_embedder
    from search.settings import Settings

    embedder = make_embedder(Settings())
    texts = [
        json.loads(line)["text"] for line in queries_jsonl.read_text(encoding="utf-8").splitlines() if line
    ]
    times = []
    for text in texts:
        query = " ".join(text.split())
        t0 = time.perf_counter()
        QueryShape.of(query, embedder)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1000, float(np.max(times)) * 1000


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lists", type=Path, default=Path("bench/out/fusion-lists"))
    p.add_argument("--split", default="test")
    p.add_argument("--plus", action="store_true")
    p.add_argument("--count", type=Path, help="a queries.jsonl: also time counting its word pieces")
    p.add_argument("--product", action="store_true", help="only the product's rules, not the candidates")
    args = p.parse_args()
    sets = load_sets(args.lists, args.plus)
    from bench.fusion_candidates import candidates

    rules = {**base_rules(), **({} if args.product else candidates())}
    table(sets, rules, args.split)
    ms = timing(sets, lambda q: fuse(q["bm25"], q["dense"], ADAPTIVE, shape_of(q)))
    old = timing(sets, params_rule(FusionParams(mode="weighted", alpha=0.6)))
    print(
        f"fusion step per query, median (100 + 100 candidates): adaptive {ms:.3f} ms, min-max .6 {old:.3f} ms"
    )
    if args.count:
        med, top = count_timing(args.count)
        print(f"word-piece count per query ({args.count.parent.name}): median {med:.3f} ms, max {top:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
