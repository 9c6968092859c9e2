"""The Gradio app: hybrid search with a before/after reranker comparison, document upload,
relevance marks and evaluation, and the `/search` and `/ingest` API endpoints.
`python app.py` serves it on 127.0.0.1:7860 (`--host`, `--port`, or SEARCH_HOST / SEARCH_PORT).

Only widgets and wiring live here: what each event does is `webapp.callbacks` (plain functions,
adapted to widgets by `webapp.events`), presentation `webapp.cards` / `webapp.status`, sessions,
uploads and judgments `webapp.service`, retrieval `search.pipeline`. Queues: first-stage searches run up
to `SEARCH_CONCURRENCY` at a time (concurrency id "search"); reranking has one queue for the model
(concurrency id "model", one at a time; `SearchService.model_lock` serialises it for API callers
too). Uploads and removals run up to `UPLOAD_CONCURRENCY` at a time (concurrency id "upload"),
scheduled fairly by the service (`webapp.scheduler`): a long upload never holds a small one.
"""

from __future__ import annotations

import os

if os.environ.get("SPACES_ZERO_GPU"):  # ZeroGPU wants `spaces` imported before torch touches CUDA
    try:
        import spaces  # noqa: F401
    except Exception as exc:  # missing or misconfigured: serve without ZeroGPU rather than crash
        import sys

        print(f"warning: SPACES_ZERO_GPU is set but `spaces` failed to import ({exc})", file=sys.stderr)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from search.models import Scope
from search.rerank.zerogpu import zero_gpu_active
from search.settings import Settings, add_arguments
from webapp import cards, documents, logclip, texts, upload_cache
from webapp.api import Api
from webapp.callbacks import Callbacks
from webapp.css import CSS, theme
from webapp.events import Events
from webapp.forms import load_example_queries
from webapp.service import SearchService

MAIN, MINE = Scope.MAIN.value, Scope.MINE.value

log = logging.getLogger("app")

#: First-stage searches that may run at once (embedding a query and two index lookups: cheap).
SEARCH_CONCURRENCY = 8
#: Uploads (and removals) in progress at once, each session's own; their embedding takes turns.
UPLOAD_CONCURRENCY = 4
SETTINGS_FLAGS = [
    *("host", "port", "index_dir", "sample_dir", "upload_dir", "max_upload_mb", "shared_uploads"),
    *("reranker", "reranker_model", "reranker_device", "rerank_depth", "top_k", "candidates"),
]


def settings_panel(cb: Callbacks, w: SimpleNamespace) -> None:
    """Fusion, candidates, rerank depth, results shown and reranking on/off (collapsed)."""
    s, status, fusion = cb.service.settings, cb.service.reranker_status, cb.service.main.fusion
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            w.mode = gr.Radio(
                texts.FUSION_MODES, value=fusion.mode.value, label="Fusion mode", info=texts.FUSION_MODE_INFO
            )
            w.alpha = gr.Slider(
                0,
                1,
                value=fusion.alpha,
                step=0.05,
                label="Dense weight alpha (0 = keywords only, 1 = meaning only)",
            )
        with gr.Row():
            w.candidates = gr.Slider(10, 500, value=s.candidates, step=10, label="Candidates per retriever")
            w.depth = gr.Slider(
                0,
                500,
                value=s.rerank_depth,
                step=5,
                label="Rerank depth",
                info="fused results the reranker re-reads",
            )
            w.top_k = gr.Slider(1, 50, value=s.top_k, step=1, label="Results shown")
            why = "" if status.loaded else f"unavailable: {status.reason or 'no reranker configured'}"
            w.rerank_on = gr.Checkbox(
                value=status.loaded, interactive=status.loaded, label="Rerank", info=why or None
            )


def page_panel(w: SimpleNamespace) -> None:
    """The cited page of a chosen PDF hit, as an image with the passage marked: only the picker
    until a page is picked, then the page at the column's width, with a zoom."""
    with gr.Accordion("See the page (PDF results)", open=True, elem_id="page-view"):
        with gr.Row(equal_height=False):
            w.page_pick = gr.Dropdown(
                choices=[], label="Result", elem_id="page-pick", interactive=True, scale=4
            )
            w.page_zoom = gr.Radio(
                ["100%", "150%", "200%"],
                value="100%",
                label="Zoom",
                visible=False,
                scale=1,
                elem_id="page-zoom",
            )
        w.page_note = gr.HTML(elem_id="page-note")
        w.page_image = gr.Image(
            label="Cited page",
            type="filepath",
            interactive=False,
            elem_id="page-image",
            show_label=False,
            visible=False,
            buttons=["fullscreen", "download"],
        )


