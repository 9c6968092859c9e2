"""What each widget event does, as plain functions of plain values: a session id, the controls'
values, and the service. They return view data (HTML strings, lists, dataclasses) that `app.py`
puts into widgets, so every path is tested without a browser.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from search import judgments
from search.metrics import ranking_ndcg
from search.models import FUSED, RERANKED, Chunk, FusionParams, Scope, SearchResult, page_unit
from search.pipeline import Retrieval
from search.rerank.base import Progress
from webapp import cards, documents, validate
from webapp import status as status_view
from webapp.evaluating import Evaluating, raise_user
from webapp.forms import fusion_from_ui
from webapp.service import SearchService

#: First stages kept for their rerank step; a step that never comes (a client gone mid-search) must
#: not keep its candidates for the life of the server.
KEPT_FIRST_STAGES = 64


@dataclass(frozen=True)
class SearchForm:
    """The search controls as the user left them."""

    query: str
    scope: Scope = Scope.MAIN
    top_k: int = 10
    candidates: int = 100
    depth: int = 100
    mode: str | None = None
    alpha: float | None = None
    rerank: bool = True

    @property
    def reranks(self) -> bool:
        return self.rerank and self.depth > 0


@dataclass
class SearchView:
    """Both columns, the footer, and the judging checklist (label, doc id)."""

    left: str
    right: str
    footer: str
    judge_choices: list[tuple[str, str]] = field(default_factory=list)
    judge_checked: list[str] = field(default_factory=list)
    gain: str = ""  # the line above the columns: what reranking changed


class Callbacks(Evaluating):
    """The app's behaviour over one `SearchService`; `app.py` only adapts widgets to these."""

    def __init__(self, service: SearchService) -> None:
        self.service = service
        self.main_label = service.main_label()
        self.private_marks = "" if service.shared else " (kept for this browser tab only)"
        self._first: dict[str, tuple[SearchForm, Retrieval]] = {}
        self._shipped: dict[str, str] = {}  # split -> the main collection's table, computed once
        self._shipped_lock = threading.Lock()

    # -- labels and status --

    def scope_label(self, scope: Scope | str) -> str:
        return "My documents" if Scope(scope) is Scope.MINE and not self.service.shared else self.main_label

    def reranked_title(self) -> str:
        return cards.reranked_title(self.service.reranker_status)

    def status_line(self, scope: Scope | str, depth: float) -> str:
        s = self.service.settings
        return status_view.status_html(
            self.service.reranker_status,
            seconds_per_chunk=self.service.seconds_per_chunk,
            depth=int(depth),
            collection=self.scope_label(scope),
            budget_s=s.rerank_seconds if int(depth) == s.rerank_depth else 0.0,  # as Searcher.finish
        )

    # -- search --

    def form(
        self,
        query: Any,
        scope: Any,
        top_k: Any,
        candidates: Any,
        depth: Any,
        mode: Any,
        alpha: Any,
        rerank: Any,
    ) -> SearchForm:
        """The controls' values, checked (a raw request can send anything) and converted."""
        s = self.service.settings
        params = validate.search_params(
            s,
            top_k=top_k,
            candidates=candidates,
            rerank_depth=depth,
            fusion_mode=mode,
            alpha=alpha,
            rerank=rerank,
        )
        return SearchForm(
            validate.text("query", query, validate.MAX_REQUEST_QUERY_CHARS),
            validate.choice("scope", scope, Scope),
            params["top_k"] or s.top_k,
            params["candidates"] or s.candidates,
            s.rerank_depth if params["rerank_depth"] is None else params["rerank_depth"],
            params["fusion_mode"],
            params["alpha"],
            params["rerank"],
        )

    def first_stage(self, session: str | None, form: SearchForm) -> SearchView:
        """The hybrid list at once; the right column says reranking is on its way (or why not). The
        candidates are kept, so the rerank step reorders exactly what was shown."""
        searcher = self.service.searcher(session, form.scope)
        fusion = self._fusion(searcher.fusion, form)
        first = searcher.first_stage(form.query, top_k=form.top_k, candidates=form.candidates, fusion=fusion)
        if session and form.reranks and self.service.reranker_status.loaded:
            self._first[session] = (form, first)  # taken by this session's rerank step, next
            while len(self._first) > KEPT_FIRST_STAGES:  # rerank steps that never came (a dict keeps order)
                self._first.pop(next(iter(self._first)), None)
        result = searcher.finish(first, rerank=False)
        self.service.remember(session, form.scope, result)
        return self.render(session, form.scope, result, form.candidates, self._pending_note(form))

    def rerank_stage(
        self, session: str | None, form: SearchForm, progress: Progress | None = None
    ) -> SearchView | None:
        """Both lists from the first stage's candidates, reranked; None when there is nothing to do."""
        if not (form.reranks and self.service.reranker_status.loaded):
            return None
        searcher = self.service.searcher(session, form.scope)
        kept = self._first.pop(session, None) if session else None
        first = kept[1] if kept is not None and kept[0] == form else None
        if first is None:  # an API caller or a changed form: search again
            fusion = self._fusion(searcher.fusion, form)
            first = searcher.first_stage(
                form.query, top_k=form.top_k, candidates=form.candidates, fusion=fusion
            )
        result = searcher.finish(first, rerank=True, rerank_depth=form.depth, progress=progress)
        self.service.remember(session, form.scope, result)
        return self.render(session, form.scope, result, form.candidates)

    def no_reranker_card(self, result: SearchResult, candidates: int) -> str:
        """The right column without a reranker: what is missing and how to fix it."""
        origin = cards.hybrid_origin(
            result.fusion.describe(), candidates, self.service.settings.embedding_model
        )
        return cards.no_reranker_card(self.service.reranker_status, origin)

    def forget(self, session: str | None) -> None:
        """Drop a closed tab's kept first stage (its rerank step will never come)."""
        if session:
            self._first.pop(session, None)

    def _fusion(self, base: FusionParams, form: SearchForm) -> FusionParams:
        if form.mode is None and form.alpha is None:
            return base
        return fusion_from_ui(base, form.mode or base.mode, base.alpha if form.alpha is None else form.alpha)

    def _pending_note(self, form: SearchForm) -> str | None:
        """What the right column says while the hybrid list shows; None: no reranker (the card)."""
        status = self.service.reranker_status
        if not status.loaded:
            return None
        if not form.reranks:
            return "Reranking is turned off in Settings."
        reranker = self.service.reranker
        eta = reranker.estimate_s(form.depth) if reranker is not None else None
        wait = f" (about {eta:.0f} s)" if eta is not None and eta >= 2 else ""
        return f"Reranking the top {form.depth} hybrid results{wait}…"

    def render(
        self,
        session: str | None,
        scope: Scope,
        result: SearchResult,
        candidates: int,
        right_note: str | None = None,
    ) -> SearchView:
        """Both columns (relevant hits marked, NDCG@10 each when the query is judged), the footer,
        and the judging checklist for the documents shown."""
        top_k = max(len(result.stages.get(FUSED, [])), 1)
        grades = self.service.relevance(session, scope, result.query)
        relevant = {
            h.chunk.id
            for hits in result.stages.values()
            for h in hits
            if (judgments.grade_of(h.chunk, grades) or 0) >= 1
        }
        analyze = self.service.searcher(session, scope).backend.analyze

        def column(title: str, stage: str, empty: str = "No results.") -> str:
            hits = result.stages.get(stage, [])
            return cards.column_html(
                title,
                hits,
                stage,
                query=result.query,
                analyze=analyze,
                top_k=top_k,
                candidates=candidates,
                relevant=relevant if grades else None,
                ndcg=column_ndcg(hits, grades) if hits else None,
                empty=empty,
            )

        left = column(cards.FUSED_TITLE, FUSED, "No passage matched.")
        if not self.service.reranker_status.loaded:
            right = self.no_reranker_card(result, candidates)
        elif right_note is not None:
            right = cards.message_column(self.reranked_title(), right_note)
        elif RERANKED not in result.stages and result.stages.get(FUSED):
            right = cards.message_column(self.reranked_title(), "Reranking was turned off for this search.")
        else:
            right = column(self.reranked_title(), RERANKED)
        shown = shown_passages(result)
        choices = [(passage_label(c), key) for key, c in shown.items()]
        checked = [key for key, c in shown.items() if (judgments.grade_of(c, grades) or 0) >= 1]
        footer = status_view.footer_html(result, top_k)
        before, after = (column_ndcg(result.stages.get(st, []), grades) for st in (FUSED, RERANKED))
        gain = status_view.match_html(result) + status_view.gain_html(result, top_k, before, after)
        return SearchView(left, right, footer, choices, checked, gain)

    # -- judgments --

    def save_judgments(
        self, session: str | None, checked: Sequence[str] | None, candidates: int
    ) -> tuple[SearchView, str]:
        """Ticked passages (a PDF page, a text chunk) become relevant (grade 1); unticking one that
        was relevant records it as judged not relevant (0). The last result is redrawn with the new
        marks and NDCG."""
        last = self.service.last_result(session)
        if last is None:
            raise_user("Search first, then tick the documents that answer the query.")
        scope, result = last
        ticked = set(checked or [])
        grades = self.service.relevance(session, scope, result.query)
        shown = shown_passages(result)
        graded = {k: judgments.grade_of(c, grades) or 0 for k, c in shown.items()}
        marks: dict[str, int | None] = {k: 1 for k in ticked if k in shown and graded[k] < 1}
        marks |= {k: 0 for k in shown.keys() - ticked if graded[k] >= 1}
        if marks:
            self.service.judge(session, scope, result.query, marks)
        view = self.render(session, scope, result, candidates)
        note = (
            f"Saved {len(marks)} mark(s) for “{result.query}”{self.private_marks}."
            if marks
            else "Nothing changed."
        )
        return view, note

    def split_choices(self, session: str | None, scope: Scope | str) -> tuple[list[str], str | None]:
        splits = self.service.judgment_splits(session, Scope(scope))
        value = ("user" if "user" in splits else splits[-1]) if splits else None
        return splits, value

    # -- documents --

    def documents_view(self, session: str | None) -> DocumentsView:
        """The session's documents table, the remove choices, whether "My documents" exists, the main list."""
        service = self.service
        docs = service.documents(session, Scope.MAIN if service.shared else Scope.MINE)
        choices = [(documents.document_rows([d])[0][0], d.doc_id) for d in docs]
        main_rows = documents.document_rows(service.documents(session, Scope.MAIN))
        return DocumentsView(documents.document_rows(docs), choices, service.has_uploads(session), main_rows)

    def ingest(self, session: str | None, paths: Sequence[str] | None, progress: Any = None) -> str:
        """Index the uploads; `progress(words, done, total)` hears each step ("Reading file 2 of 5")."""
        if not paths:
            raise_user(f"Choose one or more files first: {documents.UPLOAD_KINDS}.")
        report = self.service.ingest(session, list(paths), show_progress=False, progress=progress)
        return documents.ingest_html(report, self.scope_label(Scope.MINE))

    def remove(self, session: str | None, doc_id: str | None) -> str:
        if not doc_id:
            raise_user("Choose a document to remove.")
        self.service.remove(session, [doc_id], Scope.MAIN if self.service.shared else Scope.MINE)
        return "<div class='hs-foot'>Removed.</div>"


