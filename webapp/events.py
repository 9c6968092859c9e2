"""Gradio's side of the callbacks: read the session from the request, turn view data into widget
updates, and turn errors into messages. A `SearchError` is shown as it is (it is written for users);
anything else is logged with its traceback and shown as an internal error, never as a stack trace."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from search.errors import SearchError
from search.models import Scope
from webapp import cards
from webapp.callbacks import Callbacks, SearchView
from webapp.clients import SessionId
from webapp.forms import discard_uploads, progress_adapter
from webapp.page_view import page_choices, page_view

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def session_of(request: gr.Request | None) -> str | None:
    """The request's session id, carrying the caller's headers and address for per-client limits."""
    if request is None or not request.session_hash:
        return None
    peer = request.client.host if request.client is not None else None
    return SessionId(request.session_hash, dict(request.headers or {}), peer)


def user_errors(fn: F) -> F:
    """Show `SearchError`s to the user as they are; log anything else as an internal error."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except SearchError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("internal error in %s", fn.__name__)
            raise gr.Error("internal error: the server log has the details", print_exception=False) from None

    return wrapper  # type: ignore[return-value]


def words_progress(progress: Any) -> Callable[[str, int, int], None]:
    """A `(words, done, total)` callback drawn on a `gr.Progress`: the words, and a bar for the step."""

    def report(words: str, done: int, total: int) -> None:
        progress(done / total if total > 0 else None, desc=words)

    return report


def search_outputs(
    view: SearchView, status: str, pages: list[tuple[str, str]], *, new_query: bool = True
) -> tuple[Any, ...]:
    """Left, right, footer, status, judge checklist, gain line, page picker: the search outputs in
    their wiring order. The rerank step keeps the page the user may already have chosen."""
    judge = gr.update(choices=view.judge_choices, value=view.judge_checked)
    picker = gr.update(choices=pages, value=None) if new_query else gr.update(choices=pages)
    return view.left, view.right, view.footer, status, judge, view.gain, picker