def judge_panel(cb: Callbacks, w: SimpleNamespace) -> None:
    """The checklist of shown passages to mark relevant."""
    with gr.Accordion("Judge these results (mark what is relevant)", open=False, elem_id="judge"):
        gr.Markdown(
            "Tick the passages (a PDF page, a text passage) that answer the query and save: their hits "
            "get a ✓ and each column shows its NDCG@10 for the query (a mark never covers the whole file)."
            f" Marks are stored with the collection{cb.private_marks} and feed the "
            "Evaluate tab."
        )
        w.judge_box = gr.CheckboxGroup(choices=[], label="Relevant passages", elem_id="judge-box")
        with gr.Row():
            w.judge_btn = gr.Button("Save judgments", scale=0, min_width=180)
            w.judge_note = gr.Markdown()


def search_tab(cb: Callbacks, examples: list[str]) -> SimpleNamespace:
    """The query box, examples, settings, the two columns, the footer and the judging checklist."""
    w = SimpleNamespace()
    with gr.Row(equal_height=False, elem_id="query-row"):
        w.query = gr.Textbox(
            label="Query",
            placeholder="Ask something the documents answer, then press Enter",
            scale=6,
            elem_id="query",
            autofocus=True,
        )
        w.search_btn = gr.Button("Search", variant="primary", scale=1, elem_id="search-btn")
    w.scope = gr.Radio(
        [(cb.main_label, MAIN), ("My documents", MINE)],
        value=MAIN,
        label="Search in",
        visible=False,
        elem_id="scope",
    )
    w.examples = gr.Dataset(
        components=[w.query],
        samples=[[q] for q in examples],
        label="Example queries (one click searches)",
        visible=bool(examples),
        samples_per_page=12,
        elem_id="examples",
    )
    settings_panel(cb, w)
    w.gain = gr.HTML(elem_id="gain-line")
    with gr.Row(equal_height=False):
        w.left = gr.HTML(cards.message_column(cards.FUSED_TITLE, "Results appear here."), elem_id="col-fused")
        w.right = gr.HTML(
            cards.message_column(cb.reranked_title(), "Reranked results appear here."),
            elem_id="col-reranked",
        )
    w.footer = gr.HTML(elem_id="search-footer")
    page_panel(w)
    judge_panel(cb, w)
    return w


def documents_tab(cb: Callbacks) -> SimpleNamespace:
    """Upload, the session's documents with removal, the main index's list, and the /ingest endpoint."""
    service, w = cb.service, SimpleNamespace()
    if service.shared:
        gr.Markdown("Uploads are added to the **shared index** that everyone using this server searches.")
    else:
        gr.Markdown(
            "Your uploads are **private to this browser tab**: they go into a collection only you search "
            "(choose *My documents* above the results), and are deleted when you close the tab. The "
            f"{cb.main_label.lower()} stays as it is. {documents.UPLOAD_KINDS}, up to "
            f"{service.settings.max_upload_mb:g} MB each."
        )
    w.files = gr.File(
        file_count="multiple", file_types=documents.UPLOAD_TYPES, label="Upload documents", elem_id="upload"
    )
    w.add_btn = gr.Button("Add to index", variant="primary", elem_id="add-btn")
    w.ingest_out = gr.HTML(elem_id="ingest-report")  # where the upload's progress shows (css.py)
    headers = ["File", "Title", "Pages", "Passages"]
    w.doc_table = gr.Dataframe(
        headers=headers, interactive=False, label="Indexed documents" if service.shared else "Your documents"
    )
    with gr.Row():
        w.remove_choice = gr.Dropdown(label="Remove a document", choices=[], scale=4)
        w.remove_btn = gr.Button("Remove", variant="stop", scale=1)
    with gr.Accordion(f"{cb.main_label} (read-only)", open=False, visible=not service.shared):
        w.main_table = gr.Dataframe(headers=headers, interactive=False)
    # invisible components behind the /ingest API endpoint (files in, JSON report out)
    w.api_files = gr.File(file_count="multiple", visible=False)
    w.api_report = gr.JSON(visible=False)
    w.api_trigger = gr.Button(visible=False)
    return w


