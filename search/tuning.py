"""Choosing fusion parameters from judgments: a small grid search with an honest held-out estimate.

Pure computation over cached per-query BM25 and dense chunk lists: every configuration re-fuses the
same lists with `search.fusion.fuse` (nothing is re-embedded or re-searched), documents are ranked
by their best chunk, and NDCG@10 is scored per query with ranx. The per-query score matrix
(configurations x queries) is computed once, so k-fold cross-validation is only re-averaging:
for each fold the selection rule runs on the other folds and its choice is scored on the held-out
one, which says what tuning is worth on queries it never saw.

The selection rule is the one-standard-error rule (Breiman et al. 1984; Hastie et al., ESL 7.10):
every configuration whose mean NDCG@10 is within one standard error of the best one's (the error
of the per-query difference to the best, so shared query difficulty cancels) is as good as the
judgments can tell. Tuning starts from the baseline (the adaptive default): when it is among those,
it stays; otherwise take the one that leans most towards the better single retriever on these
judgments, then the higher mean. The aim is fusion that does not lose: with few judged
queries (AILA's 10) the plain arg-max chases noise (there it picked a balanced RRF that lost 0.02
to BM25 on the held-out queries), while with many the standard error is small and the rule picks
nearly the arg-max. On the shared sets' tuning splits, cross-validation preferred this rule or
tied with the arg-max on three of four (SciFact: 0.727 vs 0.730).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from search.adaptive import WHOLE
from search.errors import JudgmentsError
from search.fusion import fuse
from search.metrics import HEADLINE, Scored, doc_ranking, per_query, positive_qrels, run_from_ranking
from search.models import FusionParams

log = logging.getLogger(__name__)

#: (BM25 list, dense list) of chunk ids with scores, best first, for one query; optionally a third
#: item, the query's `QueryShape` (how much of it the embedder read), which adaptive fusion uses.
QueryLists = tuple[Sequence[Scored], ...]
#: select(score matrix [config, query], the query columns to look at) -> chosen row.
Select = Callable[[np.ndarray, np.ndarray], int]

RRF_KS: tuple[int, ...] = (10, 30, 60, 100)
ALPHAS: tuple[float, ...] = tuple(round(a / 10, 1) for a in range(11))
NORMALIZATIONS: tuple[str, ...] = ("minmax", "dbsf")
DEFAULT_FOLDS = 5
#: How many standard errors below the best mean still count as "as good" (0 = plain arg-max).
STANDARD_ERRORS = 1.0
#: Below this many judged queries the in-sample score is noticeably optimistic (issue 5: "< ~50").
FEW_QUERIES = 50
#: Below this many judged queries tuning recommends nothing: a choice would fit noise.
MIN_QUERIES = 5
RULE = (
    "within 1 standard error of the best NDCG@10: the current fusion if it is, else the one leaning"
    " most to the better single retriever"
)


def fusion_grid(baseline: FusionParams | None = None) -> list[FusionParams]:
    """The search space, baseline first: adaptive fusion (min-max, dense weight x share read) for every alpha,
    RRF for k in RRF_KS (plain, and weighted with each alpha
    except 0.5, which ranks as plain RRF does), then weighted min-max and DBSF score fusion for
    every alpha. Weighted RRF with alpha 0 or 1 ranks one retriever's list first and the other's
    after it, so tuning can always fall back to (nearly) one retriever."""
    grid: list[FusionParams] = [baseline or FusionParams()]
    grid += [FusionParams(mode="adaptive", alpha=a) for a in ALPHAS]
    for k in RRF_KS:
        grid.append(FusionParams(mode="rrf", k=k))
        for alpha in ALPHAS:
            if alpha == 0.5 or (alpha in (0.0, 1.0) and k != 60):  # duplicates in ranking
                continue
            grid.append(FusionParams(mode="rrf", k=k, alpha=alpha, weighted_rrf=True))
    for norm in NORMALIZATIONS:
        grid += [FusionParams(mode="weighted", alpha=a, normalization=norm) for a in ALPHAS]
    return _unique(grid)


def dense_weight(params: FusionParams) -> float:
    """The share of the dense list in a fusion: alpha, or 0.5 for plain (unweighted) RRF."""
    return 0.5 if params.mode == "rrf" and not params.weighted_rrf else params.alpha


def score_configs(
    lists: Mapping[str, QueryLists],
    doc_of: Mapping[str, str] | Callable[[str], str],
    qrels: Mapping[str, Mapping[str, int]],
    configs: Sequence[FusionParams],
    metric: str = HEADLINE,
    show_progress: bool = False,
) -> tuple[list[str], np.ndarray]:
    """(query ids, matrix[config, query]) of per-query `metric` for every configuration, over the
    queries that have both lists and at least one relevant judgment."""
    judged = positive_qrels(qrels)
    qids = [q for q in lists if q in judged]
    matrix = np.zeros((len(configs), len(qids)), dtype=np.float64)
    if not qids:
        return qids, matrix
    sub_qrels = {q: judged[q] for q in qids}
    for i, params in enumerate(tqdm(configs, desc="fusion grid", unit="config", disable=not show_progress)):
        run = {q: run_from_ranking(doc_ranking(_fused(lists[q], params), doc_of)) for q in qids}
        values = per_query(sub_qrels, run, (metric,))[metric]
        matrix[i] = [values[q] for q in qids]
    return qids, matrix


def _fused(ql: QueryLists, params: FusionParams) -> Sequence[Scored]:
    return fuse(ql[0], ql[1], params, ql[2] if len(ql) > 2 else WHOLE)  # type: ignore[arg-type]


def score_singles(
    lists: Mapping[str, QueryLists],
    doc_of: Mapping[str, str] | Callable[[str], str],
    qrels: Mapping[str, Mapping[str, int]],
    qids: Sequence[str],
    metric: str = HEADLINE,
) -> np.ndarray:
    """matrix[2, query]: `metric` of the BM25 list alone (row 0) and the dense list alone (row 1)."""
    judged = positive_qrels(qrels)
    sub_qrels = {q: judged[q] for q in qids}
    rows = []
    for side in (0, 1):
        run = {q: run_from_ranking(doc_ranking(lists[q][side], doc_of)) for q in qids}
        values = per_query(sub_qrels, run, (metric,))[metric]
        rows.append([values[q] for q in qids])
    return np.asarray(rows, dtype=np.float64).reshape(2, len(qids))


def best_config(matrix: np.ndarray, columns: np.ndarray | None = None) -> int:
    """Row with the highest mean over `columns` (all by default); the first such row on ties."""
    sub = matrix if columns is None else matrix[:, columns]
    means = sub.mean(axis=1)
    return int(np.flatnonzero(means >= means.max() - 1e-12)[0])


def one_se_choice(
    matrix: np.ndarray,
    columns: np.ndarray | None,
    *,
    grid: Sequence[FusionParams],
    singles: np.ndarray,
    standard_errors: float = STANDARD_ERRORS,
) -> int:
    """The module's selection rule (see the module docstring), looking only at `columns`."""
    cols = np.arange(matrix.shape[1]) if columns is None else np.asarray(columns)
    sub = matrix[:, cols]
    means = sub.mean(axis=1)
    best = best_config(sub)
    n = sub.shape[1]
    if n >= 2 and standard_errors > 0:
        se = (sub - sub[best]).std(axis=1, ddof=1) / np.sqrt(n)
        candidates = np.flatnonzero(means >= means[best] - standard_errors * se - 1e-12)
    else:
        candidates = np.asarray([best])
    if 0 in candidates:  # row 0 is the baseline (the adaptive default): keep it unless beaten
        return 0
    single_means = singles[:, cols].mean(axis=1)
    toward = 0.0 if single_means[0] >= single_means[1] else 1.0  # BM25 better: lean to alpha 0
    return int(min(candidates, key=lambda i: (abs(dense_weight(grid[i]) - toward), -means[i], i)))


