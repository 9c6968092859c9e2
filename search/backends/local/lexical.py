"""BM25 over chunk texts with bm25s ("robertson" = rank-bm25's BM25Okapi formula, scaled by 1/(k1+1)).

Tokenisation is one function used for both chunks and queries, so they always agree.

bm25s (with numba and scipy, ~0.4 s) is imported on first use, not with this module: an unchanged
ingest re-run opens the writer but never builds or searches.

The query path does not call `bm25s.tokenize`/`BM25.get_scores`: per call those rebuild the
stop-word set, a vocabulary and a progress bar (~30 µs of a ~0.3 ms query at 100k chunks).
`query_tokens` applies the same rules directly, and `LexicalIndex.scores` adds the same float32
values of the same precomputed matrix in the same order, so scores are bit-identical.

Thread safety: a loaded `LexicalIndex` is only read on the query path (its vocabulary dict and
score arrays; numpy, no numba: bm25s's own numba `retrieve` is never called), so searches share it
without a lock. The stemmer is the one stateful object: each thread has its own (`_stemmer`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import bm25s


@lru_cache(maxsize=1)
def _bm25s() -> Any:
    """bm25s, imported on first use; its import sets its own logger to DEBUG ("Building index from
    tokens" on every build), so the level is put back to WARNING after the import."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


#: bm25s.tokenize's default pattern (scikit-learn's CountVectorizer): words of 2+ word characters.
_TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")


#: Per-thread PyStemmer objects: a `Stemmer` "has internal state, so must not be called concurrently"
#: (its docs), and searches tokenise queries in many request threads at once while an ingest
#: tokenises chunks in another. One object per thread and language (they are cheap) needs no lock.
_thread_stemmers = threading.local()


def _stemmer(language: str) -> Callable[[list[str]], list[str]] | None:
    """This thread's stemmer for `language` (None for no stemming)."""
    if not language:
        return None
    stemmers: dict[str, Callable[[list[str]], list[str]]] = getattr(_thread_stemmers, "by_language", {})
    _thread_stemmers.by_language = stemmers
    stem = stemmers.get(language)
    if stem is None:
        import Stemmer

        stem = stemmers[language] = Stemmer.Stemmer(language).stemWords
    return stem


@lru_cache(maxsize=8)
def _stopword_set(name: str) -> frozenset[str] | None:
    """The stop words bm25s.tokenize would drop for `name`, or None if bm25s does not expose them
    (then queries are tokenised by bm25s.tokenize itself, slower but still in agreement)."""
    if not name:
        return frozenset()
    _bm25s()
    try:
        from bm25s.tokenization import _infer_stopwords
    except ImportError:  # pragma: no cover - a bm25s that renamed its private helper
        return None
    return frozenset(_infer_stopwords(name))


def tokenize(texts: Sequence[str], stemmer: str = "english", stopwords: str = "en") -> list[list[str]]:
    """Lower-cased word tokens (2+ word characters), stop words removed, stemmed."""
    bm25s = _bm25s()
    out = bm25s.tokenize(
        list(texts),
        stopwords=stopwords or None,
        stemmer=_stemmer(stemmer),
        return_ids=False,
        show_progress=False,
    )
    return [list(t) for t in out]


def query_tokens(text: str, stemmer: str = "english", stopwords: str = "en") -> list[str]:
    """`tokenize([text], stemmer, stopwords)[0]` for one text, without bm25s.tokenize's per-call
    set-up: the same pattern, lower-casing, stop-word test on the unstemmed token, then stemming."""
    stop = _stopword_set(stopwords)
    if stop is None:
        return tokenize([text], stemmer, stopwords)[0]
    tokens = [t for t in _TOKEN_PATTERN.findall(text.lower()) if t not in stop]
    stem = _stemmer(stemmer)
    return list(stem(tokens)) if stem is not None and tokens else tokens


#: A token outside what `tokenize` can emit (it only yields word characters).
_NO_MATCH = "\u0000"


class LexicalIndex:
    """A bm25s index plus the tokenisation settings it was built with."""

    def __init__(self, model: bm25s.BM25, stemmer: str, stopwords: str) -> None:
        self.model = model
        self.stemmer = stemmer
        self.stopwords = stopwords
        self._vocab = model.vocab_dict
        scores = model.scores
        self._data = np.asarray(scores["data"])
        self._indices = np.asarray(scores["indices"])
        self._indptr = np.asarray(scores["indptr"])
        self._num_docs = int(scores["num_docs"])
        self._dtype = np.dtype(model.dtype)
        nonoccurrence = getattr(model, "nonoccurrence_array", None)
        self._nonoccurrence = None if nonoccurrence is None else np.asarray(nonoccurrence)

    def analyze(self, text: str) -> list[str]:
        """`text` as this index tokenises a query: its stemmer and stop words."""
        return query_tokens(text, self.stemmer, self.stopwords)

    @classmethod
    def build(
        cls, texts: Sequence[str], *, k1: float, b: float, stemmer: str, stopwords: str
    ) -> LexicalIndex:
        bm25s = _bm25s()
        model = bm25s.BM25(k1=k1, b=b, method="robertson")
        corpus = tokenize(texts, stemmer, stopwords)
        if not any(corpus):
            # bm25s cannot index an empty vocabulary (no chunks, or only stop words): give every
            # chunk one token that no query can produce, so the index is valid and matches nothing
            corpus = [[_NO_MATCH] for _ in range(max(1, len(corpus)))]
        model.index(corpus, show_progress=False)
        return cls(model, stemmer, stopwords)

    def save(self, folder: Path) -> None:
        self.model.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, *, stemmer: str, stopwords: str) -> LexicalIndex:
        bm25s = _bm25s()
        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False), stemmer, stopwords)

    def scores(self, token_ids: Sequence[int]) -> np.ndarray:
        """BM25 score of every chunk for the query's vocabulary ids; equal to bm25s's `get_scores`.

        bm25s adds each term's column with `np.add.at`; a column of the score matrix holds a
        chunk at most once, so plain fancy-index addition does the same float32 additions in the
        same order (term by term), without `np.add.at`'s handling of repeated indices.
        """
        out = np.zeros(self._num_docs, dtype=self._dtype)
        data, indices, indptr = self._data, self._indices, self._indptr
        for token in token_ids:
            start, end = indptr[token], indptr[token + 1]
            out[indices[start:end]] += data[start:end]
        if self._nonoccurrence is not None:  # only BM25L/BM25+; "robertson" has none
            out += self._nonoccurrence[np.asarray(token_ids)].sum()
        return out

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Positions and scores of the best k chunks that share at least one term with the query.

        Ties are broken by position, also at the cut-off (the k-th place), so the result is
        deterministic.
        """
        vocab, columns = self._vocab, len(self._indptr) - 1
        tokens = query_tokens(query, self.stemmer, self.stopwords)
        ids = [i for t in tokens if (i := vocab.get(t, columns)) < columns]  # "" has no column
        if not ids or k <= 0:
            return []
        scores = self.scores(ids)
        # Only chunks with a positive score qualify (as before): select among those alone.
        hits = np.flatnonzero(scores > 0)
        if hits.size == 0:
            return []
        values = scores[hits]
        if hits.size > k:
            kth = np.partition(values, hits.size - k)[hits.size - k]  # the k-th largest score
            above = values > kth
            tied = np.flatnonzero(values == kth)[: k - int(above.sum())]  # lowest positions first
            keep = np.union1d(np.flatnonzero(above), tied)
            hits, values = hits[keep], values[keep]
        order = np.lexsort((hits, -values))
        return [(int(i), float(s)) for i, s in zip(hits[order].tolist(), values[order].tolist(), strict=True)]