def evaluate_tab(cb: Callbacks) -> SimpleNamespace:
    status, w = cb.service.reranker_status, SimpleNamespace()
    gr.Markdown(texts.EVALUATE_INTRO)
    with gr.Row(elem_id="eval-controls"):
        w.split = gr.Dropdown(choices=[], label="Judgments", scale=2)
        w.max_queries = gr.Slider(1, 500, value=50, step=1, label="Queries at most", scale=2)
        w.rerank = gr.Checkbox(
            value=status.loaded and status.device != "cpu",
            interactive=status.loaded,
            label="Include reranking (slow on CPU)" if status.loaded else "Include reranking",
            info=None if status.loaded else "unavailable: no reranker runs on this server",
            scale=1,
        )
    with gr.Row():
        w.eval_btn = gr.Button("Evaluate", variant="primary")
        w.tune_btn = gr.Button("Tune fusion on these judgments")
        w.apply_btn = gr.Button("Use the tuned fusion", visible=False)
    w.tune_out = gr.Markdown()
    w.tuned = gr.JSON(visible=False)
    w.eval_out = gr.Markdown(elem_id="eval-out")
    return w


def wire_search(
    ev: Events, w: SimpleNamespace, status_box: gr.HTML, split: gr.Dropdown, examples: bool
) -> None:
    """Search shows the hybrid list at once (search queue), then reranks it (the model's queue)."""
    inputs = [w.query, w.scope, w.top_k, w.candidates, w.depth, w.mode, w.alpha, w.rerank_on]
    outputs = [w.left, w.right, w.footer, status_box, w.judge_box, w.gain, w.page_pick]
    first = {"concurrency_id": "search", "concurrency_limit": SEARCH_CONCURRENCY, "api_visibility": "private"}
    model = {"concurrency_id": "model", "concurrency_limit": 1, "api_visibility": "private"}
    picked = w.examples.click(  # an example fills the box and searches: one search, no Enter needed
        lambda sample: sample[0], w.examples, w.query, api_visibility="private", concurrency_limit=None
    )
    for trigger in (w.query.submit, w.search_btn.click, picked.then):
        hybrid = trigger(ev.first_stage, inputs, outputs, **first)
        hybrid.then(None, js=texts.SCROLL_TO_RESULTS_JS)  # on a phone, to the results
        hybrid.success(ev.rerank_stage, inputs, outputs, show_progress_on=[w.right], **model)
    shown = gr.State(examples)
    w.scope.change(
        ev.on_scope,
        [w.scope, w.depth, shown],
        [status_box, split, w.examples],
        api_visibility="private",
        concurrency_limit=None,
    )
    w.page_zoom.change(None, [w.page_zoom], [w.page_zoom], js=texts.ZOOM_JS)
    w.page_pick.change(
        ev.show_page,
        [w.page_pick],
        [w.page_image, w.page_note, w.page_zoom],
        api_visibility="private",
        concurrency_id="search",
        concurrency_limit=SEARCH_CONCURRENCY,
    )
    w.judge_btn.click(
        ev.save_judgments,
        [w.judge_box, w.candidates],
        [w.left, w.right, w.footer, w.judge_box, w.judge_note, split, w.gain],
        api_visibility="private",
        concurrency_limit=None,
    )


def wire_api(api: Api, d: SimpleNamespace) -> None:
    """The endpoints for gradio_client, registered first so they keep their plain names."""
    search = {"concurrency_id": "search", "concurrency_limit": SEARCH_CONCURRENCY}
    gr.api(api.search, api_name="search", **search)
    d.api_trigger.click(
        api.ingest,
        [d.api_files],
        [d.api_report],
        api_name="ingest",
        concurrency_id="upload",
        concurrency_limit=UPLOAD_CONCURRENCY,
    )
    gr.api(api.documents, api_name="documents", **search)
    gr.api(api.remove, api_name="remove", concurrency_id="upload", concurrency_limit=UPLOAD_CONCURRENCY)
    gr.api(api.judge, api_name="judge", concurrency_limit=None)


