"""One BEIR data set end to end on an index built from it (by `ingest.beir.prepare_beir_index`):
the judged split, and optional tuning on another split kept out of the evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from search import judgments
from search.backends import open_backend
from search.embedding import Embedder
from search.evaluate.runner import DatasetReport, EvalProgress, _cap, evaluate_searcher
from search.fusion_config import default_fusion, save_fusion
from search.metrics import Qrels, positive_qrels
from search.models import RerankerStatus
from search.pipeline import Searcher
from search.rerank.base import Reranker
from search.settings import Settings


def tuning_split(index_dir: Path, preferences: Sequence[str]) -> str | None:
    """The first of `preferences` (e.g. dev, then train) with a qrels file beside the index."""
    for name in preferences:
        found = judgments.resolve_split(index_dir, name)
        if found:
            return found
    return None


def _tuning_queries(
    index_dir: Path, tune_on: Sequence[str], eval_split: str, max_queries: int | None, notes: list[str]
) -> tuple[str, set[str], dict[str, str], Qrels] | None:
    """(split, all its query ids, judged queries, qrels) to tune on: the first of `tune_on` apart from
    the evaluated split."""
    if not tune_on:
        return None
    found = tuning_split(index_dir, tune_on)
    if found is None or found == eval_split:
        notes.append(f"no tuning split among {', '.join(tune_on)} apart from {eval_split}: not tuned")
        return None
    queries, qrels = judgments.load(index_dir, found)
    judged = positive_qrels(qrels)
    return found, set(queries), _cap({q: t for q, t in queries.items() if q in judged}, max_queries), qrels


def evaluate_beir(
    folder: Path,
    s: Settings,
    *,
    embedder: Embedder,
    reranker: Reranker | None = None,
    reranker_status: RerankerStatus | None = None,
    split: str = "test",
    tune_on: Sequence[str] = (),
    max_queries: int | None = None,
    save_tuned: bool = True,
    fixed_grid: bool = True,
    show_progress: bool = True,
    progress: EvalProgress | None = None,
) -> DatasetReport:
    """One BEIR folder end to end: cached index, judged split, optional tuning on another split.

    When the evaluated split contains queries of the tuning split (AILA's test.tsv holds all 50
    queries, train_q1-q10 ten of them), those are left out of the evaluation, so no column is ever
    scored on a query that tuning saw; the report notes it. `s.index_dir` is the data set's index."""
    index_dir = Path(s.index_dir)
    name = Path(folder).resolve().name
    eval_split = judgments.resolve_split(index_dir, split) or split
    queries, qrels = judgments.load(index_dir, eval_split)
    notes: list[str] = []
    tuning = _tuning_queries(index_dir, tune_on, eval_split, max_queries, notes)
    if tuning is not None:
        shared = set(queries) & tuning[1]
        if shared:  # the whole tuning split stays out of the evaluation, also the part --max-queries skips
            notes.append(
                f"{len(shared)} queries of {tuning[0]} also in {eval_split}: left out of the evaluation"
            )
            queries = {q: t for q, t in queries.items() if q not in shared}
    tune_name, _, tune_queries, tune_qrels = tuning or ("", set(), None, None)
    judged = positive_qrels(qrels)
    queries = _cap({q: t for q, t in queries.items() if q in judged}, max_queries)
    searcher = Searcher(open_backend(s), embedder, s, reranker, reranker_status, fusion=default_fusion(s))
    report = evaluate_searcher(
        searcher,
        queries,
        qrels,
        name=name,
        split=eval_split,
        fusion=default_fusion(s),
        rerank=reranker is not None,
        candidates=s.candidates,
        rerank_depth=s.rerank_depth,
        tune_queries=tune_queries,
        tune_qrels=tune_qrels,
        tune_split=tune_name,
        fixed_grid=fixed_grid,
        show_progress=show_progress,
        progress=progress,
    )
    report.notes = notes + report.notes
    if report.tuning and save_tuned and report.tuning.result.recommends:
        save_fusion(index_dir, report.tuning.result.params)
        report.tuning.saved_to = str(index_dir / "fusion.json")
    return report
