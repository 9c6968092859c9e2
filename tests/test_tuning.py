"""Fusion tuning on cached lists (pure): it finds the useful retriever, never scores a query with a
choice that saw it, and the tuned hybrid is at least as good as the better single retriever."""

from __future__ import annotations

import random

import numpy as np
import pytest

from search.fusion import fuse
from search.metrics import doc_run_from_chunks, evaluate_run
from search.models import FusionParams
from search.tuning import (
    best_config,
    cross_validate,
    fold_indices,
    fusion_grid,
    one_se_choice,
    score_configs,
    tune,
)

N_DOCS = 300


def _synthetic(n_queries: int, seed: int, useless: str) -> tuple[dict, dict]:
    """Per query: one relevant document `rel<q>` (two chunks). The good retriever ranks one of its
    chunks in the top 3; the useless one returns 100 random other chunks."""
    rng = random.Random(seed)
    lists, qrels = {}, {}
    for q in range(n_queries):
        qid = f"q{seed}-{q}"
        noise = [f"d{i}:0" for i in rng.sample(range(N_DOCS), 100)]
        good = list(noise[:99])
        good.insert(rng.randrange(3), f"rel{qid}:{rng.randrange(2)}")
        bad = [f"d{i}:1" for i in rng.sample(range(N_DOCS), 100)]
        scored_good = [(c, 30.0 - i * 0.25) for i, c in enumerate(good)]
        scored_bad = [(c, 0.9 - i * 0.001) for i, c in enumerate(bad)]
        lists[qid] = (scored_good, scored_bad) if useless == "dense" else (scored_bad, scored_good)
        qrels[qid] = {f"rel{qid}": 1}
    return lists, qrels


def _doc(chunk_id: str) -> str:
    return chunk_id.split(":")[0]


def _ndcg(lists: dict, qrels: dict, params: FusionParams) -> float:
    fused = {q: fuse(b, d, params) for q, (b, d) in lists.items()}
    return evaluate_run(qrels, doc_run_from_chunks(fused, _doc), ("ndcg@10",))["ndcg@10"]


def test_grid_starts_with_the_baseline_and_covers_the_issue_space() -> None:
    base = FusionParams(mode="rrf", k=60, source="default")
    grid = fusion_grid(base)
    assert grid[0] == base
    assert {p.k for p in grid if p.mode == "rrf"} == {10, 30, 60, 100}
    for norm in ("minmax", "dbsf"):
        alphas = sorted(p.alpha for p in grid if p.mode == "weighted" and p.normalization == norm)
        assert alphas == pytest.approx([i / 10 for i in range(11)])
    assert any(p.weighted_rrf and p.alpha == pytest.approx(0.3) for p in grid)
    adaptive = sorted(p.alpha for p in grid if p.mode == "adaptive")
    assert adaptive == pytest.approx([i / 10 for i in range(11)])  # tuning starts from the adaptive rule
    assert len(grid) == len(set(grid))


@pytest.mark.parametrize("useless", ["dense", "bm25"])
def test_tuning_moves_the_weight_to_the_useful_retriever(useless: str) -> None:
    train, train_qrels = _synthetic(40, seed=1, useless=useless)
    test, test_qrels = _synthetic(40, seed=2, useless=useless)
    assert not set(train) & set(test)
    result = tune(train, _doc, train_qrels, label="train")
    p = result.params
    assert p.mode in ("weighted", "adaptive") or p.weighted_rrf, p  # plain RRF cannot ignore a list
    assert (p.alpha < 0.5) if useless == "dense" else (p.alpha > 0.5), p
    assert p.source == "tuned on 40 judged queries (train)"
    assert set(result.query_ids) == set(train)
    assert result.score >= max(result.bm25_score, result.dense_score) - 1e-12
    assert result.score > result.baseline_score  # the default RRF is hurt by the useless list

    single = FusionParams(mode="rrf", alpha=0.0 if useless == "dense" else 1.0, weighted_rrf=True)
    tuned, better_single, default = (
        _ndcg(test, test_qrels, p),
        _ndcg(test, test_qrels, single),
        _ndcg(test, test_qrels, FusionParams()),
    )
    assert tuned >= better_single - 1e-9
    assert tuned > default
    assert (
        result.cv_score is not None and result.cv_score >= max(result.bm25_score, result.dense_score) - 0.05
    )


