"""The adaptive default fusion (search/adaptive.py) on hand-computed cases and its edge cases: an empty
list, a flat list, ties, a one-word and a 2,000-word query."""

from __future__ import annotations

import pytest

from search.adaptive import QueryShape, dense_weight, explain
from search.embedding import Embedder
from search.fusion import fuse
from search.models import FusionParams

ADAPTIVE = FusionParams(mode="adaptive", alpha=0.6)
BM25 = [("a", 12.0), ("b", 9.0), ("c", 3.0)]
DENSE = [("c", 0.9), ("d", 0.8), ("a", 0.5)]


class FakeEmbedder:
    """Counts one word piece per word; reads 256 tokens (254 word pieces plus [CLS] and [SEP])."""

    max_tokens = 256

    def __init__(self) -> None:
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        self.calls += 1
        return len(text.split())


def test_theoretical_bounds_by_hand() -> None:
    fused = dict(fuse(BM25, DENSE, ADAPTIVE))
    # BM25 / the query's best (12); cosine (x + 1) / 2; absent: 0
    assert fused["a"] == pytest.approx(0.4 * 12 / 12 + 0.6 * 1.5 / 2)
    assert fused["b"] == pytest.approx(0.4 * 9 / 12)
    assert fused["c"] == pytest.approx(0.4 * 3 / 12 + 0.6 * 1.9 / 2)
    assert fused["d"] == pytest.approx(0.6 * 1.8 / 2)


def test_a_flat_dense_list_is_not_stretched() -> None:
    """Per-query min-max would turn cosines 0.26, 0.25 into 1 and 0; fixed bounds keep them close."""
    flat = [("x", 0.26), ("y", 0.25)]
    fused = dict(fuse([], flat, ADAPTIVE))
    assert fused["x"] - fused["y"] == pytest.approx(0.6 * 0.01 / 2)
    assert fused["x"] < 0.6 * 0.64  # nothing like the old 0.600 for "zzqxv"
    # a flat BM25 list (every chunk the same score) puts every chunk at the top of its range
    same = dict(fuse([("p", 4.0), ("q", 4.0)], [], ADAPTIVE))
    assert same["p"] == same["q"] == pytest.approx(0.4)


def test_empty_lists() -> None:
    assert fuse([], [], ADAPTIVE) == []
    assert [d for d, _ in fuse(BM25, [], ADAPTIVE)] == ["a", "b", "c"]
    assert [d for d, _ in fuse([], DENSE, ADAPTIVE)] == ["c", "d", "a"]
    # a BM25 list whose best score is 0 cannot be scaled by it: it adds nothing
    assert dict(fuse([("z", 0.0)], [], ADAPTIVE))["z"] == 0.0


def test_ties_break_by_best_rank_then_id() -> None:
    # b and e tie at 0.25 exactly: e reached rank 1 in the dense list, b rank 2 in BM25
    half = FusionParams(mode="adaptive", alpha=0.5)
    fused = fuse([("a", 2.0), ("b", 1.0)], [("e", 0.0)], half)
    assert dict(fused)["b"] == dict(fused)["e"] == 0.25
    assert [d for d, _ in fused] == ["a", "e", "b"]
    same = [d for d, _ in fuse([("y", 1.0), ("x", 1.0)], [], ADAPTIVE)]
    assert same == ["y", "x"]  # equal scores: rank 1 first, whatever the id


def test_one_word_query_is_read_whole_without_counting() -> None:
    embedder = FakeEmbedder()
    shape = QueryShape.of("battery", embedder)
    assert shape.read == 1.0 and shape.wordpieces is None and embedder.calls == 0
    assert dense_weight(ADAPTIVE, shape) == pytest.approx(0.6)
    assert "read the whole query" in explain(ADAPTIVE, shape)


def test_a_long_query_moves_weight_to_bm25() -> None:
    embedder = FakeEmbedder()
    query = " ".join(f"word{i}" for i in range(2000))
    shape = QueryShape.of(query, embedder)
    assert shape.wordpieces == 2000 and shape.limit == 254
    assert shape.read == pytest.approx(254 / 2000)
    assert dense_weight(ADAPTIVE, shape) == pytest.approx(0.6 * 254 / 2000)
    note = explain(ADAPTIVE, shape)
    assert "dense weight 0.08" in note and "read 254 of 2000 word pieces" in note
    # the long query flips the order a whole query would get: BM25's a beats dense's c
    assert next(d for d, _ in fuse(BM25, DENSE, ADAPTIVE, shape)) == "a"
    assert next(d for d, _ in fuse(BM25, DENSE, FusionParams(mode="adaptive", alpha=0.9))) == "c"


def test_real_embedder_counts_a_2000_word_query(embedder: Embedder) -> None:
    query = " ".join(["the coastal flood barrier protected the harbour town"] * 250)
    shape = QueryShape.of(query, embedder)
    assert shape.wordpieces is not None and shape.wordpieces >= 2000
    assert shape.limit == embedder.max_tokens - 2
    assert 0 < shape.read < 0.15


def test_other_modes_say_they_are_settings_or_tuned() -> None:
    tuned = FusionParams(mode="rrf", k=30, source="tuned on 50 judged queries (dev)")
    assert explain(tuned).startswith("RRF k=30 (") and "tuned" in explain(tuned)
    assert "BM25 matched nothing" in explain(ADAPTIVE, bm25_matched=False)
