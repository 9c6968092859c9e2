"""The endpoints `gradio_client` calls: `/search`, `/ingest`, `/documents`, `/remove`, `/judge`.

Their signatures are the API's (Gradio reads names, types and defaults from them). Parameters left
out use the collection's own settings: its stored fusion, the server's depth and sizes."""

from __future__ import annotations

from typing import Any

import gradio as gr

from search import payload
from search.models import FUSED, RERANKED, Scope
from webapp import documents, validate
from webapp.callbacks import Callbacks, column_ndcg
from webapp.events import session_of, user_errors
from webapp.forms import discard_uploads


class Api:
    def __init__(self, callbacks: Callbacks) -> None:
        self.cb = callbacks
        self.service = callbacks.service

    @user_errors
    def search(
        self,
        query: str,
        top_k: int | None = None,
        candidates: int | None = None,
        rerank_depth: int | None = None,
        fusion_mode: str | None = None,
        alpha: float | None = None,
        rerank: bool = True,
        collection: str = "main",
        request: gr.Request = None,
    ) -> dict:
        """Search; returns both lists (fused, reranked with movements), timings in ms and agreement.
        collection: "main" (the sample/shared index) or "mine" (this session's uploads)."""
        settings = self.service.settings
        scope = validate.choice("collection", collection, Scope)
        query = validate.text("query", query, validate.MAX_REQUEST_QUERY_CHARS)
        params = validate.search_params(
            settings,
            top_k=top_k,
            candidates=candidates,
            rerank_depth=rerank_depth,
            fusion_mode=fusion_mode,
            alpha=alpha,
            rerank=rerank,
        )
        session = session_of(request)
        result = self.service.search(session, scope, query, **params)
        grades = self.service.relevance(session, scope, result.query)
        ndcg = {stage: column_ndcg(result.stages.get(stage, []), grades) for stage in (FUSED, RERANKED)}
        return payload.result_json(
            result,
            params["top_k"] or settings.top_k,
            collection=self.cb.scope_label(scope),
            relevant=sorted(d for d, g in grades.items() if g >= 1),
            ndcg_at_10=ndcg if grades else None,
        )

    @user_errors
    def ingest(self, paths: list[str] | None, request: gr.Request) -> dict:
        """Upload and index files into this session's collection (or the shared index)."""
        try:
            report = self.service.ingest(session_of(request), paths or [], show_progress=False)
        finally:
            discard_uploads(paths)
        return documents.ingest_json(report, self.cb.scope_label(Scope.MINE))

    @user_errors
    def documents(self, collection: str = "main", request: gr.Request = None) -> list:
        """The documents of a collection: doc_id, file, title, pages, chunks."""
        scope = validate.choice("collection", collection, Scope)
        return [payload.document_json(d) for d in self.service.documents(session_of(request), scope)]

    @user_errors
    def remove(self, doc_id: str, collection: str = "mine", request: gr.Request = None) -> dict:
        """Remove one document (by doc_id) from this session's uploads (or the shared index)."""
        session, scope = session_of(request), validate.choice("collection", collection, Scope)
        doc_id = validate.text("doc_id", doc_id, validate.MAX_ID_CHARS)
        self.service.remove(session, [doc_id], scope)
        return {"removed": doc_id, "documents": len(self.service.documents(session, scope))}

    @user_errors
    def judge(
        self,
        query: str,
        doc_id: str,
        relevance: int | None = 1,
        collection: str = "main",
        request: gr.Request = None,
    ) -> dict[str, Any]:
        """Mark a passage (a hit's `passage` key) or a whole document (its doc_id) relevant (1, 2),
        not relevant (0) or unmarked (None) for a query."""
        scope = validate.choice("collection", collection, Scope)
        query = validate.text("query", query, self.service.settings.max_query_chars)
        doc_id = validate.text("doc_id", doc_id, validate.MAX_ID_CHARS)
        grades = self.service.judge(session_of(request), scope, query, {doc_id: validate.grade(relevance)})
        return {"query": query, "grades": grades}
