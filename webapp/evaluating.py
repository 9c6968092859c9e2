"""The Evaluate tab's callbacks: the shipped judgments' table, evaluation, tuning and applying it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from search import judgments
from search.errors import UploadError
from search.models import FusionParams, RerankerStatus, Scope
from webapp.service import SearchService

#: The shipped judgments' table (Evaluate tab) scores at most this many queries.
SHIPPED_MAX_QUERIES = 100


@dataclass
class TuneView:
    text: str
    params: dict[str, Any]
    can_apply: bool


class Evaluating:
    """Mixed into `Callbacks`, which provides the attributes declared here."""

    service: SearchService
    private_marks: str
    _shipped: dict[str, str]
    _shipped_lock: threading.Lock

    def scope_label(self, scope: Scope | str) -> str:
        raise NotImplementedError

    def evaluate(
        self,
        session: str | None,
        scope: Scope | str,
        split: str | None,
        max_queries: int,
        rerank: bool,
        progress: Any = None,
    ) -> str:
        from search.evaluate.report import render_markdown

        if not split:
            raise_user("No judgments here yet: mark relevant results in the Search tab.")
        report = self.service.evaluate(
            session, Scope(scope), split, rerank=rerank, max_queries=max_queries, progress=progress
        )
        name = self.scope_label(scope)  # as the Search tab names it, not the index folder's name
        return render_markdown([replace(report, name=name)], title=f"{name}: {split} judgments")

    def shipped_table(self, session: str | None, scope: Scope | str, progress: Any = None) -> str:
        """What the Evaluate tab shows before anyone marks anything: the table of the judgments
        shipped with the main collection (the sample's, or a BEIR split), computed on first open
        and kept. Reranked columns only where reranking is quick (a GPU or the hosted API)."""
        if Scope(scope) is not Scope.MAIN:
            return ""
        shipped = [s for s in self.service.judgment_splits(None, Scope.MAIN) if s != judgments.USER_SPLIT]
        if not shipped:
            return ""
        split = "sample" if "sample" in shipped else shipped[0]
        with self._shipped_lock:
            if split not in self._shipped:
                status = self.service.reranker_status
                rerank = status.loaded and status.device != "cpu"
                table = self.evaluate(None, Scope.MAIN, split, SHIPPED_MAX_QUERIES, rerank, progress)
                self._shipped[split] = table + ("" if rerank else "\n\n" + rerank_note(status))
            return self._shipped[split]

    def tune(
        self, session: str | None, scope: Scope | str, split: str | None, progress: Any = None
    ) -> TuneView:
        if not split:
            raise_user("No judgments here yet: mark relevant results in the Search tab.")
        outcome = self.service.tune(session, Scope(scope), split, progress=progress)
        if outcome.refusal:
            text = (
                f"**No recommendation**: {outcome.refusal}.\n\nNDCG@10 now ({outcome.current.describe()}): "
                f"{outcome.before:.3f}; BM25 alone {outcome.bm25:.3f}, dense alone {outcome.dense:.3f}."
            )
            return TuneView(text, {}, False)
        held_out = "n/a (judge at least 2 queries)" if outcome.after is None else f"{outcome.after:.3f}"
        text = (
            f"**Best fusion on {outcome.n_queries} judged queries**: {outcome.params.describe()}.\n\n"
            f"NDCG@10 now ({outcome.current.describe()}): {outcome.before:.3f}; tuned, held-out "
            f"({outcome.folds}-fold): {held_out}; BM25 alone {outcome.bm25:.3f}, "
            f"dense alone {outcome.dense:.3f}."
        )
        better = outcome.after is not None and outcome.after > outcome.before
        return TuneView(text, outcome.params.to_dict(), better or outcome.after is None)

    def apply(
        self, session: str | None, scope: Scope | str, params: dict[str, Any] | None
    ) -> tuple[str, FusionParams]:
        if not params:
            raise_user("Tune first.")
        try:
            chosen = FusionParams.from_dict(params)
        except (TypeError, ValueError) as exc:
            raise UploadError(f"cannot use these fusion settings: {exc}") from None
        applied = self.service.apply_fusion(session, Scope(scope), chosen)
        return (
            f"Searches on {self.scope_label(scope)}{self.private_marks} now use {applied.describe()}.",
            applied,
        )


def rerank_note(status: RerankerStatus | None) -> str:
    """Under a table without reranked columns: why they are absent and what would add them."""
    if status is not None and status.loaded:
        return (
            f"_No reranked columns yet: reranking every judged query is slow on {status.device or 'CPU'}. "
            f"Tick “Include reranking” and press Evaluate to add them ({status.line()})._"
        )
    why = status.line() if status is not None else "reranking off"
    fixes = [a.fix for a in status.attempts] if status is not None else []
    fix = "; or ".join(fixes) if fixes else "set SEARCH_RERANKER=auto (or zerank, cross-encoder, api)"
    return (
        f"_No reranked columns: no reranker runs on this server ({why}). "
        f"To add them, {fix}, and restart the app._"
    )


def raise_user(message: str) -> NoReturn:
    """Stop a callback with a message for the user (the app shows `UploadError`s as they are)."""
    raise UploadError(message)
