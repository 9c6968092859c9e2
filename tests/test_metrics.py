"""Metric wrappers: hand-computed NDCG@10 / Recall@100 / MRR@10 must equal ranx, and the document
mapping (best chunk) and qrels cleaning must do what evaluation relies on."""

from __future__ import annotations

import math

import pytest

from search.metrics import (
    doc_ranking,
    doc_run_from_chunks,
    evaluate_run,
    per_query,
    positive_qrels,
    ranking_ndcg,
    run_from_ranking,
)


def _dcg(gains: list[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def test_positive_qrels_drops_zero_grades_and_queries_without_a_relevant_document() -> None:
    qrels = {"q1": {"a": 1, "b": 0}, "q2": {"c": 0}, "q3": {"d": 2}}
    assert positive_qrels(qrels) == {"q1": {"a": 1}, "q3": {"d": 2}}


def test_run_from_ranking_keeps_order_with_strictly_decreasing_scores() -> None:
    run = run_from_ranking(["x", "y", "x", "z"])
    assert list(run) == ["x", "y", "z"]
    assert run["x"] > run["y"] > run["z"] > 0


def test_doc_ranking_ranks_a_document_by_its_best_chunk() -> None:
    chunks = [("d2:1", 9.0), ("d1:0", 8.0), ("d2:0", 7.0), ("d3:0", 1.0), ("d1:1", 0.5)]
    doc_of = {c: c.split(":")[0] for c, _ in chunks}
    assert doc_ranking(chunks, doc_of) == ["d2", "d1", "d3"]
    assert doc_ranking(chunks, lambda c: c.split(":")[0]) == ["d2", "d1", "d3"]
    run = doc_run_from_chunks({"q": chunks}, doc_of)
    assert sorted(run["q"], key=lambda d: -run["q"][d]) == ["d2", "d1", "d3"]


def test_metrics_equal_hand_computation_with_graded_judgments() -> None:
    qrels = {"q1": {"a": 2, "b": 1, "z": 0}, "q2": {"c": 1, "e": 1}}
    ranking1 = ["x", "b", "z", "a"] + [f"n{i}" for i in range(20)]
    ranking2 = [f"m{i}" for i in range(11)] + ["c"]  # relevant only at rank 12: outside @10
    run = {"q1": run_from_ranking(ranking1), "q2": run_from_ranking(ranking2)}
    got = per_query(qrels, run)

    ndcg1 = _dcg([0, 1, 0, 2]) / _dcg([2, 1])  # linear gain (trec_eval / BEIR), zero row ignored
    assert got["ndcg@10"]["q1"] == pytest.approx(ndcg1, abs=1e-6)
    assert got["ndcg@10"]["q2"] == pytest.approx(0.0, abs=1e-6)
    assert got["recall@100"]["q1"] == pytest.approx(1.0, abs=1e-6)
    assert got["recall@100"]["q2"] == pytest.approx(0.5, abs=1e-6)
    assert got["mrr@10"]["q1"] == pytest.approx(0.5, abs=1e-6)
    assert got["mrr@10"]["q2"] == pytest.approx(0.0, abs=1e-6)

    means = evaluate_run(qrels, run)
    assert means["ndcg@10"] == pytest.approx(ndcg1 / 2, abs=1e-6)
    assert means["recall@100"] == pytest.approx(0.75, abs=1e-6)


def test_missing_run_query_scores_zero_and_unjudged_run_queries_are_ignored() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    run = {"q1": run_from_ranking(["a"]), "other": run_from_ranking(["b"])}
    got = per_query(qrels, run)
    assert set(got["ndcg@10"]) == {"q1", "q2"}  # q3 has no relevant document
    assert got["ndcg@10"] == {"q1": pytest.approx(1.0), "q2": pytest.approx(0.0)}
    assert evaluate_run(qrels, run)["ndcg@10"] == pytest.approx(0.5)


def test_no_judged_query_gives_empty_results() -> None:
    assert per_query({"q": {"a": 0}}, {"q": {"a": 1.0}}) == {"ndcg@10": {}, "recall@100": {}, "mrr@10": {}}
    assert evaluate_run({}, {})["ndcg@10"] == 0.0


def test_per_query_equals_ranx_on_plain_dictionaries() -> None:
    """Our array input to ranx gives what ranx computes from its own dictionary input."""
    import random
    import warnings

    from ranx import evaluate

    rng = random.Random(7)
    grades = [1, 1, 2, 3]
    qrels = {f"q{i}": {f"d{rng.randrange(60)}": rng.choice(grades) for _ in range(4)} for i in range(30)}
    run = {q: run_from_ranking(f"d{j}" for j in rng.sample(range(60), 40)) for q in qrels}
    ours = per_query(qrels, run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = evaluate(qrels, run, list(ours), return_mean=False)
    for metric, values in ours.items():
        assert list(values) == list(qrels)
        assert list(values.values()) == pytest.approx(list(theirs[metric]), abs=1e-9)


def test_a_single_metric_gives_per_query_values() -> None:
    got = per_query({"q": {"a": 1}}, {"q": run_from_ranking(["b", "a"])}, ("mrr@10",))
    assert got == {"mrr@10": {"q": pytest.approx(0.5)}}


def test_ranking_ndcg_in_numpy_equals_ranx() -> None:
    """The request path's NDCG (plain numpy) is the evaluation's (ranx), on graded, partly judged,
    duplicated and short rankings, at several depths."""
    import random

    rng = random.Random(11)
    for case in range(200):
        docs = [f"d{i}" for i in range(rng.randrange(1, 30))]
        grades = {d: rng.choice([0, 0, 1, 2, 3]) for d in rng.sample(docs, rng.randrange(1, len(docs) + 1))}
        ranked = [rng.choice(docs) for _ in range(rng.randrange(0, 25))]  # repeats: first place counts
        k = rng.choice([1, 3, 10, 20])
        ours = ranking_ndcg(ranked, grades, k)
        if not any(g >= 1 for g in grades.values()):
            assert ours is None
            continue
        metric = f"ndcg@{k}"
        theirs = per_query({"q": grades}, {"q": run_from_ranking(ranked)}, [metric])[metric]["q"]
        assert ours == pytest.approx(theirs, abs=1e-12), (case, ranked, grades, k)


def test_ranking_ndcg_by_hand() -> None:
    assert ranking_ndcg(["x", "a"], {"a": 1}) == pytest.approx(1 / math.log2(3))
    assert ranking_ndcg(["b", "a", "b"], {"a": 2, "b": 1, "z": 0}) == pytest.approx(
        _dcg([1, 2]) / _dcg([2, 1])
    )
    assert ranking_ndcg([], {"a": 1}) == 0.0
    assert ranking_ndcg(["a"], {"a": 0}) is None


def test_ranx_from_several_threads_at_once_does_not_abort_the_process() -> None:
    """numba's workqueue layer aborts the process when two threads run ranx's parallel code at once
    (the app's Evaluate/Tune from request threads): `RANX_LOCK` serialises them."""
    from concurrent.futures import ThreadPoolExecutor

    qrels = {f"q{i}": {f"d{i}": 1, f"d{i + 1}": 2} for i in range(50)}
    run = {q: run_from_ranking(f"d{j}" for j in range(60)) for q in qrels}
    expected = per_query(qrels, run)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: per_query(qrels, run), range(60)))
    assert all(r == expected for r in results)
