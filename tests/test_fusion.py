"""Fusion on hand-computed cases: the formulas are written out, not copied from the code."""

import math

import numpy as np
import pytest

from search.fusion import dbsf, fuse, minmax, rrf, weighted
from search.models import FusionParams

BM25 = [("a", 12.0), ("b", 9.0), ("c", 3.0)]
DENSE = [("c", 0.9), ("d", 0.8), ("a", 0.5)]


def test_rrf_matches_the_formula_on_one_based_ranks():
    fused = dict(rrf([BM25, DENSE], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 63)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["d"] == pytest.approx(1 / 62)
    assert set(fused) == {"a", "b", "c", "d"}


def test_rrf_ties_break_by_best_rank_then_id():
    order = [d for d, _ in rrf([BM25, DENSE], k=60)]
    # a and c tie (ranks 1 and 3 each), b and d tie (rank 2 each)
    assert order == ["a", "c", "b", "d"]


def test_weighted_rrf_weights_each_list():
    fused = dict(rrf([BM25, DENSE], k=10, weights=[0.25, 0.75]))
    assert fused["d"] == pytest.approx(0.75 / 12)
    assert fused["b"] == pytest.approx(0.25 / 12)


def test_minmax_and_constant_lists():
    assert minmax(np.array([3.0, 1.0, 2.0])).tolist() == [1.0, 0.0, 0.5]
    assert minmax(np.array([5.0, 5.0])).tolist() == [1.0, 1.0]
    assert minmax(np.array([])).size == 0


def test_dbsf_maps_three_sigma_to_unit_range_and_clips():
    x = np.array([0.0] * 99 + [100.0])
    mean, std = x.mean(), x.std()
    got = dbsf(x)
    assert got[0] == pytest.approx((0 - (mean - 3 * std)) / (6 * std))
    assert got[-1] == pytest.approx(min(1.0, (100 - (mean - 3 * std)) / (6 * std)))
    assert np.all((got >= 0) & (got <= 1))


def test_weighted_minmax_by_hand():
    fused = dict(weighted([BM25, DENSE], weights=[0.3, 0.7]))
    # bm25 min-max: a 1, b 6/9, c 0; dense: c 1, d 0.75, a 0
    assert fused["a"] == pytest.approx(0.3 * 1 + 0.7 * 0)
    assert fused["b"] == pytest.approx(0.3 * 6 / 9)
    assert fused["c"] == pytest.approx(0.3 * 0 + 0.7 * 1)
    assert fused["d"] == pytest.approx(0.7 * 0.75)


@pytest.mark.parametrize("alpha,expected", [(0.0, ["a", "b", "c"]), (1.0, ["c", "d", "a"])])
def test_weighted_extremes_reproduce_a_single_retriever(alpha, expected):
    order = [d for d, _ in fuse(BM25, DENSE, FusionParams(mode="weighted", alpha=alpha))]
    assert order[:3] == expected


def test_fuse_dispatch_and_errors():
    assert fuse(BM25, DENSE, FusionParams(mode="rrf", k=60)) == rrf([BM25, DENSE], k=60)
    with pytest.raises(ValueError, match="alpha"):
        fuse(BM25, DENSE, FusionParams(alpha=1.5))
    with pytest.raises(ValueError, match="mode"):
        fuse(BM25, DENSE, FusionParams(mode="max"))
    with pytest.raises(ValueError, match="normalization"):
        fuse(BM25, DENSE, FusionParams(mode="weighted", normalization="softmax"))


def test_empty_lists_fuse_to_the_other_list():
    assert [d for d, _ in fuse([], DENSE, FusionParams())] == ["c", "d", "a"]
    assert fuse([], [], FusionParams(mode="weighted")) == []
    assert math.isclose(dict(fuse(BM25, [], FusionParams()))["a"], 1 / 61)
