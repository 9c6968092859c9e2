"""BM25 over chunk texts with bm25s ("robertson" = rank-bm25's BM25Okapi formula, scaled by 1/(k1+1)).

Tokenisation is one function used for both chunks and queries, so they always agree.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)


@lru_cache(maxsize=4)
def _stemmer(language: str):
    if not language:
        return None
    import Stemmer

    return Stemmer.Stemmer(language).stemWords


def tokenize(texts: Sequence[str], stemmer: str = "english", stopwords: str = "en") -> list[list[str]]:
    """Lower-cased word tokens (2+ word characters), stop words removed, stemmed."""
    out = bm25s.tokenize(
        list(texts),
        stopwords=stopwords or None,
        stemmer=_stemmer(stemmer),
        return_ids=False,
        show_progress=False,
    )
    return [list(t) for t in out]


class LexicalIndex:
    """A bm25s index plus the tokenisation settings it was built with."""

    def __init__(self, model: bm25s.BM25, stemmer: str, stopwords: str) -> None:
        self.model = model
        self.stemmer = stemmer
        self.stopwords = stopwords
        self._vocab = model.vocab_dict

    @classmethod
    def build(
        cls, texts: Sequence[str], *, k1: float, b: float, stemmer: str, stopwords: str
    ) -> LexicalIndex:
        model = bm25s.BM25(k1=k1, b=b, method="robertson")
        corpus = tokenize(texts, stemmer, stopwords)
        # bm25s needs at least one token overall; an all-stop-word corpus still gets a valid index
        model.index(corpus, show_progress=False)
        return cls(model, stemmer, stopwords)

    def save(self, folder: Path) -> None:
        self.model.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, *, stemmer: str, stopwords: str) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False), stemmer, stopwords)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Positions and scores of the best k chunks that share at least one term with the query."""
        tokens = [t for t in tokenize([query], self.stemmer, self.stopwords)[0] if t in self._vocab]
        if not tokens or k <= 0:
            return []
        scores = self.model.get_scores(tokens)
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
