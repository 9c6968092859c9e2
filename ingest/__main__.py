"""`python -m ingest PATH... [--index DIR] [--rebuild]`: build or update the index."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ingest.beir import beir_sources, copy_judgments
from ingest.pipeline import file_sources, run_ingest
from search.backends import open_writer
from search.errors import SearchError
from search.settings import BACKEND_FLAGS, INDEX_FLAGS, Settings, add_arguments

SETTINGS_FLAGS = (*BACKEND_FLAGS, *INDEX_FLAGS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (PDF, .txt, .md)")
    parser.add_argument("--index", dest="index_dir", type=Path, help="index folder (default data/index)")
    parser.add_argument("--beir", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--rebuild", action="store_true", help="re-embed everything")
    parser.add_argument(
        "--keep-missing",
        action="store_true",
        help="keep indexed documents that are not among PATHs (default: remove them)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_arguments(parser, SETTINGS_FLAGS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.paths and not args.beir:
        parser.error("give at least one PATH or --beir FOLDER")
    settings = Settings.from_env().with_args(args)
    try:
        sources, skipped = file_sources(args.paths, int(settings.max_file_mb * 1024 * 1024))
        if args.beir:
            sources += beir_sources(args.beir)
        report = run_ingest(
            sources,
            open_writer(settings),
            settings,
            rebuild=args.rebuild,
            prune=not args.keep_missing,
            skipped=skipped,
        )
        if args.beir:
            copy_judgments(args.beir, settings.index_dir)
    except (SearchError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
