"""The JSON shape of a search, shared by the `/search` API and `python -m search --json`."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from search.backends import DocumentInfo
from search.compare import agreement, movement_text
from search.judgments import passage_key
from search.models import FUSED, RERANKED, Hit, SearchResult


def hit_json(hit: Hit, stage: str, top_k: int) -> dict[str, Any]:
    """One hit for API callers: rank, citation, score, movement, every stage's rank/score, text."""
    chunk = hit.chunk
    out: dict[str, Any] = {
        "rank": hit.rank(stage),
        "citation": chunk.citation(),
        "file": chunk.file_name,
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
        "score": hit.score(stage),
        "chunk_id": chunk.id,
        "doc_id": chunk.doc_id,
        "passage": passage_key(chunk),
        "ranks": dict(hit.ranks),
        "scores": dict(hit.scores),
        "text": chunk.text,
    }
    if stage == RERANKED:
        out["movement"] = movement_text(hit, top_k)
    return out


def result_json(result: SearchResult, top_k: int, **extra: Any) -> dict[str, Any]:
    """`/search`'s answer: both lists (with movements), timings, agreement, reranker and warnings;
    `match` ("none" | "weak" | "good") and `match_message` say whether anything matched at all,
    `fusion_note` which fusion ran on this query and why. Fused scores are relative to the query."""
    agree = agreement(result, top_k)
    match = result.match
    return {
        "query": result.query,
        "match": match.level if match else None,
        "match_message": match.message if match else "",
        "top_similarity": match.top_similarity if match else None,
        "fused": [hit_json(h, FUSED, top_k) for h in result.stages.get(FUSED, [])],
        "reranked": [hit_json(h, RERANKED, top_k) for h in result.stages.get(RERANKED, [])],
        "timings_ms": {k: round(v, 3) for k, v in result.timings_ms.items()},
        "agreement": agree.to_dict() if agree else None,
        "fusion": result.fusion.to_dict(),
        "fusion_note": result.fusion_note,
        "reranker": result.reranker.to_dict() if result.reranker else None,
        "warnings": list(result.warnings),
        **extra,
    }


def document_json(doc: DocumentInfo) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "file": PurePath(doc.source).name,
        "title": doc.title,
        "pages": doc.pages,
        "chunks": doc.chunks,
    }
