"""bm25s "robertson" against rank-bm25's BM25Okapi (the formula the design names) as the oracle."""

import random

import numpy as np
from rank_bm25 import BM25Okapi

from search.backends.local.lexical import LexicalIndex, tokenize

WORDS = [f"w{i}" for i in range(300)]


def corpus(n: int = 400, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    # Zipf-like: a few frequent words, a long tail of rare ones
    weights = [1 / (i + 1) for i in range(len(WORDS))]
    return [" ".join(rng.choices(WORDS, weights, k=rng.randint(5, 60))) for _ in range(n)]


def test_scores_equal_rank_bm25_for_terms_in_fewer_than_half_the_documents():
    texts = corpus()
    index = LexicalIndex.build(texts, k1=1.5, b=0.75, stemmer="", stopwords="")
    tokens = tokenize(texts, stemmer="", stopwords="")
    oracle = BM25Okapi(tokens, k1=1.5, b=0.75)
    df = {w: sum(w in set(t) for t in tokens) for w in WORDS}
    rare = [w for w in WORDS if 0 < df[w] < len(texts) / 2]
    rng = random.Random(1)
    for _ in range(30):
        query = rng.sample(rare, 3)
        expected = oracle.get_scores(query) / (1.5 + 1)  # bm25s leaves out the (k1 + 1) factor
        got = np.zeros(len(texts))
        for pos, score in index.search(" ".join(query), k=len(texts)):
            got[pos] = score
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_search_returns_only_matching_chunks_best_first():
    filler = [f"unrelated text number {i}" for i in range(10)]
    index = LexicalIndex.build(
        ["solar panels on roofs", "wind turbines offshore", "solar solar storage", *filler],
        k1=1.5,
        b=0.75,
        stemmer="english",
        stopwords="en",
    )
    hits = index.search("Solar", k=10)
    assert [p for p, _ in hits] == [2, 0]
    assert hits[0][1] > hits[1][1] > 0
    assert index.search("the of and", k=10) == []  # stop words only
    assert index.search("unknownword", k=10) == []


def test_stemming_matches_inflections():
    texts = ["running shoes", "a quiet library", "green tea", "old maps"]
    index = LexicalIndex.build(texts, k1=1.5, b=0.75, stemmer="english", stopwords="en")
    assert [p for p, _ in index.search("runs", k=5)] == [0]


def test_save_and_load_round_trip_without_pickle(tmp_path):
    texts = corpus(50)
    index = LexicalIndex.build(texts, k1=1.5, b=0.75, stemmer="english", stopwords="en")
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25", stemmer="english", stopwords="en")
    assert loaded.search("w1 w2 w30", 10) == index.search("w1 w2 w30", 10)


def test_corpus_of_stop_words_or_nothing_still_indexes(tmp_path):
    for texts in (["the of and", "to be or not to be"], []):
        index = LexicalIndex.build(texts, k1=1.5, b=0.75, stemmer="english", stopwords="en")
        assert index.search("the be", 5) == [] and index.search("solar", 5) == []
        index.save(tmp_path / f"bm25-{len(texts)}")