@dataclass
class DocumentsView:
    rows: list[list[Any]]
    remove_choices: list[tuple[str, str]]
    has_uploads: bool
    main_rows: list[list[Any]]


def column_ndcg(hits: Sequence[Any], grades: dict[str, int], k: int = 10) -> float | None:
    """NDCG@k of a shown list in the unit of the marks (a judged passage, or a document judged as a
    whole at its best chunk), as the evaluation ranks; None without a relevant judgment, and None
    for a list that was never made (no reranker ran): that is no list, not a list that scored 0."""
    if not hits:
        return None
    by_passage = judgments.passage_judged_docs(grades)
    return ranking_ndcg([judgments.unit_of(h.chunk, grades, by_passage) for h in hits], grades, k)


def shown_passages(result: SearchResult) -> dict[str, Chunk]:
    """Passage key -> a chunk of it, for every passage either column shows, in order."""
    shown: dict[str, Chunk] = {}
    for stage in (FUSED, RERANKED):
        for h in result.stages.get(stage, []):
            shown.setdefault(judgments.passage_key(h.chunk), h.chunk)
    return shown


def passage_label(chunk: Chunk) -> str:
    """ "report.pdf, p. 3" for a page, "deck.pptx, slide 3" for a slide; "notes.md: “The first
    words …”" for a text chunk."""
    if chunk.page_start is not None:
        return f"{chunk.file_name}, {page_unit(chunk.source)[0]} {chunk.page_start}"
    words = " ".join(chunk.text.split())
    return f"{chunk.file_name}: “{words[:60]}{'…' if len(words) > 60 else ''}”"