def test_cross_validation_never_scores_a_query_with_a_choice_that_saw_it() -> None:
    # config j (1..n) is perfect on query j-1 only; config 0 is mediocre everywhere. A choice made
    # with query j-1 in view picks config j and looks good in-sample, but scores 0 held out.
    n = 10
    matrix = np.zeros((n + 1, n))
    matrix[0, :] = 0.05
    for j in range(1, n + 1):
        matrix[j, j - 1] = 1.0
    held, chosen = cross_validate(matrix, folds=5)
    assert matrix.mean(axis=1).max() == pytest.approx(0.1)
    assert held.tolist() == [0.0] * n
    for test_idx, pick in zip(fold_indices(n, 5), chosen, strict=True):
        assert pick - 1 not in test_idx.tolist()


def test_folds_are_disjoint_and_cover_every_query() -> None:
    parts = fold_indices(23, 5, seed=3)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(23))
    assert all(len(p) in (4, 5) for p in parts)


def test_score_configs_skips_unjudged_queries_and_tune_needs_judgments() -> None:
    lists, qrels = _synthetic(5, seed=4, useless="dense")
    qrels[next(iter(qrels))] = {"nothing": 0}
    qids, matrix = score_configs(lists, _doc, qrels, [FusionParams()])
    assert len(qids) == 4 and matrix.shape == (1, 4)
    with pytest.raises(ValueError, match="nothing to tune on"):
        tune(lists, _doc, {})


def test_one_se_rule_keeps_the_baseline_within_noise_else_leans_to_the_better_retriever() -> None:
    w = "weighted"
    grid = [
        FusionParams(mode="adaptive", alpha=0.8),  # row 0: the baseline tuning starts from
        FusionParams(),
        FusionParams(mode=w, alpha=0.2),
        FusionParams(mode=w, alpha=0.8),
    ]
    noise = np.random.default_rng(0).normal(0, 0.2, size=40)
    wobble = np.tile([0.1, -0.1], 20)  # per-query differences: mean 0, standard error ~0.016
    bm25_better = np.vstack([np.full(40, 0.5), np.full(40, 0.3)])
    # RRF best; alpha 0.2 trails it by 0.01 (within one standard error), alpha 0.8 by 0.12 (outside)
    rows = [0.51 + noise + wobble, 0.52 + noise, 0.51 + noise + wobble, 0.40 + noise + wobble]
    close = np.vstack(rows)
    assert best_config(close) == 1
    # the baseline is within one standard error of the best: judgments cannot show better, it stays
    assert one_se_choice(close, None, grid=grid, singles=bm25_better) == 0
    beaten = np.vstack([0.30 + noise + wobble, *rows[1:]])  # baseline far behind
    assert one_se_choice(beaten, None, grid=grid, singles=bm25_better) == 2  # lean to BM25
    assert one_se_choice(beaten, None, grid=grid, singles=bm25_better[::-1]) == 1  # dense better: RRF
    assert one_se_choice(beaten, None, grid=grid, singles=bm25_better, standard_errors=0) == 1  # arg-max
    clear = np.vstack([0.30 + noise + wobble, 0.9 + noise, *rows[2:]])
    assert one_se_choice(clear, None, grid=grid, singles=bm25_better) == 1  # far ahead: kept
    # only the given columns count
    assert one_se_choice(beaten, np.arange(20), grid=grid, singles=bm25_better) in (1, 2)


def test_tuning_refuses_when_judgments_cannot_tell_settings_apart() -> None:
    # too few judged queries: no recommendation, the baseline stays
    lists, qrels = _synthetic(3, seed=5, useless="dense")
    base = FusionParams(mode="rrf", k=60)
    few = tune(lists, _doc, qrels, baseline=base)
    assert not few.recommends and few.params == base
    assert few.refusal.startswith("only 3 judged queries: judge at least 5")
    # every query's one relevant document tops both lists: every setting scores 1.0
    same_lists, same_qrels = {}, {}
    for q in range(8):
        top = [(f"rel{q}:0", 10.0)] + [(f"d{i}:0", 9.0 - i * 0.01) for i in range(50)]
        same_lists[f"q{q}"], same_qrels[f"q{q}"] = (top, list(top)), {f"rel{q}": 1}
    flat = tune(same_lists, _doc, same_qrels, baseline=base)
    assert not flat.recommends and flat.params == base
    assert "every fusion setting scores the same NDCG@10 (1.000)" in flat.refusal
    assert flat.to_dict()["refusal"] == flat.refusal
    # enough queries that differ: a recommendation
    many, many_qrels = _synthetic(20, seed=6, useless="dense")
    assert tune(many, _doc, many_qrels).recommends
