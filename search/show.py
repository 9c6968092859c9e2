"""Presentation for the app and its API: hit cards, snippets with highlighted query terms,
timing and agreement lines, the reranker status line, and the JSON shape of `/search`.

Pure functions from engine objects to strings and dicts, kept out of `app.py` so they can be tested
without a browser. Every piece of document or query text goes through `html.escape` before it is
wrapped in markup: uploaded files are untrusted input.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from search.compare import kendall_tau, movement, overlap_at_k
from search.models import BM25, DENSE, FUSED, RERANKED, Hit, RerankerStatus, SearchResult

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from search.backends import DocumentInfo

#: Column titles; the reranked one is completed with the model's name.
FUSED_TITLE = "Hybrid (BM25 + dense, fused)"
RERANKED_TITLE = "Reranked by {model}"
STAGE_LABELS: dict[str, str] = {
    BM25: "BM25 (keywords)",
    DENSE: "Dense (meaning)",
    FUSED: "Fused",
    RERANKED: "Reranked",
}
TIMING_LABELS: dict[str, str] = {
    "embed": "embed query",
    "bm25": "BM25",
    "dense": "dense",
    "fusion": "fusion",
    "rerank": "rerank",
    "total": "total",
}
#: The words bm25s would see: runs of 2+ word characters.
_WORD = re.compile(r"\w\w+", re.UNICODE)
#: Question words BM25 keeps (they are not in its stop-word list) but a reader does not want lit up.
_QUESTION_WORDS = frozenset(
    {
        *("how", "much", "many", "what", "which", "who", "whom", "whose", "why", "when", "where"),
        *("have", "has", "had", "having", "do", "does", "did", "can", "could", "should", "would"),
        *("will", "shall", "may", "might", "must", "get", "got", "tell"),
    }
)
#: Markdown markup that reads as noise in a two-line snippet.
_MARKUP = re.compile(r"(\*\*|__|`|^#{1,6}\s+|(?<=\s)#{1,6}\s+)", re.MULTILINE)
SNIPPET_CHARS = 320
STAGE_SCORES_NOTE = (
    "Scores differ in kind from stage to stage: BM25 weighs matching words; dense is the cosine "
    "similarity of meanings; fusion by RRF adds 1/(k + rank) per list (at most about 0.033 with k = 60), "
    "weighted fusion mixes scores scaled to 0–1; the reranker gives its own relevance score."
)

CSS = """
#query-row {align-items: flex-end;}
#search-btn {max-width: 12rem; min-height: 2.8rem; margin-bottom: .35rem;}
.hs-col-title {font-size: 1.05rem; font-weight: 600; margin: 0 0 .4rem 0;}
.hs-col-title .hs-metric {font-weight: 400; font-size: .85rem; color: var(--body-text-color-subdued);}
.hs-empty {color: var(--body-text-color-subdued); padding: .6rem 0;}
details.hs-hit {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .45rem .6rem;
  margin: 0 0 .45rem 0; background: var(--block-background-fill);}
