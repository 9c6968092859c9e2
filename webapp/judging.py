"""The service's judgments, evaluation and tuning: marks are stored with the collection, or for a
read-only shared index in the session's own view of it, so strangers never see each other's marks."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from search import judgments
from search.errors import UploadError
from search.evaluate.index import TuneOutcome, apply_fusion, evaluate_index, tune_index
from search.evaluate.runner import DatasetReport, EvalProgress
from search.models import FusionParams, Scope
from search.pipeline import Searcher
from search.settings import Settings

if TYPE_CHECKING:
    from webapp.sessions import Session, Sessions


class Judging:
    """Mixed into `SearchService`, which provides the attributes declared here."""

    main: Searcher
    settings: Settings
    shared: bool
    sessions: Sessions
    _lock: threading.Lock

    def searcher(self, session: str | None, scope: Scope = Scope.MAIN) -> Searcher:
        raise NotImplementedError

    def main_label(self) -> str:
        raise NotImplementedError

    def client(self, session: str | None) -> str | None:
        raise NotImplementedError

    # -- judgments, evaluation, tuning --

    def relevance(self, session: str | None, scope: Scope, query: str) -> dict[str, int]:
        """doc_id -> grade judged for this query in the collection (shipped judgments such as a BEIR
        set, then the user's marks, which win); empty when nothing was judged."""
        grades: dict[str, int] = {}
        for folder in self._judgment_dirs(self.searcher(session, scope)):
            grades.update(judgments.relevant_docs(folder, query))
        return grades

    def judge(
        self, session: str | None, scope: Scope, query: str, marks: Mapping[str, int | None]
    ) -> dict[str, int]:
        """Store the user's marks (passage key or doc_id -> grade, None to unmark) for `query` and
        return the new grades. Marks on the main index stay with the session unless uploads are shared."""
        limit = self.settings.max_mark_query_chars
        if limit and len(query) > limit:
            raise UploadError(f"a marked query may have at most {limit} characters (max_mark_query_chars)")
        searcher = self._writable_view(session, scope)
        known = {d.doc_id for d in searcher.backend.documents()}
        unknown = sorted(k for k in marks if (judgments.doc_of_key(k) or k) not in known)
        if unknown:
            raise UploadError(f"no such document or passage in this collection: {', '.join(unknown)}")
        found = None if self.shared else self.sessions.get(session)
        if found is not None:
            stored = judgments.relevant_docs(searcher.ref.state, query)
            self._check_marks(found, sum(1 for k, g in marks.items() if g is not None and k not in stored))
        for doc_id, grade in marks.items():
            judgments.mark(searcher.ref.state, query, doc_id, grade)
        if found is not None:
            found.marks = self._marks_of(found)
        return self.relevance(session, scope, query)

    def _check_marks(self, found: Session, new: int) -> None:
        """Refuse marks past the session's or its client address's count (each new session from
        one address must not multiply the per-session bound)."""
        s = self.settings
        if s.max_session_marks and found.marks + new > s.max_session_marks:
            raise UploadError(
                f"this session already holds {found.marks} marks (max_session_marks); unmark some first"
            )
        if found.client is not None and s.max_client_marks:
            held = self.sessions.client_marks(found.client)
            if held + new > s.max_client_marks:
                raise UploadError(
                    f"your address already holds {held} marks in all its sessions (max_client_marks)"
                )

    @staticmethod
    def _marks_of(found: Session) -> int:
        """Marks stored by the session: on its view of the main index and on its own uploads."""
        views = [v for v in (found.main_view, found.searcher) if v is not None]
        return sum(judgments.user_judgment_count(v.ref.state)[1] for v in views)

    def judgment_splits(self, session: str | None, scope: Scope) -> list[str]:
        """The judgment sets an evaluation can use here: shipped splits (`test`, ...) and `user`."""
        searcher = self.searcher(session, scope)
        return sorted({s for f in self._judgment_dirs(searcher) for s in judgments.available_splits(f)})

    def evaluate(
        self,
        session: str | None,
        scope: Scope,
        split: str,
        *,
        rerank: bool = True,
        max_queries: int | None = None,
        progress: EvalProgress | None = None,
    ) -> DatasetReport:
        """NDCG@10 and more of every stage, with and without reranking, on one judgment set."""
        searcher = self._split_searcher(session, scope, split)
        return evaluate_index(searcher, split, rerank=rerank, max_queries=max_queries, progress=progress)

    def tune(
        self, session: str | None, scope: Scope, split: str, *, progress: EvalProgress | None = None
    ) -> TuneOutcome:
        """Tune the fusion on a judgment set, held-out estimate included; nothing is stored."""
        return tune_index(self._split_searcher(session, scope, split), split, progress=progress)

    def apply_fusion(self, session: str | None, scope: Scope, params: FusionParams) -> FusionParams:
        """Use `params` from the next search on: for this session only on the main index (unless
        uploads are shared), stored with the collection otherwise."""
        apply_fusion(self._writable_view(session, scope), params)
        return params

    def _judgment_dirs(self, searcher: Searcher) -> list[Path]:
        """Where this searcher's judgments live: a session's view of the main index reads the main
        index's shipped judgments, then the session's own marks."""
        own, main = searcher.ref.state, self.main.ref.state
        return [main, own] if own != main and searcher.backend is self.main.backend else [own]

    def _writable_view(self, session: str | None, scope: Scope) -> Searcher:
        """The searcher whose state folder takes marks and tuned fusion: the collection itself, or on
        the main index of a public deployment the session's own view of it (created on first use)."""
        if self.shared or Scope(scope) is Scope.MINE:
            return self.searcher(session, scope)
        found = self.sessions.open(session, self.client(session))
        with self._lock:
            if found.main_view is None:
                # named after the collection: evaluation reports call a data set by its folder's name
                name = re.sub(r"[^a-z0-9]+", "-", self.main_label().lower()).strip("-")
                state = found.folder / name
                state.mkdir(parents=True, exist_ok=True)
                found.main_view = self.main.view(self.main.ref.with_state(state, name))
            return found.main_view

    def _split_searcher(self, session: str | None, scope: Scope, split: str) -> Searcher:
        """A searcher whose state folder holds `split`, with the fusion this session searches with."""
        searcher = self.searcher(session, scope)
        for folder in reversed(self._judgment_dirs(searcher)):
            if judgments.resolve_split(folder, split) is not None:
                if folder == searcher.ref.state:
                    return searcher
                return searcher.view(searcher.ref.with_state(folder, self.main.ref.name))
        raise UploadError(f"no judgments named {split!r} here: mark some results relevant first")