def wire_rest(ev: Events, s: SimpleNamespace, d: SimpleNamespace, e: SimpleNamespace) -> None:
    """Documents and evaluation."""
    upload = {"concurrency_id": "upload", "concurrency_limit": UPLOAD_CONCURRENCY}
    upload["api_visibility"] = "private"
    docs_out = [d.ingest_out, d.doc_table, d.remove_choice, s.scope, d.main_table]
    # one progress display, on the report box, not an overlay on each output
    d.add_btn.click(ev.ingest, [d.files], [*docs_out, d.files], show_progress_on=[d.ingest_out], **upload)
    d.remove_btn.click(ev.remove, [d.remove_choice], docs_out, show_progress_on=[d.ingest_out], **upload)
    local = {"api_visibility": "private", "concurrency_limit": None}
    evaluate = {"concurrency_id": "evaluate", "concurrency_limit": 1, "api_visibility": "private"}
    e.eval_btn.click(ev.evaluate, [s.scope, e.split, e.max_queries, e.rerank], [e.eval_out], **evaluate)
    e.tune_btn.click(ev.tune, [s.scope, e.split], [e.tune_out, e.tuned, e.apply_btn], **evaluate)
    e.apply_btn.click(ev.apply, [s.scope, e.tuned], [e.tune_out, s.mode, s.alpha, e.apply_btn], **local)


def build_app(service: SearchService) -> gr.Blocks:
    """All widgets and events, queued; `launch_kwargs` holds what `launch()` needs."""
    logclip.install()  # no log line echoes more than a few hundred characters of a client's input
    cb = Callbacks(service)
    ev, api = Events(cb), Api(cb)
    examples = load_example_queries(Path(service.settings.sample_dir).parent / "sample_queries.json")
    examples = examples if cb.main_label == "Sample corpus" else []
    # Gradio's own upload cache: swept every few minutes of files older than the age limit, and at exit
    sweep = upload_cache.sweep(service.settings)
    with gr.Blocks(title="Hybrid search + reranker", analytics_enabled=False, delete_cache=sweep) as demo:
        gr.HTML(texts.INTRO_HTML, elem_id="intro")
        status_box = gr.HTML(
            cb.status_line(Scope.MAIN, service.settings.rerank_depth), elem_id="reranker-status"
        )
        with gr.Tab("Search"):
            s = search_tab(cb, examples)
        with gr.Tab("Documents"):
            d = documents_tab(cb)
        with gr.Tab("Evaluate") as eval_tab:
            e = evaluate_tab(cb)
        wire_api(api, d)
        wire_search(ev, s, status_box, e.split, bool(examples))
        wire_rest(ev, s, d, e)
        eval_tab.select(
            ev.split_choices, [s.scope], [e.split], api_visibility="private", concurrency_limit=None
        )
        eval_tab.select(
            ev.shipped_table,
            [s.scope],
            [e.eval_out],
            api_visibility="private",
            concurrency_id="evaluate",
            concurrency_limit=1,
        )
        demo.load(
            ev.on_load,
            [s.scope, s.depth],
            [status_box, d.doc_table, d.remove_choice, s.scope, d.main_table, e.split],
            api_visibility="private",
            concurrency_limit=None,
        )
        demo.unload(ev.end_session)
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
        "css": CSS,
        "theme": theme(),
        "footer_links": ["api"],
        # the sample corpus is public: its PDFs open at the cited page; private uploads are never served
        "allowed_paths": [str(Path(settings.sample_dir).resolve())],
        # Gradio's upload cache: bounded per client and in all, and emptied of leftovers at start-up
        "app_kwargs": upload_cache.app_kwargs(settings),
        # Gradio keeps a copy of every widget's state per session (10,000 sessions by default)
        "state_session_capacity": settings.ui_session_capacity,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__.split("\n\n")[0])
    add_arguments(parser, SETTINGS_FLAGS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env().with_args(args)
    # Gradio's upload cache in a folder of this app's own (not a /tmp/gradio other apps share)
    os.environ.setdefault("GRADIO_TEMP_DIR", str((Path(settings.upload_dir) / "gradio-cache").resolve()))
    if zero_gpu_active() and settings.reranker_device == "auto":
        settings = replace(settings, reranker_device="cuda")
    service = SearchService.open(settings)
    build_app(service).launch(**launch_kwargs(settings))


if __name__ == "__main__":
    main()
