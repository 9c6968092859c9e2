"""Whether a query matched anything: "none", "weak" or "good", said above the results.

Fusion always returns a full list, so without this a nonsense query ("zzqxv") gets ten hits that
look as confident as any. The test is on raw evidence that means the same on every query: did BM25
match any query word (after stop words), and how close in meaning is the best passage (the top
cosine, not a per-query rescaled score)?

- none: BM25 matched nothing and the top cosine is below `threshold`;
- weak: BM25 matched nothing, but a passage is close in meaning (dense retrieval alone);
- good: BM25 matched at least one query word.

The threshold (setting `no_match_similarity`) is calibrated on the shared BEIR sets: the top cosine of
every judged query against that of nonsense letter strings and stop-word-only queries on the same
collections (bench/fusion_lists.py, README "No good match").
"""

from __future__ import annotations

from collections.abc import Sequence

from search.models import MatchQuality

Scored = tuple[str, float]

NONE, WEAK, GOOD = "none", "weak", "good"


def classify(
    bm25: Sequence[Scored], dense: Sequence[Scored], threshold: float, why: str = ""
) -> MatchQuality:
    """The verdict for one query from its full BM25 and dense lists; `why` says why BM25 matched
    nothing (stop words only, or words absent from these documents)."""
    top = float(dense[0][1]) if dense else None
    if bm25:
        return MatchQuality(GOOD, "", top, True)
    why = f" ({why})" if why else ""
    if top is None or top < threshold:
        close = "" if top is None else f", and no passage is close in meaning (best similarity {top:.2f})"
        return MatchQuality(
            NONE,
            f"No good match: no query word matched{why}{close}. "
            "The passages below are only the nearest there are.",
            top,
            False,
        )
    return MatchQuality(
        WEAK,
        f"Weak match: no query word matched{why}; these passages are close in meaning only "
        f"(best similarity {top:.2f}).",
        top,
        False,
    )