def fold_indices(n: int, folds: int, seed: int = 0) -> list[np.ndarray]:
    """`folds` disjoint, near-equal index sets covering range(n), after a seeded shuffle."""
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, folds) if part.size]


def cross_validate(
    matrix: np.ndarray, folds: int, seed: int = 0, select: Select = best_config
) -> tuple[np.ndarray, list[int]]:
    """Held-out per-query scores of `select` run on the other folds, and each fold's choice.
    Every query is scored exactly once, by a choice made without it."""
    n = matrix.shape[1]
    held = np.zeros(n, dtype=np.float64)
    chosen: list[int] = []
    for test in fold_indices(n, folds, seed):
        train = np.setdiff1d(np.arange(n), test)
        assert np.intersect1d(train, test).size == 0
        pick = select(matrix, train)
        chosen.append(pick)
        held[test] = matrix[pick, test]
    return held, chosen


@dataclass
class TuningResult:
    """What tuning chose and what it is worth. Scores are mean NDCG@10 over `query_ids`."""

    params: FusionParams
    score: float  # the chosen configuration on the tuning queries (in-sample, optimistic)
    baseline: FusionParams
    baseline_score: float
    bm25_score: float  # the BM25 list alone, documents by best chunk
    dense_score: float  # the dense list alone
    best_score: float  # the grid's best mean (the arg-max; the rule may choose below it)
    cv_score: float | None  # k-fold held-out estimate of tuning; None with fewer than 2 queries
    folds: int
    fold_choices: list[FusionParams]
    query_ids: list[str]
    grid: list[tuple[FusionParams, float]] = field(default_factory=list)
    rule: str = RULE
    refusal: str = ""  # why nothing is recommended (then `params` is the baseline); empty otherwise

    @property
    def recommends(self) -> bool:
        return not self.refusal

    @property
    def n_queries(self) -> int:
        return len(self.query_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params.to_dict(),
            "describe": self.params.describe(),
            "score": self.score,
            "baseline": self.baseline.to_dict(),
            "baseline_score": self.baseline_score,
            "bm25_score": self.bm25_score,
            "dense_score": self.dense_score,
            "best_score": self.best_score,
            "cv_score": self.cv_score,
            "folds": self.folds,
            "fold_choices": [p.describe() for p in self.fold_choices],
            "rule": self.rule,
            "n_queries": self.n_queries,
            "query_ids": list(self.query_ids),
            "grid": [{"params": p.to_dict(), "describe": p.describe(), HEADLINE: s} for p, s in self.grid],
            "refusal": self.refusal,
        }


