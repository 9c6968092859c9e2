"""`python -m search "query" [--collection NAME | --index DIR] [--top-k 10] [--no-rerank] [--json]
[--reranker auto|...]`: the hybrid list beside the reranked one."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from pathlib import Path

from search.collections import settings_from_cli
from search.compare import agreement, gain_line, movement_text, went_text
from search.errors import SearchError
from search.models import FUSED, RERANKED, Hit, RerankerStatus, SearchResult
from search.payload import result_json
from search.settings import BACKEND_FLAGS, RERANK_FLAGS, SEARCH_FLAGS, add_arguments

SETTINGS_FLAGS = (
    *BACKEND_FLAGS,
    "top_k",
    "embedding_backend",
    "embedding_int8",
    *SEARCH_FLAGS,
    *RERANK_FLAGS,
)
FUSED_TITLE = "Hybrid (BM25 + dense, fused)"
#: fused scores are scaled per query (by its best BM25 score), so they rank within a query only
SCORE_LABELS = {FUSED: "relative fused score", RERANKED: "rerank score"}
RERANKERS = ("auto", "zerank", "cross-encoder", "api", "none")


def render(result: SearchResult, top_k: int, width: int | None = None, *, rerank: bool = True) -> str:
    """Fused and reranked lists side by side, with rank moves both ways, labelled scores, citations
    and per-stage timings; `rerank=False` (`--no-rerank`) prints the fused list alone."""
    width = width or max(80, shutil.get_terminal_size((120, 20)).columns)
    fused, reranked = result.stages.get(FUSED, []), result.stages.get(RERANKED, [])
    status = result.reranker
    lines = [f"query: {result.query}"]
    if result.match is not None and result.match.message:
        lines += ["", f"*** {result.match.message} ***", ""]
    lines.append(f"fusion: {result.fusion_note or result.fusion.describe()}")
    if not rerank:
        lines += ["reranking: skipped (--no-rerank)", "", FUSED_TITLE, "─" * width]
        for hit in fused:
            lines += _cell(hit, FUSED, "", width)
        return "\n".join(lines + _tail(result, top_k))
    lines.append(f"reranker: {status.line() if status else 'off'}")
    gain = gain_line(result, top_k)
    lines += [gain] if gain else []
    col = (width - 3) // 2
    right_title = f"Reranked by {status.name}" if reranked and status else "Not reranked"
    lines += ["", f"{FUSED_TITLE:<{col}} │ {right_title:<{col}}", "─" * col + "─┼─" + "─" * col]
    note = [] if reranked else textwrap.wrap(_no_rerank_line(status), col)
    for i in range(max(len(fused), len(reranked), 1 if note else 0)):
        left = (
            _cell(fused[i], FUSED, went_text(fused[i], top_k) if reranked else "", col)
            if i < len(fused)
            else []
        )
        right = (
            _cell(reranked[i], RERANKED, movement_text(reranked[i], top_k), col) if i < len(reranked) else []
        )
        if note and i == 0:
            right = note
        for j in range(max(len(left), len(right))):
            a = left[j] if j < len(left) else ""
            b = right[j] if j < len(right) else ""
            lines.append(f"{a:<{col}} │ {b}")
    return "\n".join(lines + _tail(result, top_k))


def _no_rerank_line(status: RerankerStatus | None) -> str:
    """The right column without a reranker, in one line: why, and the settings that fix it."""
    if status is None or (not status.reason and not status.attempts):
        return "Reranking is off (SEARCH_RERANKER=none); set SEARCH_RERANKER=auto to rerank."
    fixes = "; ".join(a.fix for a in status.attempts) or "see the reason"
    return f"No reranker here ({status.line()}). To fix: {fixes}."


def _tail(result: SearchResult, top_k: int) -> list[str]:
    lines = [""]
    agree = agreement(result, top_k)
    if agree is not None:
        tau = "n/a" if agree.tau is None else f"{agree.tau:.2f}"
        lines.append(f"agreement: overlap@{agree.k} {agree.overlap:.2f}, Kendall tau {tau}")
    lines.append("timings: " + ", ".join(f"{k} {v:.1f} ms" for k, v in result.timings_ms.items()))
    return lines + [f"warning: {w}" for w in result.warnings]


def _cell(hit: Hit, stage: str, move: str, width: int) -> list[str]:
    label = SCORE_LABELS[stage]
    head = f"{hit.rank(stage):>2}. {hit.chunk.citation()}  [{label} {hit.score(stage):.4g}]"
    head = head + f"  {move}" if move else head
    snippet = textwrap.shorten(hit.chunk.text, width=max(20, width - 4) * 2, placeholder=" …")
    return [
        textwrap.shorten(head, width, placeholder="…"),
        *textwrap.wrap(snippet, width - 4, initial_indent="    ", subsequent_indent="    ")[:2],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m search",
        description="Search an index: the hybrid (BM25 + dense, fused) list beside the reranked one.",
        epilog="Every flag can also be set as SEARCH_<FLAG> in the environment (see the README).",
    )
    parser.add_argument("query", help="the question or keywords to search for")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--index", dest="index_dir", type=Path, help="index folder (default: data/index)")
    where.add_argument(
        "--collection", metavar="NAME", help="a named collection (`python -m ingest --list` lists them)"
    )
    parser.add_argument("--no-rerank", action="store_true", help="skip reranking: print the fused list alone")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the result as JSON, in the same shape as the app's /search API",
    )
    parser.add_argument(
        "--reranker",
        choices=RERANKERS,
        default=None,
        help="which reranker: auto (zerank-1 on a GPU, else the hosted zerank-1 with ZEROENTROPY_API_KEY, "
        "else a CPU cross-encoder, else none) or exactly one backend (default: auto)",
    )
    add_arguments(parser, SETTINGS_FLAGS)
    args = parser.parse_args(argv)
    settings = settings_from_cli(parser, args)
    from search.pipeline import Searcher

    try:
        searcher = Searcher.open(settings, with_reranker=not args.no_rerank)
        result = searcher.search(args.query, rerank=not args.no_rerank)
    except SearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result_json(result, settings.top_k), indent=1, ensure_ascii=False))
    else:
        print(render(result, settings.top_k, rerank=not args.no_rerank))
    return 0


if __name__ == "__main__":
    sys.exit(main())
