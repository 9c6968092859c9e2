"""Build the sample corpus's relevance judgments from data/sample_queries.json against an index of
data/sample, and write them beside it (split `sample`):

    python data/make_sample_judgments.py [--index data/index]

The app does this by itself when it builds the sample index (ingest/sample.py); run this after
editing sample_queries.json. Each entry's answer is a PDF page or a quote from a text passage, so
the marks bind to passages, not whole files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ingest.sample_judgments import SampleJudgmentError, make_sample_judgments  # noqa: E402
from search.backends import open_backend  # noqa: E402
from search.settings import Settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: data/index)")
    parser.add_argument(
        "--queries", type=Path, default=HERE / "sample_queries.json", help="the sample queries"
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env(index_dir=args.index)
    try:
        path = make_sample_judgments(
            open_backend(settings), settings.index_dir, settings.sample_dir, args.queries
        )
    except (SampleJudgmentError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
