"""The Gradio app: hybrid search with a before/after reranker comparison, document upload,
relevance marks and evaluation, and the `/search` and `/ingest` API endpoints.
`python app.py` serves it on 127.0.0.1:7860 (`--host`, `--port`, or SEARCH_HOST / SEARCH_PORT).

Only widgets and wiring live here: retrieval is `search.pipeline`, presentation `search.show`,
collections, uploads, judgments and locking `search.service`. Queues: first-stage searches run up
to `SEARCH_CONCURRENCY` at a time (concurrency id "search"); reranking and ingest share one queue
for the model (concurrency id "model", one at a time), and `SearchService.model_lock` serialises
them for API callers too.
"""

from __future__ import annotations

import os

if os.environ.get("SPACES_ZERO_GPU"):  # ZeroGPU wants `spaces` imported before torch touches CUDA
    import contextlib

    with contextlib.suppress(ImportError):
        import spaces  # noqa: F401

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from search import show
from search.errors import SearchError
from search.models import FUSED, RERANKED, FusionParams, SearchResult
from search.service import (
    MAIN,
    MINE,
    SearchService,
    column_ndcg,
    load_example_queries,
    progress_adapter,
    zero_gpu_active,
)
from search.settings import Settings, add_arguments

log = logging.getLogger("app")

#: First-stage searches that may run at once (embedding a query and two index lookups: cheap).
SEARCH_CONCURRENCY = 8
UPLOAD_TYPES = [".pdf", ".txt", ".md", ".markdown"]
SETTINGS_FLAGS = [
    *("host", "port", "index_dir", "sample_dir", "upload_dir", "max_upload_mb", "shared_uploads"),
    *("reranker", "reranker_model", "reranker_device", "rerank_depth", "top_k", "candidates"),
]

INTRO = """\
# Hybrid search, with and without a reranker
Type a question about the documents. **Left**: what a fast first-stage search finds: keyword matching
(BM25) and meaning-based matching (dense vectors), merged into one list. **Right**: the same candidates
re-read one by one by a *reranker*, a slower model that reads your question and each passage together,
and put in a new order. Badges show how each result moved: **▲** up, **▼** down, **=** same place,
**from #37**: pulled up from far down the hybrid list. Click a result to see its rank and score in every
stage and the whole passage.
"""

EVALUATE_INTRO = """\
Measure instead of guessing: NDCG@10 (1 = every relevant document at the top) of BM25, dense and hybrid
search, each with and without reranking, over the queries judged in the searched collection: a shipped
set (a BEIR data set's `test` split) or your own marks (`user`, made under *Judge these results* in the
Search tab). Reranking is not always a gain; this shows whether it is one on these documents.
Tuning tries fusion settings on the same judgments and reports a held-out estimate (k-fold), so the
number is not flattered by fitting the very queries it is scored on.
"""


def _session(request: gr.Request | None) -> str | None:
    return request.session_hash if request else None


