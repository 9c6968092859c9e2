"""Which query words count as matches: NLTK's English stop-word list (179 words, as bm25s ships it:
`bm25s.stopwords.STOPWORDS_EN_PLUS`), so "were", "did" or "the" never count.

BM25 itself keeps its index's list (Lucene's 33 words, bm25s "en" by default): the longer list as
BM25's cost AILA 0.014 NDCG@10 (README "Stop words"), over the issue's 0.005 budget. What counts as a
match for a person, the highlighted words and the "No good match" test, uses the longer list.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: bm25s's token pattern: words of 2+ word characters.
_WORD = re.compile(r"(?u)\b\w\w+\b")

#: Question words NLTK's list keeps that a reader does not count as a match.
QUESTION_WORDS = frozenset(
    {"much", "many", "could", "would", "shall", "may", "might", "must", "get", "got", "tell", "whose"}
)


@lru_cache(maxsize=1)
def english() -> frozenset[str]:
    """NLTK's English stop words (from bm25s, imported on first use) plus `QUESTION_WORDS`."""
    from search.backends.local.lexical import _bm25s

    _bm25s()  # bm25s's own import quietens its logger first
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | QUESTION_WORDS


def content_words(text: str) -> list[str]:
    """The words of `text` (lower-cased, 2+ word characters) that are not stop words."""
    stop = english()
    return [w for w in _WORD.findall(text.lower()) if w not in stop]
