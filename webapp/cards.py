"""Hit cards and result columns: rank, movement, citation, score, snippet, and every stage's
rank and score on expanding. Pure functions from engine objects to HTML."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from search.compare import format_score, movement_text, went_text
from search.models import BM25, DENSE, FUSED, RERANKED, Hit, RerankerStatus
from search.passage import separate_headings
from webapp.highlight import Analyzer, QueryTerms, highlight, reflow, snippet
from webapp.markdown_view import is_markdown, render_markdown

#: Column titles; the reranked one is completed with the model's name.
FUSED_TITLE = "Hybrid (BM25 + dense, fused)"

RERANKED_TITLE = "Reranked by {model}"

STAGE_LABELS: dict[str, str] = {
    BM25: "BM25 (keywords)",
    DENSE: "Dense (meaning)",
    FUSED: "Fused",
    RERANKED: "Reranked",
}

#: Fused scores are scaled per query (min-max): they order one query's results, not compare queries.
_SCORE_WORD = {FUSED: "relative score"}
_SCORE_TITLE = {FUSED: ' title="scaled within this query: 1 is its best fused hit, not a sure match"'}

STAGE_SCORES_NOTE = (
    "Scores differ in kind from stage to stage: BM25 weighs matching words; dense is the cosine "
    "similarity of meanings; fusion by RRF adds 1/(k + rank) per list (at most about 0.033 with k = 60), "
    "weighted and adaptive fusion mix scores scaled to 0–1 within the query (relative, not comparable "
    "across queries); the reranker gives its own relevance score."
)


def model_label(name: str) -> str:
    """What a column title calls the reranker: a hub id as is, a local path by its folder name."""
    if not name:
        return "reranker"
    if name.startswith(("/", "./", "../", "~")) or name.count("/") > 1 or "\\" in name:
        return PurePath(name.replace("\\", "/")).name or name
    return name


def reranked_title(status: RerankerStatus | None) -> str:
    """ "Reranked by <the model actually loaded>"; "Not reranked" when none is running."""
    if status is None or not status.loaded or not status.name:
        return "Not reranked"
    return RERANKED_TITLE.format(model=model_label(status.name))


def no_reranker_card(status: RerankerStatus | None, hybrid: str) -> str:
    """The right column when no reranker runs: what is missing, the settings that fix it, and where
    the hybrid list on the left came from (`hybrid`, one sentence)."""
    attempts = status.attempts if status is not None else ()
    if attempts:
        rows = "".join(
            f"<li><b>{html.escape(a.candidate)}</b>: {html.escape(a.reason)}. "
            f'<span class="hs-fix">Fix: {html.escape(a.fix)}.</span></li>'
            for a in attempts
        )
    else:
        why = status.reason if status is not None and status.reason else "the reranker setting is none"
        rows = (
            f'<li>{html.escape(why)}. <span class="hs-fix">Fix: set SEARCH_RERANKER=auto (or zerank, '
            "cross-encoder, api).</span></li>"
        )
    return (
        f'<div class="hs-col-title">{html.escape(reranked_title(status))}</div>'
        '<div class="hs-card hs-no-rerank"><p><b>No reranker is running here</b>, so there is no second '
        "list to compare.</p>"
        f"<ul>{rows}</ul>"
        f'<p class="hs-hint">The list on the left is the hybrid first stage: {html.escape(hybrid)}</p></div>'
    )


def hybrid_origin(fusion: str, candidates: int, embedding_model: str) -> str:
    """One sentence on where the hybrid list came from."""
    model = model_label(embedding_model).rsplit("/", 1)[-1]
    return (
        f"the top {candidates} passages by BM25 (keywords) and by dense similarity ({model}), "
        f"fused by {fusion}."
    )


def movement_badge(hit: Hit, top_k: int) -> str:
    """The movement as a coloured pill, with a tooltip that says it in words."""
    text = movement_text(hit, top_k)
    if not text:
        return ""
    old, new = hit.rank(FUSED), hit.rank(RERANKED)
    if text.startswith("▲"):
        kind, tip = "hs-up", f"moved up {old - new} places: was #{old} in the hybrid list"
    elif text.startswith("▼"):
        kind, tip = "hs-down", f"moved down {new - old} places: was #{old} in the hybrid list"
    elif text == "=":
        kind, tip = "hs-same", "same place as in the hybrid list"
    else:
        kind, tip = "hs-from", f"pulled up from #{old} of the hybrid list, beyond its top {top_k}"
    return f'<span class="hs-move {kind}" title="{html.escape(tip)}">{html.escape(text)}</span>'


def went_badge(hit: Hit, top_k: int) -> str:
    """In the hybrid column: where the reranker put this hit (empty before reranking)."""
    text = went_text(hit, top_k)
    if not text:
        return ""
    tip = f"after reranking: #{hit.rank(RERANKED)} (was #{hit.rank(FUSED)} here)"
    return f'<span class="hs-went" title="{html.escape(tip)}">{html.escape(text)}</span>'


def stage_table(hit: Hit, candidates: int) -> str:
    """Rank and score of a hit in every stage; a stage that did not return it says why."""
    rows = []
    for stage in (BM25, DENSE, FUSED, RERANKED):
        rank = hit.rank(stage)
        if rank is None:
            absent = "not reranked" if stage == RERANKED else f"not in its top {candidates}"
            rows.append(f"<tr><td>{STAGE_LABELS[stage]}</td><td colspan=2>{absent}</td></tr>")
        else:
            rows.append(
                f"<tr><td>{STAGE_LABELS[stage]}</td><td>#{rank}</td><td>{format_score(hit.score(stage))}</td></tr>"
            )
    return (
        '<table class="hs-stages"><thead><tr><th>stage</th><th>rank</th><th>score</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<div class="hs-hint">{STAGE_SCORES_NOTE}</div>'
    )


def hit_card(
    hit: Hit,
    stage: str,
    *,
    terms: QueryTerms,
    top_k: int,
    candidates: int,
    relevant: bool | None = None,
) -> str:
    """One result: rank, movement (reranked column), citation, score, snippet; expanding it shows
    the hit's rank and score in every stage and the full chunk text."""
    rank = hit.rank(stage)
    badge = movement_badge(hit, top_k) if stage == RERANKED else went_badge(hit, top_k)
    rel = '<span class="hs-rel" title="judged relevant for this query">✓ relevant</span>' if relevant else ""
    cls = "hs-hit hs-relevant" if relevant else "hs-hit"
    return (
        f'<details class="{cls}" data-chunk="{html.escape(hit.chunk.id)}">'
        f'<summary><div class="hs-head"><span class="hs-rank">#{rank}</span>{badge}'
        f'<span class="hs-cite">{html.escape(hit.chunk.citation())}</span>{rel}'
        f'<span class="hs-score"{_SCORE_TITLE.get(stage, "")}>{_SCORE_WORD.get(stage, "score")} '
        f"{format_score(hit.score(stage))}</span></div>"
        f'<div class="hs-snippet">{snippet(snippet_text(hit), terms)}</div></summary>'
        f"{stage_table(hit, candidates)}"
        f'<div class="hs-full">{full_text(hit, terms)}</div>'
        "</details>"
    )