def _fail(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


def build_app(service: SearchService) -> gr.Blocks:
    """All widgets and events, queued; `launch_kwargs` holds what `launch()` needs."""
    s = service.settings
    status = service.reranker_status
    fusion = service.main.fusion
    main_label = service.main_label()
    examples = load_example_queries(Path(s.sample_dir).parent / "sample_queries.json")
    if main_label != "Sample corpus":
        examples = []
    reranked_title = show.reranked_title(status)
    private_marks = "" if service.shared else " (kept for this browser tab only)"

    def scope_label(scope: str) -> str:
        return "My documents" if scope == MINE and not service.shared else main_label

    def status_line(scope: str, depth: float) -> str:
        return show.status_html(
            service.reranker_status,
            seconds_per_chunk=service.seconds_per_chunk,
            depth=int(depth),
            collection=scope_label(scope),
        )

    def run(
        request: gr.Request | None,
        scope: str,
        query: str,
        top_k: float,
        candidates: float,
        depth: float,
        mode: str,
        alpha: float,
        rerank: bool,
        progress: Any = None,
    ) -> SearchResult:
        try:
            result = service.search(
                _session(request),
                scope,
                query,
                top_k=int(top_k),
                candidates=int(candidates),
                rerank_depth=int(depth),
                fusion_mode=mode,
                alpha=float(alpha),
                rerank=bool(rerank),
                progress=progress,
            )
        except SearchError as exc:
            raise _fail(exc) from None
        service.remember(_session(request), scope, result)
        return result

    def render(
        request: gr.Request | None,
        scope: str,
        result: SearchResult,
        candidates: float,
        right: str | None = None,
    ) -> tuple[str, str, str, Any]:
        """Both columns (relevant hits marked, NDCG@10 each when the query is judged), the footer,
        and the judging checklist for the documents shown."""
        top_k = max(len(result.stages.get(FUSED, [])), 1)
        grades = service.relevance(_session(request), scope, result.query)
        relevant = {
            h.chunk.id for hits in result.stages.values() for h in hits if grades.get(h.chunk.doc_id, 0) >= 1
        }
        marks = relevant if grades else None

        def column(title: str, stage: str, empty: str = "No results.") -> str:
            hits = result.stages.get(stage, [])
            ndcg = column_ndcg(hits, grades) if hits else None
            return show.column_html(
                title,
                hits,
                stage,
                query=result.query,
                top_k=top_k,
                candidates=int(candidates),
                relevant=marks,
                ndcg=ndcg,
                empty=empty,
            )

        left = column(show.FUSED_TITLE, FUSED, "No passage matched.")
        if right is None:
            right = column(reranked_title, RERANKED)
        shown = {h.chunk.doc_id: h.chunk for stage in (FUSED, RERANKED) for h in result.stages.get(stage, [])}
        choices = [(f"{c.file_name} — {c.title}" if c.title else c.file_name, d) for d, c in shown.items()]
        checked = [d for d in shown if grades.get(d, 0) >= 1]
        judge = gr.update(choices=choices, value=checked)
        return left, right, show.footer_html(result, top_k), judge

    def first_stage(
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
        """The hybrid list at once; the right column says reranking is on its way (or why not)."""
        result = run(request, scope, query, top_k, candidates, depth, mode, alpha, False)
        if not service.reranker_status.loaded:
            note = service.reranker_status.line()
        elif not rerank or int(depth) <= 0:
            note = "Reranking is turned off in Settings."
        else:
            eta = service.reranker.estimate_s(int(depth)) if service.reranker else None
            wait = f" (about {eta:.0f} s)" if eta is not None and eta >= 2 else ""
            note = f"Reranking the top {int(depth)} hybrid results{wait}…"
        left, right, footer, judge = render(
            request, scope, result, candidates, show.message_column(reranked_title, note)
        )
        return left, right, footer, status_line(scope, depth), judge

    def rerank_stage(
        query: str,
        scope: str,
        top_k: float,
        candidates: float,
        depth: float,
        mode: str,
        alpha: float,
        rerank: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - how Gradio injects a progress tracker
    ) -> tuple[Any, ...]:
        """Both lists from one consistent search, reranked; runs in the model's queue."""
        if not (rerank and int(depth) > 0 and service.reranker_status.loaded):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        reporter = progress_adapter(progress, "Reranking")
        result = run(request, scope, query, top_k, candidates, depth, mode, alpha, True, reporter)
        left, right, footer, judge = render(request, scope, result, candidates)
        return left, right, footer, status_line(scope, depth), judge

    def save_judgments(checked: list[str] | None, candidates: float, request: gr.Request) -> tuple[Any, ...]:
        """Ticked documents become relevant (grade 1); unticking one that was relevant records it as
        judged not relevant (0). The last result is redrawn with the new marks and NDCG."""
        last = service.last_result(_session(request))
        if last is None:
            raise gr.Error(
                "Search first, then tick the documents that answer the query.", print_exception=False
            )
        scope, result = last
        checked = set(checked or [])
        grades = service.relevance(_session(request), scope, result.query)
        shown = {h.chunk.doc_id for hits in result.stages.values() for h in hits}
        marks: dict[str, int | None] = {d: 1 for d in checked if grades.get(d, 0) < 1}
        marks |= {d: 0 for d in shown - checked if grades.get(d, 0) >= 1}
        try:
            if marks:
                service.judge(_session(request), scope, result.query, marks)
        except (SearchError, ValueError) as exc:
            raise _fail(exc) from None
        left, right, footer, judge = render(request, scope, result, candidates)
        note = (
            f"Saved {len(marks)} mark(s) for “{result.query}”{private_marks}."
            if marks
            else "Nothing changed."
        )
        return left, right, footer, judge, note, split_choices(scope, request)

    def split_choices(scope: str, request: gr.Request | None) -> Any:
        splits = service.judgment_splits(_session(request), scope)
        return gr.update(
            choices=splits, value=(splits[-1] if "user" not in splits else "user") if splits else None
        )

    def documents_view(request: gr.Request | None) -> tuple[Any, Any, Any, Any]:
        """The session's documents table, the remove choices, the scope switch and the main list."""
        session = _session(request)
        docs = service.documents(session, MAIN if service.shared else MINE)
        choices = [(show.document_rows([d])[0][0], d.doc_id) for d in docs]
        has_mine = service.has_uploads(session)
        return (
            show.document_rows(docs),
            gr.update(choices=choices, value=None),
            gr.update(visible=has_mine, value=MINE if has_mine else MAIN),
            show.document_rows(service.documents(session, MAIN)),
        )

    def ui_ingest(
        paths: list[str] | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> tuple[Any, ...]:
        if not paths:
            raise gr.Error("Choose one or more PDF, .txt or .md files first.", print_exception=False)
        progress(0, desc="Reading and indexing files")
        try:
            report = service.ingest(_session(request), paths)
        except SearchError as exc:
            raise _fail(exc) from None
        table, choices, scope_update, main_docs = documents_view(request)
        return show.ingest_html(report, scope_label(MINE)), table, choices, scope_update, main_docs, None

    def ui_remove(doc_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        if not doc_id:
            raise gr.Error("Choose a document to remove.", print_exception=False)
        try:
            service.remove(_session(request), [doc_id], MAIN if service.shared else MINE)
        except SearchError as exc:
            raise _fail(exc) from None
        table, choices, scope_update, main_docs = documents_view(request)
        return "<div class='hs-foot'>Removed.</div>", table, choices, scope_update, main_docs

    def on_load(scope: str, depth: float, request: gr.Request) -> tuple[Any, ...]:
        table, choices, scope_update, main_docs = documents_view(request)
        return (
            status_line(scope, depth),
            table,
            choices,
            scope_update,
            main_docs,
            split_choices(scope, request),
        )

    def ui_evaluate(
        scope: str,
        split: str | None,
        max_queries: float,
        rerank: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> str:
        if not split:
            raise gr.Error(
                "No judgments here yet: mark relevant results in the Search tab.", print_exception=False
            )

        def report_progress(stage: str, done: int, total: int) -> None:
            progress((done, total), desc=stage)

        try:
            report = service.evaluate(
                _session(request),
                scope,
                split,
                rerank=bool(rerank),
                max_queries=int(max_queries),
                progress=report_progress,
            )
        except (SearchError, ValueError, FileNotFoundError) as exc:
            raise _fail(exc) from None
        from search.evaluate.report import render_markdown

        return render_markdown([report], title=f"{scope_label(scope)}: {split} judgments")

    def ui_tune(
        scope: str,
        split: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        if not split:
            raise gr.Error(
                "No judgments here yet: mark relevant results in the Search tab.", print_exception=False
            )
        try:
            outcome = service.tune(
                _session(request),
                scope,
                split,
                progress=lambda stage, done, total: progress((done, total), desc=stage),
            )
        except (SearchError, ValueError, FileNotFoundError) as exc:
            raise _fail(exc) from None
        held_out = "n/a (judge at least 2 queries)" if outcome.after is None else f"{outcome.after:.3f}"
        text = (
            f"**Best fusion on {outcome.n_queries} judged queries**: {outcome.params.describe()}.\n\n"
            f"NDCG@10 now ({outcome.current.describe()}): {outcome.before:.3f}; tuned, held-out "
            f"({outcome.folds}-fold): {held_out}; BM25 alone {outcome.bm25:.3f}, "
            f"dense alone {outcome.dense:.3f}."
        )
        better = outcome.after is not None and outcome.after > outcome.before
        return text, outcome.params.to_dict(), gr.update(visible=better or outcome.after is None)

    def ui_apply(scope: str, params: dict | None, request: gr.Request) -> tuple[Any, ...]:
        if not params:
            raise gr.Error("Tune first.", print_exception=False)
        applied = service.apply_fusion(_session(request), scope, FusionParams.from_dict(params))
        where = scope_label(scope) + private_marks
        return (
            f"Searches on {where} now use {applied.describe()}.",
            gr.update(value=applied.mode),
            gr.update(value=applied.alpha),
            gr.update(visible=False),
        )

    # -- API endpoints (gradio_client) --

    def api_search(
        query: str,
        top_k: int = s.top_k,
        candidates: int = s.candidates,
        rerank_depth: int = s.rerank_depth,
        fusion_mode: str = fusion.mode,
        alpha: float = fusion.alpha,
        rerank: bool = True,
        collection: str = MAIN,
        request: gr.Request = None,
    ) -> dict:
        """Search; returns both lists (fused, reranked with movements), timings in ms and agreement.
        collection: "main" (the sample/shared index) or "mine" (this session's uploads)."""
        result = run(request, collection, query, top_k, candidates, rerank_depth, fusion_mode, alpha, rerank)
        grades = service.relevance(_session(request), collection, result.query)
        ndcg = {stage: column_ndcg(result.stages.get(stage, []), grades) for stage in (FUSED, RERANKED)}
        return show.result_json(
            result,
            int(top_k),
            collection=scope_label(collection),
            relevant=sorted(d for d, g in grades.items() if g >= 1),
            ndcg_at_10=ndcg if grades else None,
        )

    def api_ingest(paths: list[str] | None, request: gr.Request) -> dict:
        """Upload and index files into this session's collection (or the shared index)."""
        try:
            report = service.ingest(_session(request), paths or [], show_progress=False)
        except SearchError as exc:
            raise _fail(exc) from None
        return show.ingest_json(report, scope_label(MINE))

    def api_documents(collection: str = MAIN, request: gr.Request = None) -> list:
        """The documents of a collection: doc_id, file, title, pages, chunks."""
        return [show.document_json(d) for d in service.documents(_session(request), collection)]

    def api_remove(doc_id: str, collection: str = MINE, request: gr.Request = None) -> dict:
        """Remove one document (by doc_id) from this session's uploads (or the shared index)."""
        try:
            service.remove(_session(request), [doc_id], collection)
        except SearchError as exc:
            raise _fail(exc) from None
        return {"removed": doc_id, "documents": len(service.documents(_session(request), collection))}

    def api_judge(
        query: str, doc_id: str, relevance: int | None = 1, collection: str = MAIN, request: gr.Request = None
    ) -> dict:
        """Mark a document relevant (1, 2), not relevant (0) or unmarked (None) for a query."""
        try:
            grades = service.judge(_session(request), collection, query, {doc_id: relevance})
        except (SearchError, ValueError) as exc:
            raise _fail(exc) from None
        return {"query": query, "grades": grades}

    with gr.Blocks(title="Hybrid search + reranker", analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        status_box = gr.HTML(status_line(MAIN, s.rerank_depth), elem_id="reranker-status")
        with gr.Tab("Search"):
            with gr.Row(equal_height=False, elem_id="query-row"):
                query = gr.Textbox(
                    label="Query",
                    placeholder="Ask something the documents answer, then press Enter",
                    scale=6,
                    elem_id="query",
                    autofocus=True,
                )
                search_btn = gr.Button("Search", variant="primary", scale=1, elem_id="search-btn")
            scope = gr.Radio(
                [(main_label, MAIN), ("My documents", MINE)],
                value=MAIN,
                label="Search in",
                visible=False,
                elem_id="scope",
            )
            example_set = gr.Dataset(
                components=[query],
                samples=[[q] for q in examples],
                label="Example queries",
                visible=bool(examples),
                samples_per_page=12,
            )
            with gr.Accordion("Settings", open=False):
                with gr.Row():
                    mode = gr.Radio(
                        [("RRF (by rank)", "rrf"), ("Weighted (by score)", "weighted")],
                        value=fusion.mode,
                        label="Fusion mode",
                    )
                    alpha = gr.Slider(
                        0,
                        1,
                        value=fusion.alpha,
                        step=0.05,
                        label="Dense weight alpha (0 = keywords only, 1 = meaning only)",
                    )
                with gr.Row():
                    candidates = gr.Slider(
                        10, 500, value=s.candidates, step=10, label="Candidates per retriever"
                    )
                    depth = gr.Slider(
                        0,
                        500,
                        value=s.rerank_depth,
                        step=5,
                        label="Rerank depth (how many fused results the reranker re-reads)",
                    )
                    top_k = gr.Slider(1, 50, value=s.top_k, step=1, label="Results shown")
                    rerank_on = gr.Checkbox(value=status.loaded, interactive=status.loaded, label="Rerank")
            with gr.Row(equal_height=False):
                left = gr.HTML(
                    show.message_column(show.FUSED_TITLE, "Results appear here."), elem_id="col-fused"
                )
                right = gr.HTML(
                    show.message_column(reranked_title, "Reranked results appear here."),
                    elem_id="col-reranked",
                )
            footer = gr.HTML(elem_id="search-footer")
            with gr.Accordion("Judge these results (mark what is relevant)", open=False, elem_id="judge"):
                gr.Markdown(
                    "Tick the documents that answer the query and save: relevant hits get a ✓ and each "
                    "column shows its NDCG@10 for the query. Marks are stored with the collection"
                    f"{private_marks} and feed the Evaluate tab."
                )
                judge_box = gr.CheckboxGroup(choices=[], label="Relevant documents", elem_id="judge-box")
                with gr.Row():
                    judge_btn = gr.Button("Save judgments", scale=0, min_width=180)
                    judge_note = gr.Markdown()
        with gr.Tab("Documents"):
            if service.shared:
                gr.Markdown(
                    "Uploads are added to the **shared index** that everyone using this server searches."
                )
            else:
                gr.Markdown(
                    "Your uploads are **private to this browser tab**: they go into a collection only "
                    "you search (choose *My documents* above the results), and are deleted when you "
                    f"close the tab. The {main_label.lower()} stays as it is. PDF, .txt and .md, up to "
                    f"{s.max_upload_mb:g} MB each."
                )
            files = gr.File(
                file_count="multiple", file_types=UPLOAD_TYPES, label="Upload documents", elem_id="upload"
            )
            add_btn = gr.Button("Add to index", variant="primary", elem_id="add-btn")
            ingest_out = gr.HTML(elem_id="ingest-report")
            doc_table = gr.Dataframe(
                headers=["File", "Title", "Pages", "Passages"],
                interactive=False,
                label="Indexed documents" if service.shared else "Your documents",
            )
            with gr.Row():
                remove_choice = gr.Dropdown(label="Remove a document", choices=[], scale=4)
                remove_btn = gr.Button("Remove", variant="stop", scale=1)
            with gr.Accordion(f"{main_label} (read-only)", open=False, visible=not service.shared):
                main_table = gr.Dataframe(headers=["File", "Title", "Pages", "Passages"], interactive=False)
            # invisible components behind the /ingest API endpoint (files in, JSON report out)
            api_files = gr.File(file_count="multiple", visible=False)
            api_report = gr.JSON(visible=False)
            api_trigger = gr.Button(visible=False)
        with gr.Tab("Evaluate") as eval_tab:
            gr.Markdown(EVALUATE_INTRO)
            with gr.Row():
                split = gr.Dropdown(choices=[], label="Judgments", scale=2)
                max_queries = gr.Slider(1, 500, value=50, step=1, label="Queries at most", scale=2)
                eval_rerank = gr.Checkbox(
                    value=status.loaded and status.device != "cpu",
                    interactive=status.loaded,
                    label="Include reranking (slow on CPU)",
                    scale=1,
                )
            with gr.Row():
                eval_btn = gr.Button("Evaluate", variant="primary")
                tune_btn = gr.Button("Tune fusion on these judgments")
                apply_btn = gr.Button("Use the tuned fusion", visible=False)
            tune_out = gr.Markdown()
            tuned = gr.JSON(visible=False)
            eval_out = gr.Markdown()

        search_inputs = [query, scope, top_k, candidates, depth, mode, alpha, rerank_on]
        search_outputs = [left, right, footer, status_box, judge_box]
        first = {
            "concurrency_id": "search",
            "concurrency_limit": SEARCH_CONCURRENCY,
            "api_visibility": "private",
        }
        model = {"concurrency_id": "model", "concurrency_limit": 1, "api_visibility": "private"}
        for trigger in (query.submit, search_btn.click):
            trigger(first_stage, search_inputs, search_outputs, **first).success(
                rerank_stage, search_inputs, search_outputs, show_progress_on=[right], **model
            )
        example_set.click(
            lambda sample: sample[0], example_set, query, api_visibility="private", concurrency_limit=None
        ).then(first_stage, search_inputs, search_outputs, **first).success(
            rerank_stage, search_inputs, search_outputs, show_progress_on=[right], **model
        )

        def on_scope(scope_value: str, depth_value: float, request: gr.Request) -> tuple[Any, ...]:
            samples = gr.update(
                visible=bool(examples) and scope_value == MAIN
            )  # sample queries, sample corpus
            return status_line(scope_value, depth_value), split_choices(scope_value, request), samples

        scope.change(
            on_scope,
            [scope, depth],
            [status_box, split, example_set],
            api_visibility="private",
            concurrency_limit=None,
        )
        judge_btn.click(
            save_judgments,
            [judge_box, candidates],
            [left, right, footer, judge_box, judge_note, split],
            api_visibility="private",
            concurrency_limit=None,
        )
        add_btn.click(
            ui_ingest, [files], [ingest_out, doc_table, remove_choice, scope, main_table, files], **model
        )
        remove_btn.click(
            ui_remove, [remove_choice], [ingest_out, doc_table, remove_choice, scope, main_table], **model
        )
        eval_tab.select(split_choices, [scope], [split], api_visibility="private", concurrency_limit=None)
        evaluate = {"concurrency_id": "evaluate", "concurrency_limit": 1, "api_visibility": "private"}
        eval_btn.click(ui_evaluate, [scope, split, max_queries, eval_rerank], [eval_out], **evaluate)
        tune_btn.click(ui_tune, [scope, split], [tune_out, tuned, apply_btn], **evaluate)
        apply_btn.click(
            ui_apply,
            [scope, tuned],
            [tune_out, mode, alpha, apply_btn],
            api_visibility="private",
            concurrency_limit=None,
        )
        demo.load(
            on_load,
            [scope, depth],
            [status_box, doc_table, remove_choice, scope, main_table, split],
            api_visibility="private",
            concurrency_limit=None,
        )

        def end_session(request: gr.Request) -> None:
            service.drop_session(request.session_hash)

        demo.unload(end_session)

        gr.api(api_search, api_name="search", concurrency_id="search", concurrency_limit=SEARCH_CONCURRENCY)
        api_trigger.click(
            api_ingest,
            [api_files],
            [api_report],
            api_name="ingest",
            concurrency_id="model",
            concurrency_limit=1,
        )
        gr.api(
            api_documents, api_name="documents", concurrency_id="search", concurrency_limit=SEARCH_CONCURRENCY
        )
        gr.api(api_remove, api_name="remove", concurrency_id="model", concurrency_limit=1)
        gr.api(api_judge, api_name="judge", concurrency_limit=None)
    demo.queue(default_concurrency_limit=1)
    return demo


def launch_kwargs(settings: Settings) -> dict[str, Any]:
    """Arguments for `demo.launch()`: address, upload cap (also checked per file by the service), CSS."""
    env, default = os.environ, Settings()
    host, port = settings.host, settings.port
    # Spaces (and many containers) say where to listen with GRADIO_SERVER_*; our own settings win when set
    if host == default.host and env.get("GRADIO_SERVER_NAME"):
        host = env["GRADIO_SERVER_NAME"]
    if port == default.port and env.get("GRADIO_SERVER_PORT"):
        port = int(env["GRADIO_SERVER_PORT"])
    return {
        "server_name": host,
        "server_port": port,
        "max_file_size": int(settings.max_upload_mb * 1024 * 1024),
        "css": show.CSS,
        "footer_links": ["api"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__.split("\n\n")[0])
    add_arguments(parser, SETTINGS_FLAGS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env().with_args(args)
    if zero_gpu_active() and settings.reranker_device == "auto":
        settings = replace(settings, reranker_device="cuda")
    service = SearchService.open(settings)
    build_app(service).launch(**launch_kwargs(settings))


if __name__ == "__main__":
    main()
