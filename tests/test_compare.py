"""Rank moves and list agreement, checked on hand-made lists."""

import pytest

from search.compare import kendall_tau, movement, overlap_at_k
from search.models import FUSED, RERANKED, Chunk, Hit


def hit(fused: int | None, reranked: int | None) -> Hit:
    ranks = {k: v for k, v in ((FUSED, fused), (RERANKED, reranked)) if v is not None}
    return Hit(Chunk("c", "d", "d.txt", "", "t"), ranks=ranks)


@pytest.mark.parametrize(
    "fused,reranked,expected",
    [(9, 4, "▲5"), (2, 4, "▼2"), (3, 3, "="), (37, 1, "from #37"), (None, 2, "new"), (11, 10, "from #11")],
)
def test_movement_badges(fused, reranked, expected):
    assert movement(hit(fused, reranked), top_k=10) == expected


def test_overlap_at_k():
    assert overlap_at_k(list("abcd"), list("dcba"), 4) == 1.0
    assert overlap_at_k(list("abcd"), list("abxy"), 4) == 0.5
    assert overlap_at_k(list("abcd"), list("wxyz"), 2) == 0.0


def test_kendall_tau_on_shared_items():
    assert kendall_tau(list("abcd"), list("abcd")) == pytest.approx(1.0)
    assert kendall_tau(list("abcd"), list("dcba")) == pytest.approx(-1.0)
    # one adjacent swap among 4 items: (5 concordant - 1 discordant) / 6
    assert kendall_tau(list("abcd"), list("bacd")) == pytest.approx(4 / 6)
    assert kendall_tau(list("ab"), list("xy")) is None
