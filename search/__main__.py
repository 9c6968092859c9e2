"""`python -m search "query" [--collection NAME | --index DIR] [--top-k 10] [--no-rerank] [--json]
[--reranker auto|...]`: the hybrid list beside the reranked one."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from pathlib import Path

from search.collections import missing_message, settings_from_cli
from search.compare import agreement, format_score, gain_line, movement_text, went_text
from search.errors import IndexNotFoundError, SearchError
from search.models import FUSED, RERANKED, Hit, RerankerStatus, SearchResult
from search.passage import separate_headings
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
#: The narrowest table drawn; a narrower terminal wraps its lines.
MIN_WIDTH = 60


def render(result: SearchResult, top_k: int, width: int | None = None, *, rerank: bool = True) -> str:
    """Fused and reranked lists side by side, with rank moves both ways, labelled scores, citations
    and per-stage timings, in `width` columns (the terminal's; at least `MIN_WIDTH`): a citation or
    a snippet is shortened to fit, a score never. `rerank=False` prints the fused list alone."""
    width = max(MIN_WIDTH, width or shutil.get_terminal_size((120, 20)).columns)
    fused, reranked = result.stages.get(FUSED, []), result.stages.get(RERANKED, [])
    status = result.reranker
    lines = _wrap(f"query: {result.query}", width)
    if result.match is not None and result.match.message:
        lines += ["", *_wrap(f"*** {result.match.message} ***", width), ""]
    lines += _wrap(f"fusion: {result.fusion_note or result.fusion.describe()}", width)
    if not rerank:
        lines += ["reranking: skipped (--no-rerank)", "", FUSED_TITLE, "─" * width]
        for hit in fused:
            lines += _cell(hit, FUSED, "", width)
        return "\n".join(lines + _tail(result, top_k, width))
    lines += _wrap(f"reranker: {status.line() if status else 'off'}", width)
    lines += _wrap(gain_line(result, top_k), width)
    col = (width - 3) // 2
    right_title = f"Reranked by {status.name}" if reranked and status else "Not reranked"
    left_title, right_title = _fit(FUSED_TITLE, col), _fit(right_title, col)
    lines += ["", f"{left_title:<{col}} │ {right_title}", "─" * col + "─┼─" + "─" * col]
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
            lines.append(f"{a:<{col}} │ {b}".rstrip())
    return "\n".join(lines + _tail(result, top_k, width))


def _no_rerank_line(status: RerankerStatus | None) -> str:
    """The right column without a reranker, in one line: why, and the settings that fix it."""
    if status is None or (not status.reason and not status.attempts):
        return "Reranking is off (SEARCH_RERANKER=none); set SEARCH_RERANKER=auto to rerank."
    fixes = "; ".join(a.fix for a in status.attempts) or "see the reason"
    return f"No reranker here ({status.line()}). To fix: {fixes}."


def _tail(result: SearchResult, top_k: int, width: int) -> list[str]:
    lines = [""]
    agree = agreement(result, top_k)
    if agree is not None:
        tau = "n/a" if agree.tau is None else f"{agree.tau:.2f}"
        lines.append(f"agreement: overlap@{agree.k} {agree.overlap:.2f}, Kendall tau {tau}")
    lines += _wrap("timings: " + ", ".join(f"{k} {v:.1f} ms" for k, v in result.timings_ms.items()), width)
    return lines + [line for w in result.warnings for line in _wrap(f"warning: {w}", width)]


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) if text else []


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` characters, with "…" where it was cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _cell(hit: Hit, stage: str, move: str, width: int) -> list[str]:
    """One hit in `width` columns: rank and citation, the labelled score and the move (on the same
    line when they fit, else on the next), then two lines of snippet. Only the citation and the
    snippet are shortened: the score is always whole."""
    rank = f"{hit.rank(stage):>2}. "
    score = f"[{SCORE_LABELS[stage]} {format_score(hit.score(stage))}]"
    cite = hit.chunk.citation()
    extras = [score, move] if move else [score]
    lines = [rank + cite + "".join(f"  {x}" for x in extras)]
    if len(lines[0]) > width:  # the citation alone first, then the score and move, packed
        lines = [rank + _fit(cite, width - len(rank))]
        for part in extras:
            last = lines[-1]
            if len(lines) > 1 and len(last) + 2 + len(part) <= width:
                lines[-1] = f"{last}  {part}"
            else:
                lines.append(_fit(f"    {part}", width))
    text = separate_headings(hit.chunk.text) if hit.chunk.page_start is not None else hit.chunk.text
    snippet = textwrap.shorten(text, width=max(20, width - 4) * 2, placeholder=" …")
    return lines + textwrap.wrap(snippet, width - 4, initial_indent="    ", subsequent_indent="    ")[:2]


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
    except IndexNotFoundError as exc:
        message = missing_message(settings, args.collection) if args.collection else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 2
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
