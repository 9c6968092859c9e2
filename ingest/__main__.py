"""`python -m ingest PATH... [--collection NAME | --index DIR] [--prune] [--rebuild]`: add files to an
index, or update them; `python -m ingest --list` lists the collections."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ingest.beir import beir_sources, copy_judgments
from ingest.formats import KINDS
from ingest.pipeline import IngestReport, file_sources, run_ingest
from search.backends import open_writer
from search.collections import format_table, list_collections, settings_from_cli, to_json
from search.errors import SearchError
from search.quiet import progress_wanted
from search.settings import BACKEND_FLAGS, INDEX_FLAGS, add_arguments

SETTINGS_FLAGS = (*BACKEND_FLAGS, *INDEX_FLAGS)
#: How many kept-but-missing documents are named in the note before it says "and N more".
NOTE_NAMES = 10


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help=f"files or folders ({KINDS})")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--index", dest="index_dir", type=Path, help="index folder (default data/index)")
    where.add_argument(
        "--collection", metavar="NAME", help="named collection: data/collections/NAME ('main': data/index)"
    )
    parser.add_argument("--list", action="store_true", help="list the collections and what they hold")
    parser.add_argument("--beir", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--rebuild", action="store_true", help="re-embed everything")
    parser.add_argument(
        "--prune",
        "--mirror",
        dest="prune",
        action="store_true",
        help="also remove indexed documents that are not among PATHs (default: keep them)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_arguments(parser, SETTINGS_FLAGS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = settings_from_cli(parser, args)
    if args.list:
        found = list_collections(settings)
        print(to_json(found) if args.json else format_table(found))
        return 0
    if not args.paths and not args.beir:
        parser.error("give at least one PATH or --beir FOLDER (or --list)")
    try:
        sources, skipped = file_sources(args.paths, int(settings.max_file_mb * 1024 * 1024))
        if args.beir:
            sources += beir_sources(args.beir)
        report = run_ingest(
            sources,
            open_writer(settings),
            settings,
            rebuild=args.rebuild,
            prune=args.prune,
            skipped=skipped,
            show_progress=progress_wanted(),  # bars on a terminal, none in logs and pipes
        )
        if args.beir:
            copy_judgments(args.beir, settings.index_dir)
    except (SearchError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.summary())
    if report.kept_missing:
        print(prune_note(report), file=sys.stderr)
    return 0


def prune_note(report: IngestReport) -> str:
    """What a run without `--prune` kept that a mirroring run would have removed, and how to remove it."""
    missing = report.kept_missing
    n = len(missing)
    head = (
        f"note: kept {n} indexed document{'s' if n != 1 else ''} not among the inputs; "
        f"run again with --prune (or --mirror) to remove {'it' if n == 1 else 'them'}:"
    )
    names = [f"  {name}" for name in missing[:NOTE_NAMES]]
    if n > NOTE_NAMES:
        names.append(f"  ... and {n - NOTE_NAMES} more")
    return "\n".join([head, *names])


if __name__ == "__main__":
    sys.exit(main())
