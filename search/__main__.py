"""`python -m search "query" [--index DIR] [--top-k 10] [--no-rerank] [--json]`."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import textwrap
from pathlib import Path

from search.compare import kendall_tau, movement, overlap_at_k
from search.errors import SearchError
from search.models import FUSED, RERANKED, Hit, SearchResult
from search.settings import RERANK_FLAGS, SEARCH_FLAGS, Settings, add_arguments

SETTINGS_FLAGS = ("top_k", "embedding_backend", "embedding_int8", *SEARCH_FLAGS, "reranker", *RERANK_FLAGS)


def render(result: SearchResult, top_k: int, width: int | None = None) -> str:
    """Fused and reranked lists side by side, with rank moves, citations and per-stage timings."""
    width = width or max(80, shutil.get_terminal_size((120, 20)).columns)
    col = (width - 3) // 2
    fused, reranked = result.stages.get(FUSED, []), result.stages.get(RERANKED, [])
    right_title = f"Reranked by {result.reranker.name}" if reranked and result.reranker else "Reranked"
    lines = [
        f"query: {result.query}",
        f"fusion: {result.fusion.describe()}  ·  reranker: "
        f"{result.reranker.line() if result.reranker else 'off'}",
        "",
    ]
    lines.append(f"{'Hybrid (BM25 + dense, fused)':<{col}} │ {right_title:<{col}}")
    lines.append("─" * col + "─┼─" + "─" * col)
    for i in range(max(len(fused), len(reranked))):
        left = _cell(fused[i], FUSED, "", col) if i < len(fused) else [""]
        right = _cell(reranked[i], RERANKED, movement(reranked[i], top_k), col) if i < len(reranked) else [""]
        if i >= len(reranked) and not reranked and i == 0:
            right = [textwrap.shorten(result.reranker.line() if result.reranker else "reranking off", col)]
        for j in range(max(len(left), len(right))):
            a = left[j] if j < len(left) else ""
            b = right[j] if j < len(right) else ""
            lines.append(f"{a:<{col}} │ {b}")
    if reranked:
        ids_f, ids_r = [h.chunk.id for h in fused], [h.chunk.id for h in reranked]
        tau = kendall_tau(ids_f, ids_r)
        lines.append("")
        lines.append(
            f"agreement: overlap@{top_k} {overlap_at_k(ids_f, ids_r, top_k):.2f}, "
            f"Kendall tau {'n/a' if tau is None else f'{tau:.2f}'}"
        )
    lines.append("timings: " + ", ".join(f"{k} {v:.1f} ms" for k, v in result.timings_ms.items()))
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)


def _cell(hit: Hit, stage: str, move: str, width: int) -> list[str]:
    head = f"{hit.rank(stage):>2}. " + (f"{move:<8}" if move else "")
    head += f"{hit.chunk.citation()}  [{hit.score(stage):.4g}]"
    head = head if len(head) <= width else head[: width - 1] + "…"
    snippet = textwrap.shorten(hit.chunk.text, width=max(20, width - 4) * 2, placeholder=" …")
    return [
        textwrap.shorten(head, width),
        *textwrap.wrap(snippet, width - 4, initial_indent="    ", subsequent_indent="    ")[:2],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search", description=__doc__)
    parser.add_argument("query")
    parser.add_argument("--index", dest="index_dir", type=Path, help="index folder (default data/index)")
    parser.add_argument("--no-rerank", action="store_true", help="skip reranking (fused list only)")
    parser.add_argument("--json", action="store_true", help="print every stage as JSON")
    add_arguments(parser, SETTINGS_FLAGS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env().with_args(args)
    from search.pipeline import Searcher

    try:
        searcher = Searcher.open(settings, with_reranker=not args.no_rerank)
        result = searcher.search(args.query, rerank=not args.no_rerank)
    except SearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, ensure_ascii=False))
    else:
        print(render(result, settings.top_k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