details.hs-hit[open] {box-shadow: 0 1px 4px rgba(0,0,0,.12);}
details.hs-hit.hs-relevant {border-left: 4px solid #15803d;}
details.hs-hit > summary {cursor: pointer; list-style: none;}
details.hs-hit[open] > summary .hs-snippet {display: none;}
details.hs-hit > summary::-webkit-details-marker {display: none;}
.hs-head {display: flex; gap: .5rem; align-items: baseline; flex-wrap: wrap;}
.hs-rank {font-weight: 700; min-width: 1.8rem;}
.hs-cite {font-weight: 600; word-break: break-word;}
.hs-score {margin-left: auto; font-size: .8rem; color: var(--body-text-color-subdued); white-space: nowrap;}
.hs-snippet {font-size: .88rem; line-height: 1.35; margin-top: .25rem;}
.hs-snippet mark, .hs-full mark {background: #fde68a; color: #111; padding: 0 .1rem; border-radius: 2px;}
.hs-move {font-size: .78rem; font-weight: 700; padding: .05rem .4rem; border-radius: 999px;
  white-space: nowrap;}
.hs-up {background: #dcfce7; color: #166534;}
.hs-down {background: #fee2e2; color: #991b1b;}
.hs-same {background: #e5e7eb; color: #374151;}
.hs-from {background: #ede9fe; color: #5b21b6;}
.hs-rel {font-size: .78rem; font-weight: 700; color: #166534;}
.hs-stages {border-collapse: collapse; margin: .5rem 0; font-size: .82rem;}
.hs-stages th, .hs-stages td {padding: .15rem .6rem; border-bottom: 1px solid var(--border-color-primary);
  text-align: left;}
.hs-hit .hs-hint {font-size: .78rem; color: var(--body-text-color-subdued); margin-bottom: .3rem;}
.hs-full {white-space: pre-wrap; font-size: .85rem; max-height: 22rem; overflow-y: auto;
  border-top: 1px dashed var(--border-color-primary); padding-top: .4rem;}
.hs-foot {font-size: .88rem; line-height: 1.5;}
.hs-foot .hs-hint {color: var(--body-text-color-subdued);}
.hs-foot .hs-ok {color: #15803d; font-weight: 700;}
.hs-foot .hs-bad {color: #b91c1c; font-weight: 700;}
.hs-status {font-size: .9rem; padding: .4rem .7rem; border-radius: 8px;
  border: 1px solid var(--border-color-primary);}
.hs-status.hs-ok {border-left: 4px solid #15803d;}
.hs-status.hs-warn {border-left: 4px solid #b45309;}
.hs-status.hs-off {border-left: 4px solid #6b7280;}
"""


# --- query terms and snippets ----------------------------------------------------------------


@lru_cache(maxsize=1)
def _stem_fn() -> Any:
    """PyStemmer's English stemmer (what BM25 uses), or lower-casing alone when it is missing."""
    try:
        import Stemmer

        return Stemmer.Stemmer("english").stemWord
    except ImportError:  # pragma: no cover - PyStemmer is a dependency
        return lambda word: word


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    try:
        from bm25s.stopwords import STOPWORDS_EN

        return frozenset(STOPWORDS_EN)
    except ImportError:  # pragma: no cover - bm25s is a dependency
        return frozenset({"the", "a", "an", "and", "or", "of", "to", "in", "is", "for", "on", "with"})


def _stem(word: str) -> str:
    return _stem_fn()(word.lower())


def query_terms(query: str) -> set[str]:
    """Stems of the query's words, stop words left out: a word in a passage is highlighted when its
    stem is one of these, so "batteries" lights up for a query about "battery", as BM25 matched it."""
    stop = _stopwords() | _QUESTION_WORDS
    return {_stem(w) for w in _WORD.findall(query or "") if w.lower() not in stop}


def highlight(text: str, terms: set[str]) -> str:
    """`text` escaped for HTML, with every word whose stem is in `terms` wrapped in <mark>."""
    out: list[str] = []
    pos = 0
    for match in _WORD.finditer(text):
        if _stem(match.group()) in terms:
            out.append(html.escape(text[pos : match.start()]))
            out.append(f"<mark>{html.escape(match.group())}</mark>")
            pos = match.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def snippet(text: str, terms: set[str], width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of `text` around its densest run of query terms, highlighted and
    escaped, with "…" where it was cut; the start of the text when no term occurs. Markdown emphasis
    and heading marks are dropped: a snippet is for reading, the full text keeps them."""
    text = " ".join(_MARKUP.sub("", text).split())
    if len(text) <= width:
        return highlight(text, terms)
    hits = [m.start() for m in _WORD.finditer(text) if _stem(m.group()) in terms]
    start = 0
    if hits:
        best, best_count = hits[0], 0
        for i, begin in enumerate(hits):  # the window starting at each hit; keep the one with most hits
            count = sum(1 for h in hits[i:] if h < begin + width)
            if count > best_count:
                best, best_count = begin, count
        start = max(0, best - width // 5)
    start = _word_start(text, start)
    end = min(len(text), start + width)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start + width // 2 else end
    body = highlight(text[start:end], terms)
    return ("… " if start > 0 else "") + body + (" …" if end < len(text) else "")


def reflow(text: str, paged: bool) -> str:
    """Text for the full-chunk view. PDF text keeps the line breaks of the printed page, which read
    as broken lines on screen: for paged sources a single line break becomes a space (none after a
    hyphen: "grid-\\nscale" reads "grid-scale"), and blank lines stay paragraph breaks. Text and
    markdown files are shown as written."""
    if not paged:
        return text
    text = re.sub(r"(\w)-\n(\w)", r"\1-\2", text)
    return re.sub(r"[ \t]*(?<!\n)\n(?!\n)[ \t]*", " ", text)


def _word_start(text: str, pos: int) -> int:
    """`pos` moved back to the start of the word it falls in (no half words at a snippet's start)."""
    if pos <= 0:
        return 0
    space = text.rfind(" ", 0, pos)
    return space + 1 if space >= 0 else 0


# --- numbers and small labels ----------------------------------------------------------------


def format_score(score: float | None) -> str:
    """4 significant digits: RRF scores are around 0.03 and must not read as percentages."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "—"
    return f"{score:.4g}"


def model_label(name: str) -> str:
    """What a column title calls the reranker: a hub id as is, a local path by its folder name."""
    if not name:
        return "reranker"
    if name.startswith(("/", "./", "../", "~")) or name.count("/") > 1 or "\\" in name:
        return PurePath(name.replace("\\", "/")).name or name
    return name


def reranked_title(status: RerankerStatus | None) -> str:
    """ "Reranked by zeroentropy/zerank-1"; plain "Reranked" when no reranker is configured."""
    if status is None or not status.name:
        return "Reranked"
    return RERANKED_TITLE.format(model=model_label(status.name))


def movement_text(hit: Hit, top_k: int) -> str:
    """`▲5 (was #9)`, `▼2 (was #3)`, `=`, `from #37`: where a reranked hit stood in the fused list."""
    move = movement(hit, top_k)
    old = hit.rank(FUSED)
    if move.startswith(("▲", "▼")) and old is not None:
        return f"{move} (was #{old})"
    return move


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


# --- hit cards and columns -------------------------------------------------------------------


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
    terms: set[str],
    top_k: int,
    candidates: int,
    relevant: bool | None = None,
) -> str:
    """One result: rank, movement (reranked column), citation, score, snippet; expanding it shows
    the hit's rank and score in every stage and the full chunk text."""
    rank = hit.rank(stage)
    paged = hit.chunk.page_start is not None
    badge = movement_badge(hit, top_k) if stage == RERANKED else ""
    rel = '<span class="hs-rel" title="judged relevant for this query">✓ relevant</span>' if relevant else ""
    cls = "hs-hit hs-relevant" if relevant else "hs-hit"
    return (
        f'<details class="{cls}" data-chunk="{html.escape(hit.chunk.id)}">'
        f'<summary><div class="hs-head"><span class="hs-rank">#{rank}</span>{badge}'
        f'<span class="hs-cite">{html.escape(hit.chunk.citation())}</span>{rel}'
        f'<span class="hs-score">score {format_score(hit.score(stage))}</span></div>'
        f'<div class="hs-snippet">{snippet(hit.chunk.text, terms)}</div></summary>'
        f"{stage_table(hit, candidates)}"
        f'<div class="hs-full">{highlight(reflow(hit.chunk.text, paged), terms)}</div>'
        "</details>"
    )


def column_html(
    title: str,
    hits: Sequence[Hit],
    stage: str,
    *,
    query: str,
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
        return head + f'<div class="hs-empty">{html.escape(empty)}</div>'
    terms = query_terms(query)
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
    return head + "".join(cards)


def message_column(title: str, message: str) -> str:
    """A column that holds a one-line message instead of results (reranking off, in progress, ...)."""
    head = f'<div class="hs-col-title">{html.escape(title)}</div>'
    return head + f'<div class="hs-empty">{html.escape(message)}</div>'


# --- timings, agreement, status --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Agreement:
    """How much the fused and reranked top-k agree: shared results and order among them."""

    k: int
    shared: int
    overlap: float
    tau: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "shared": self.shared,
            f"overlap@{self.k}": self.overlap,
            "kendall_tau": self.tau,
        }


def agreement(result: SearchResult, top_k: int) -> Agreement | None:
    """overlap@k and Kendall tau between the two shown lists; None when reranking did not run."""
    reranked = result.stages.get(RERANKED)
    if not reranked:
        return None
    fused = [h.chunk.id for h in result.stages.get(FUSED, [])[:top_k]]
    after = [h.chunk.id for h in reranked[:top_k]]
    shared = len(set(fused) & set(after))
    return Agreement(top_k, shared, overlap_at_k(fused, after, top_k), kendall_tau(fused, after))


def timings_line(timings: Mapping[str, float]) -> str:
    """`embed query 5.1 ms · BM25 0.8 ms · … · total 40 ms`, in pipeline order."""
    parts = [f"{TIMING_LABELS[k]} {_ms(timings[k])}" for k in TIMING_LABELS if k in timings]
    return " · ".join(parts)


def _ms(value: float) -> str:
    return (
        f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"
    )


def agreement_line(agree: Agreement | None) -> str:
    """The agreement in numbers and in words."""
    if agree is None:
        return "Agreement: reranking did not run, so there is nothing to compare."
    tau = "n/a (fewer than 2 shared results)" if agree.tau is None else f"{agree.tau:.2f}"
    return (
        f"Agreement: the two lists share {agree.shared} of their top {agree.k} "
        f"(overlap@{agree.k} = {agree.overlap:.2f}); Kendall tau over the shared results = {tau} "
        "(1: same order, 0: unrelated, −1: reversed)."
    )


def footer_html(result: SearchResult, top_k: int) -> str:
    """Under the columns: per-stage timings, the agreement of the two lists, and any warnings."""
    lines = [
        f"<div><b>Timings</b>: {html.escape(timings_line(result.timings_ms))}</div>",
        f"<div>{html.escape(agreement_line(agreement(result, top_k)))}</div>",
        f'<div class="hs-hint">Fusion: {html.escape(result.fusion.describe())}.</div>',
    ]
    lines += [f'<div><span class="hs-bad">Warning</span>: {html.escape(w)}</div>' for w in result.warnings]
    return '<div class="hs-foot">' + "".join(lines) + "</div>"


def status_html(
    status: RerankerStatus | None,
    *,
    seconds_per_chunk: float | None = None,
    depth: int = 100,
    collection: str = "",
) -> str:
    """The always-visible reranker line: model, device, loaded or why not; on CPU a speed warning
    with the estimate measured on the first rerank, and what to do about it."""
    where = f" Searching: {html.escape(collection)}." if collection else ""
    if status is None or not status.loaded:
        why = status.reason if status and status.reason else "no reranker configured"
        name = f"{html.escape(model_label(status.name))}: " if status and status.name else ""
        return (
            f'<div class="hs-status hs-off"><b>Reranker off</b> — {name}{html.escape(why)}. '
            f"Search still works; results show the hybrid list only.{where}</div>"
        )
    device = {"cuda": "GPU (cuda)", "cpu": "CPU", "hosted API": "hosted API"}.get(
        status.device, status.device
    )
    head = f"<b>Reranker</b>: {html.escape(model_label(status.name))} · {html.escape(device)} · loaded."
    if status.device != "cpu":
        return f'<div class="hs-status hs-ok">{head}{where}</div>'
    if seconds_per_chunk is None:
        note = (
            " Running on CPU: zerank-1 over 100 passages is slow (a 4-billion-parameter model; minutes "
            "per query). The first search measures the speed here; lower the rerank depth in Settings "
            "to wait less."
        )
        return f'<div class="hs-status hs-warn">{head}{note}{where}</div>'
    estimate = seconds_per_chunk * depth
    note = (
        f" Running on CPU: measured {seconds_per_chunk * 1000:.0f} ms per passage, so about "
        f"{_duration(estimate)} to rerank {depth}."
    )
    if estimate > 10:
        faster = max(1, int(10 / seconds_per_chunk))
        note += f" Lower the rerank depth in Settings (e.g. {faster} for about 10 s)."
        return f'<div class="hs-status hs-warn">{head}{note}{where}</div>'
    return f'<div class="hs-status hs-ok">{head}{note}{where}</div>'


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


# --- the API's JSON --------------------------------------------------------------------------


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
        "ranks": dict(hit.ranks),
        "scores": dict(hit.scores),
        "text": chunk.text,
    }
    if stage == RERANKED:
        out["movement"] = movement_text(hit, top_k)
    return out


def result_json(result: SearchResult, top_k: int, **extra: Any) -> dict[str, Any]:
    """`/search`'s answer: both lists (with movements), timings, agreement, reranker and warnings."""
    agree = agreement(result, top_k)
    return {
        "query": result.query,
        "fused": [hit_json(h, FUSED, top_k) for h in result.stages.get(FUSED, [])],
        "reranked": [hit_json(h, RERANKED, top_k) for h in result.stages.get(RERANKED, [])],
        "timings_ms": {k: round(v, 3) for k, v in result.timings_ms.items()},
        "agreement": agree.to_dict() if agree else None,
        "fusion": result.fusion.to_dict(),
        "reranker": result.reranker.to_dict() if result.reranker else None,
        "warnings": list(result.warnings),
        **extra,
    }


# --- documents ---------------------------------------------------------------------------------


def ingest_html(report: IngestReport, collection: str) -> str:
    """What an upload did, file by file: indexed, unchanged, or refused and why (by name)."""
    parts = []
    done = [*report.added, *report.updated]
    if done:
        names = ", ".join(html.escape(n) for n in done)
        parts.append(f'<div><span class="hs-ok">✓</span> Indexed {_count(len(done), "file")}: {names}.</div>')
    if report.unchanged:
        parts.append(
            f"<div>= {_count(report.unchanged, 'file')} already indexed with the same content.</div>"
        )
    for name, reason in report.skipped:
        shown = html.escape(PurePath(name).name)
        parts.append(f'<div><span class="hs-bad">✗</span> <b>{shown}</b>: {html.escape(reason)}</div>')
    if not done and report.skipped:
        parts.append("<div>Nothing was added; the index is as it was.</div>")
    parts.append(
        f'<div class="hs-hint">{html.escape(collection)} now holds {_count(report.documents, "document")}, '
        f"{_count(report.pages, 'page')}, {_count(report.chunks, 'passage')}.</div>"
    )
    return '<div class="hs-foot">' + "".join(parts) + "</div>"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def ingest_json(report: IngestReport, collection: str) -> dict[str, Any]:
    """`/ingest`'s answer: per-file outcome and the collection's new size."""
    return {
        "collection": collection,
        "added": list(report.added),
        "updated": list(report.updated),
        "unchanged": report.unchanged,
        "skipped": [{"file": PurePath(n).name, "reason": r} for n, r in report.skipped],
        "documents": report.documents,
        "pages": report.pages,
        "chunks": report.chunks,
        "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
    }


def document_rows(docs: Sequence[DocumentInfo]) -> list[list[Any]]:
    """Rows of the documents table: file, title, pages (blank for unpaged text), passages."""
    rows = [[PurePath(d.source).name, d.title, d.pages or "", d.chunks] for d in docs]
    return sorted(rows, key=lambda r: str(r[0]).lower())


def document_json(doc: DocumentInfo) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "file": PurePath(doc.source).name,
        "title": doc.title,
        "pages": doc.pages,
        "chunks": doc.chunks,
    }
