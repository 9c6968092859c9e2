"""The fast BM25 query path against bm25s's own: same tokens, bit-identical scores, same ranking."""

from __future__ import annotations

import random

import numpy as np
import pytest

from search.backends.local.lexical import LexicalIndex, query_tokens, tokenize

TEXTS = [
    "Running runners ran; the RUNNER runs!",
    "Café, naïve coöperation — über-fast résumé",
    "snake_case_names and CamelCase and x1 y22 3.14 42",
    "The of and a an is it — only stop words here",
    "e-mail: someone@example.org, URL https://example.org/a_b?c=d",
    "日本語のテキスト 中文文本 한국어",
    "",
    "   ",
    "a I x",  # one-letter words are never tokens
]
SETTINGS = [("english", "en"), ("", ""), ("english", ""), ("", "en"), ("german", "de")]


@pytest.mark.parametrize(("stemmer", "stopwords"), SETTINGS)
def test_query_tokens_equal_bm25s_tokenize(stemmer: str, stopwords: str) -> None:
    for text in TEXTS:
        assert query_tokens(text, stemmer, stopwords) == tokenize([text], stemmer, stopwords)[0], text


def corpus(n: int = 600, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(200)] + ["cell", "cells", "the", "protein", "proteins", "gene"]
    weights = [1 / (i + 1) for i in range(len(words))]
    return [" ".join(rng.choices(words, weights, k=rng.randint(3, 50))) for _ in range(n)]


def test_scores_are_bit_identical_to_bm25s_get_scores() -> None:
    index = LexicalIndex.build(corpus(), k1=1.5, b=0.75, stemmer="english", stopwords="en")
    rng = random.Random(5)
    vocab = [t for t in index._vocab if t]  # bm25s adds "" (never a query token) outside its matrix
    for _ in range(50):
        terms = rng.sample(vocab, rng.randint(1, 6))
        terms += terms[:1]  # a repeated query term counts twice, as in bm25s
        ids = [index._vocab[t] for t in terms]
        expected = index.model.get_scores(terms)
        got = index.scores(ids)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_search_ranks_by_score_then_position_and_keeps_only_positive_scores() -> None:
    index = LexicalIndex.build(corpus(), k1=1.5, b=0.75, stemmer="english", stopwords="en")
    for query in ["w1 w7", "cells protein", "w150 w3 gene", "the"]:
        tokens = [t for t in tokenize([query])[0] if t in index._vocab]
        hits = index.search(query, 25)
        if not tokens:
            assert hits == []
            continue
        scores = index.model.get_scores(tokens)
        order = sorted((i for i in range(len(scores)) if scores[i] > 0), key=lambda i: (-scores[i], i))
        assert hits == [(i, float(scores[i])) for i in order[:25]]


def test_ties_at_the_cut_off_are_broken_by_position() -> None:
    texts = ["alpha"] * 30 + ["beta"] * 20 + ["gamma"] * 50  # equal chunks score equally
    index = LexicalIndex.build(texts, k1=1.5, b=0.75, stemmer="", stopwords="")
    hits = index.search("alpha", 10)
    assert [p for p, _ in hits] == list(range(10))
    assert len({s for _, s in hits}) == 1 and hits[0][1] > 0
    assert index.search("alpha", 0) == []
    assert [p for p, _ in index.search("beta alpha", 100)] == list(range(30, 50)) + list(range(30))


def test_each_thread_stems_with_its_own_stemmer_and_gets_the_same_tokens() -> None:
    """A PyStemmer object must not be called from two threads at once: every thread has its own,
    and queries tokenised by 8 threads at once equal the serial result."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from search.backends.local.lexical import _stemmer

    words = [f"{w}{s}" for w in ("running", "connection", "generous", "happily") for s in ("", "s", "ness")]
    texts = [" ".join(random.Random(i).choices(words, k=200)) for i in range(40)]
    serial = [query_tokens(t) for t in texts]
    barrier = threading.Barrier(8)

    def tokens(i: int) -> tuple[int, list[str]]:
        if i < 8:
            barrier.wait(timeout=30)
        return id(_stemmer("english").__self__), query_tokens(texts[i % len(texts)])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(tokens, range(400)))
    assert [t for _, t in results] == [serial[i % len(texts)] for i in range(400)]
    assert len({owner for owner, _ in results}) == 8  # one stemmer per worker thread
    assert _stemmer("english") is not _stemmer("german") and _stemmer("") is None
