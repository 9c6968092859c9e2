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


def test_min_max_with_the_dense_weight_by_hand() -> None:
    params = FusionParams(mode="adaptive", alpha=0.6)
    fused = dict(fuse(BM25, DENSE, params))
    # bm25 min-max: a 1, b 6/9, c 0; dense: c 1, d 0.75, a 0; absent: 0
    assert fused["a"] == pytest.approx(0.4 * 1 + 0.6 * 0)
    assert fused["b"] == pytest.approx(0.4 * 6 / 9)
    assert fused["c"] == pytest.approx(0.4 * 0 + 0.6 * 1)
    assert fused["d"] == pytest.approx(0.6 * 0.75)
    # a query read whole ranks exactly as weighted min-max with the same alpha
    assert fuse(BM25, DENSE, params) == fuse(BM25, DENSE, FusionParams(mode="weighted", alpha=0.6))


def test_flat_lists_count_one_for_every_chunk() -> None:
    same = dict(fuse([("p", 4.0), ("q", 4.0)], [], ADAPTIVE))
    assert same["p"] == same["q"] == pytest.approx(0.4)
    flat = dict(fuse([], [("x", 0.26), ("y", 0.26)], ADAPTIVE))
    assert flat["x"] == flat["y"] == pytest.approx(0.6)


def test_empty_lists() -> None:
    assert fuse([], [], ADAPTIVE) == []
    assert [d for d, _ in fuse(BM25, [], ADAPTIVE)] == ["a", "b", "c"]
    assert [d for d, _ in fuse([], DENSE, ADAPTIVE)] == ["c", "d", "a"]


def test_ties_break_by_best_rank_then_id() -> None:
    # b and e tie at 0.25 exactly: e reached rank 2 in the dense list, b rank 3 in BM25
    half = FusionParams(mode="adaptive", alpha=0.5)
    fused = fuse([("a", 3.0), ("x", 2.0), ("b", 2.0), ("z", 1.0)], [("y", 3.0), ("e", 2.0), ("w", 1.0)], half)
    assert dict(fused)["b"] == dict(fused)["e"] == 0.25
    order = [d for d, _ in fused]
    assert order.index("e") < order.index("b") and order.index("x") < order.index("b")
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
