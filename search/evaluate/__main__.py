"""`python -m search.evaluate --beir PATH [--beir PATH ...] [--reranker NAME] [--max-queries N]
[--split test] [--tune-on dev,train] [--out DIR] [--cache DIR]`

Builds (or reuses) one index per BEIR folder with the normal ingest, runs every judged query of the
split through BM25, dense and hybrid retrieval, each with and without reranking, and prints one
table per metric (NDCG@10, Recall@100, MRR@10) plus latencies. Writes results.json, results.csv,
latency.csv, results.md and ndcg10.png to --out.

--tune-on names the split to tune the fusion on, or several in order of preference (`dev,train`:
SciFact has no dev split); the tuned parameters are stored with the cached index, and the table
gains a "Hybrid (tuned)" column scored on the evaluated split only.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

from search.settings import BACKEND_FLAGS, INDEX_FLAGS, RERANK_FLAGS, SEARCH_FLAGS, Settings, add_arguments

SETTINGS_FLAGS = (*BACKEND_FLAGS, *INDEX_FLAGS, *SEARCH_FLAGS, *RERANK_FLAGS)
#: Benchmarks judge the full query text (AILA's queries run to 6,000 characters); the app's cut at
#: `max_query_chars` (2,000) is a guard for typed input. `--max-query-chars` restores a cut.
EVAL_MAX_QUERY_CHARS = 1_000_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m search.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--beir",
        type=Path,
        action="append",
        required=True,
        help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/); repeat for several",
    )
    parser.add_argument(
        "--reranker",
        choices=["auto", "zerank", "cross-encoder", "api", "none"],
        default=None,
        help="reranker backend (default: settings, auto); none skips the reranked columns",
    )
    parser.add_argument(
        "--max-queries", type=int, default=None, help="evaluate (and tune on) at most N queries"
    )
    parser.add_argument("--split", default="test", help="qrels split to evaluate on (default test)")
    parser.add_argument(
        "--tune-on",
        default=None,
        help="tune the fusion on this split (comma list = first available), report on --split",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out/eval"), help="output folder")
    parser.add_argument("--cache", type=Path, default=Path(".eval-cache"), help="index cache folder")
    parser.add_argument(
        "--no-save-tuned", action="store_true", help="do not store tuned fusion with the index"
    )
    parser.add_argument(
        "--no-grid",
        action="store_true",
        help="skip scoring every fixed fusion on the evaluated split (used to choose a default)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_arguments(parser, SETTINGS_FLAGS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env().with_args(args)
    if args.max_query_chars is None:
        settings = replace(settings, max_query_chars=EVAL_MAX_QUERY_CHARS)
    if args.reranker:
        settings = replace(settings, reranker=args.reranker)
    for folder in args.beir:
        if not (folder / "corpus.jsonl").is_file():
            print(f"error: {folder} is not a BEIR folder (no corpus.jsonl)", file=sys.stderr)
            return 2

    from ingest.beir import prepare_beir_index
    from search.embedding import make_embedder
    from search.evaluate.beir import evaluate_beir
    from search.evaluate.report import render_markdown, write_outputs
    from search.rerank.load import load_reranker

    started = time.perf_counter()
    embedder = make_embedder(settings)
    reranker, status = load_reranker(settings)
    if settings.reranker != "none" and reranker is None:
        print(f"warning: {status.line()}; reporting first-stage columns only", file=sys.stderr)
    tune_on = [s.strip() for s in args.tune_on.split(",") if s.strip()] if args.tune_on else []
    reports = []
    for folder in args.beir:
        try:
            index = prepare_beir_index(
                folder, settings, args.cache, embedder=embedder, show_progress=not args.quiet
            )
            report = evaluate_beir(
                folder,
                index,
                embedder=embedder,
                reranker=reranker,
                reranker_status=status,
                split=args.split,
                tune_on=tune_on,
                max_queries=args.max_queries,
                save_tuned=not args.no_save_tuned,
                fixed_grid=not args.no_grid,
                show_progress=not args.quiet,
            )
        except (OSError, ValueError) as exc:
            print(f"error: {folder}: {exc}", file=sys.stderr)
            return 2
        reports.append(report)
    extra = {
        "settings": {k: str(v) for k, v in vars(settings).items()},
        "reranker": status.to_dict(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    paths = write_outputs(reports, args.out, extra)
    print(render_markdown(reports))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