def snippet_text(hit: Hit) -> str:
    """What a snippet is cut from: a PDF passage with " — " after each section heading, so the
    heading does not run into the sentence after it."""
    chunk = hit.chunk
    return separate_headings(chunk.text) if chunk.page_start is not None else chunk.text


def full_text(hit: Hit, terms: QueryTerms) -> str:
    """The whole passage: markdown rendered (safely), PDF lines reflowed, plain text as written."""
    chunk = hit.chunk
    if is_markdown(chunk.source):
        return render_markdown(chunk.text, terms)
    return highlight(reflow(chunk.text, chunk.page_start is not None), terms)


def column_html(
    title: str,
    hits: Sequence[Hit],
    stage: str,
    *,
    query: str,
    analyze: Analyzer,
    top_k: int,
    candidates: int,
    relevant: Iterable[str] | None = None,
    ndcg: float | None = None,
    empty: str = "No results.",
) -> str:
    """A titled list of hit cards. `relevant` holds chunk ids judged relevant (None: no judgments);
    `ndcg` is this list's NDCG@10 for the query when judgments exist."""
    marked = set(relevant) if relevant is not None else None
    metric = f' <span class="hs-metric">· NDCG@10 {ndcg:.3f}</span>' if ndcg is not None else ""
    head = f'<div class="hs-col-title">{html.escape(title)}{metric}</div>'
    if not hits:
        return _column(head + f'<div class="hs-empty">{html.escape(empty)}</div>')
    terms = QueryTerms(query, analyze)
    cards = [
        hit_card(
            hit,
            stage,
            terms=terms,
            top_k=top_k,
            candidates=candidates,
            relevant=None if marked is None else hit.chunk.id in marked,
        )
        for hit in hits
    ]
    return _column(head + "".join(cards))


def _column(inner: str) -> str:
    return f'<div class="hs-col">{inner}</div>'


def message_column(title: str, message: str) -> str:
    """A column that holds a one-line message instead of results (reranking off, in progress, ...)."""
    head = f'<div class="hs-col-title">{html.escape(title)}</div>'
    return _column(head + f'<div class="hs-empty">{html.escape(message)}</div>')