class Events:
    """One method per widget event; each takes the widgets' values (and Gradio's request)."""

    def __init__(self, callbacks: Callbacks) -> None:
        self.cb = callbacks
        self.service = callbacks.service

    @user_errors
    def first_stage(
        self,
        query: str,
        scope: str,
        top_k: float,
        candidates: float,
        depth: float,
        mode: str,
        alpha: float,
        rerank: bool,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        form = self.cb.form(query, scope, top_k, candidates, depth, mode, alpha, rerank)
        session = session_of(request)
        view = self.cb.first_stage(session, form)
        return search_outputs(
            view, self.cb.status_line(form.scope, form.depth), page_choices(self.service, session)
        )

    @user_errors
    def rerank_stage(
        self,
        query: str,
        scope: str,
        top_k: float,
        candidates: float,
        depth: float,
        mode: str,
        alpha: float,
        rerank: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[Any, ...]:
        form = self.cb.form(query, scope, top_k, candidates, depth, mode, alpha, rerank)
        session = session_of(request)
        view = self.cb.rerank_stage(session, form, progress_adapter(progress, "Reranking"))
        if view is None:
            return (gr.skip(),) * 7
        status = self.cb.status_line(form.scope, form.depth)
        return search_outputs(view, status, page_choices(self.service, session), new_query=False)

    @user_errors
    def save_judgments(
        self, checked: list[str] | None, candidates: float, request: gr.Request
    ) -> tuple[Any, ...]:
        session = session_of(request)
        view, note = self.cb.save_judgments(session, checked, int(candidates))
        scope, _ = self.service.last_result(session) or (Scope.MAIN, None)
        judge = gr.update(choices=view.judge_choices, value=view.judge_checked)
        split = self.split_choices(scope.value, request)
        return view.left, view.right, view.footer, judge, note, split, view.gain

    @user_errors
    def shipped_table(self, scope: str, request: gr.Request, progress: gr.Progress = gr.Progress()) -> Any:
        """The shipped judgments' table on first opening the Evaluate tab (kept afterwards)."""

        def report(stage: str, done: int, total: int) -> None:
            progress((done, total), desc=stage)

        table = self.cb.shipped_table(session_of(request), scope, report)
        return table if table else gr.skip()

    def split_choices(self, scope: str, request: gr.Request | None) -> Any:
        choices, value = self.cb.split_choices(session_of(request), scope)
        return gr.update(choices=choices, value=value)

    def documents_view(self, request: gr.Request | None) -> tuple[Any, Any, Any, Any]:
        view = self.cb.documents_view(session_of(request))
        scope = gr.update(
            visible=view.has_uploads, value=Scope.MINE.value if view.has_uploads else Scope.MAIN.value
        )
        return view.rows, gr.update(choices=view.remove_choices, value=None), scope, view.main_rows

    @user_errors
    def ingest(
        self,
        paths: list[str] | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[Any, ...]:
        """One progress display, on the report box, in words: "Reading file 2 of 5: a.pdf",
        "Embedding 40 of 58 passages" (the wiring shows it there only, not over every output)."""
        progress(0, desc="Waiting for the model (an upload or a rerank may be running)")
        try:
            report = self.cb.ingest(session_of(request), paths, words_progress(progress))
        finally:
            discard_uploads(paths)
        return (report, *self.documents_view(request), None)

    @user_errors
    def remove(self, doc_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        note = self.cb.remove(session_of(request), doc_id)
        return (note, *self.documents_view(request))

    def on_load(self, scope: str, depth: float, request: gr.Request) -> tuple[Any, ...]:
        return (
            self.cb.status_line(scope, depth),
            *self.documents_view(request),
            self.split_choices(scope, request),
        )

    def on_scope(
        self, scope: str, depth: float, examples_shown: bool, request: gr.Request
    ) -> tuple[Any, ...]:
        samples = gr.update(visible=examples_shown and scope == Scope.MAIN.value)
        return self.cb.status_line(scope, depth), self.split_choices(scope, request), samples

    @user_errors
    def evaluate(
        self,
        scope: str,
        split: str | None,
        max_queries: float,
        rerank: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),
    ) -> str:
        def report(stage: str, done: int, total: int) -> None:
            progress((done, total), desc=stage)

        return self.cb.evaluate(session_of(request), scope, split, int(max_queries), bool(rerank), report)

    @user_errors
    def tune(
        self, scope: str, split: str | None, request: gr.Request, progress: gr.Progress = gr.Progress()
    ) -> tuple[Any, ...]:
        def report(stage: str, done: int, total: int) -> None:
            progress((done, total), desc=stage)

        view = self.cb.tune(session_of(request), scope, split, report)
        return view.text, view.params, gr.update(visible=view.can_apply)

    @user_errors
    def apply(self, scope: str, params: dict | None, request: gr.Request) -> tuple[Any, ...]:
        note, applied = self.cb.apply(session_of(request), scope, params)
        return (
            note,
            gr.update(value=applied.mode.value),
            gr.update(value=applied.alpha),
            gr.update(visible=False),
        )

    @user_errors
    def show_page(self, chunk_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The chosen PDF hit's page: the image (shown only when there is one, with its zoom) and a
        line with the link to the file."""
        view = page_view(self.service, session_of(request), chunk_id)
        note = html.escape(view.note)
        if view.link:
            link = html.escape(view.link)
            note += f' <a href="{link}" target="_blank" rel="noopener">Open the PDF at this page</a>'
        shown = view.image is not None
        image = gr.update(value=str(view.image) if shown else None, visible=shown)
        return image, f'<div class="hs-foot">{note}</div>', gr.update(visible=shown)

    def end_session(self, request: gr.Request) -> None:
        self.cb.forget(request.session_hash)
        self.service.drop_session(request.session_hash)

    def placeholder(self, note: str) -> str:
        return cards.message_column(self.cb.reranked_title(), note)