def tune(
    lists: Mapping[str, QueryLists],
    doc_of: Mapping[str, str] | Callable[[str], str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    baseline: FusionParams | None = None,
    configs: Sequence[FusionParams] | None = None,
    folds: int = DEFAULT_FOLDS,
    standard_errors: float = STANDARD_ERRORS,
    label: str = "",
    seed: int = 0,
    show_progress: bool = False,
) -> TuningResult:
    """Choose fusion parameters for these judged queries by the one-standard-error rule.

    The returned params carry `source = "tuned on N judged queries (label)"`. The cross-validated
    estimate (the same rule, run without each held-out fold) is always computed, as it is cheap;
    with fewer than FEW_QUERIES queries it is the number to show, the in-sample one flatters.
    """
    baseline = baseline or FusionParams()
    grid = list(configs) if configs is not None else fusion_grid(baseline)
    if baseline not in grid:
        grid.insert(0, baseline)
    qids, matrix = score_configs(lists, doc_of, qrels, grid, show_progress=show_progress)
    if not qids:
        raise JudgmentsError(
            "no judged query with a relevant document among the retrieved queries: nothing to tune on"
        )
    singles = score_singles(lists, doc_of, qrels, qids)
    select = partial(one_se_choice, grid=grid, singles=singles, standard_errors=standard_errors)
    means = matrix.mean(axis=1)
    chosen = select(matrix, None)
    k, cv_score, fold_choices = _held_out(matrix, min(folds, len(qids)), seed, select, grid)
    source = f"tuned on {len(qids)} judged queries" + (f" ({label})" if label else "")
    refusal = refusal_reason(len(qids), means)
    result = TuningResult(
        params=baseline if refusal else replace(grid[chosen], source=source),
        score=float(means[chosen]),
        baseline=baseline,
        baseline_score=float(means[grid.index(baseline)]),
        bm25_score=float(singles[0].mean()),
        dense_score=float(singles[1].mean()),
        best_score=float(means.max()),
        cv_score=cv_score,
        folds=k if k >= 2 else 0,
        fold_choices=fold_choices,
        query_ids=qids,
        grid=sorted(zip(grid, means.tolist(), strict=True), key=lambda item: -item[1]),
        rule=RULE if standard_errors == STANDARD_ERRORS else f"within {standard_errors:g} standard errors",
        refusal=refusal,
    )
    held = "n/a" if cv_score is None else f"{cv_score:.4f}"
    log.info(
        "tuned fusion on %d queries: %s (NDCG@10 %.4f in-sample, %s held-out)",
        len(qids),
        result.params.describe(),
        result.score,
        held,
    )
    return result


def _held_out(
    matrix: np.ndarray, k: int, seed: int, select: Callable[..., int], grid: Sequence[FusionParams]
) -> tuple[int, float | None, list[FusionParams]]:
    """(folds, cross-validated NDCG@10, each fold's choice); no estimate with fewer than 2 folds."""
    if k < 2:
        return k, None, []
    held, picks = cross_validate(matrix, k, seed, select)
    return k, float(held.mean()), [grid[i] for i in picks]


def refusal_reason(n_queries: int, means: np.ndarray) -> str:
    """Why the judged queries cannot choose a fusion (too few, or every setting scores the same);
    empty when they can."""
    if n_queries < MIN_QUERIES:
        return (
            f"only {n_queries} judged {'query' if n_queries == 1 else 'queries'}: judge at least "
            f"{MIN_QUERIES} before tuning, or the choice just fits those few"
        )
    if float(means.max() - means.min()) < 1e-9:
        return (
            f"every fusion setting scores the same NDCG@10 ({float(means[0]):.3f}) on these "
            f"{n_queries} judged queries, so they cannot tell settings apart: judge queries whose "
            "BM25 and dense results differ, marking the passages that answer"
        )
    return ""


def _unique(grid: list[FusionParams]) -> list[FusionParams]:
    seen: set[FusionParams] = set()
    out = []
    for p in grid:
        key = replace(p, source="default")
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
