"""The lines around the columns: timings, agreement, fusion and warnings below; the reranker status
above (model, device, speed measured on this machine, or why it is off)."""

from __future__ import annotations

import html
from collections.abc import Mapping

from search.compare import Agreement, agreement, gain_line
from search.models import RerankerStatus, SearchResult
from search.rerank.timed import PROBE
from webapp.cards import model_label

TIMING_LABELS: dict[str, str] = {
    "embed": "embed query",
    "bm25": "BM25",
    "dense": "dense",
    "fusion": "fusion",
    "rerank": "rerank",
    "total": "total",
}


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


def gain_html(
    result: SearchResult, top_k: int, before: float | None = None, after: float | None = None
) -> str:
    """The line above the columns: NDCG@10 before → after on a judged query, else what moved."""
    line = gain_line(result, top_k, before, after)
    if not line:
        return ""
    text = html.escape(line)
    if before is not None and after is not None and after != before:
        delta = f"({after - before:+.2f})"
        cls = "hs-plus" if after > before else "hs-minus"
        text = text.replace(html.escape(delta), f'<span class="{cls}">{html.escape(delta)}</span>')
    return f'<div class="hs-gain">{text}</div>'


def match_html(result: SearchResult) -> str:
    """Above the columns: "No good match" (or "Weak match") when nothing really matched the query."""
    match = result.match
    if match is None or not match.message:
        return ""
    cls = "hs-bad" if match.level == "none" else "hs-warn"
    return (
        f'<div class="hs-match hs-match-{html.escape(match.level)}" role="status">'
        f'<span class="{cls}">{html.escape(match.message)}</span></div>'
    )


def footer_html(result: SearchResult, top_k: int) -> str:
    """Under the columns: per-stage timings, the agreement of the two lists, and any warnings."""
    lines = [
        f"<div><b>Timings</b>: {html.escape(timings_line(result.timings_ms))}</div>",
        f"<div>{html.escape(agreement_line(agreement(result, top_k)))}</div>",
        f'<div class="hs-hint">Fusion: {html.escape(result.fusion_note or result.fusion.describe())}. '
        "Fused scores are relative: they order this query's results, not compare queries.</div>",
    ]
    lines += [f'<div><span class="hs-bad">Warning</span>: {html.escape(w)}</div>' for w in result.warnings]
    return '<div class="hs-foot">' + "".join(lines) + "</div>"


def status_html(
    status: RerankerStatus | None,
    *,
    seconds_per_chunk: float | None = None,
    depth: int = 100,
    collection: str = "",
    budget_s: float = 0.0,
) -> str:
    """The always-visible reranker line: model, device, loaded or why not; on CPU a speed warning
    with the estimate measured on the first rerank, and what to do about it. With `budget_s` (the
    default depth on CPU is cut to what reranks in about that long) it says the depth that runs."""
    where = f" Searching: {html.escape(collection)}." if collection else ""
    if status is None or not status.loaded:
        why = status.reason if status and status.reason else "no reranker configured"
        name = f"{html.escape(model_label(status.name))}: " if status and status.name else ""
        if status is not None and status.choice:  # the auto policy's own line: "none: no GPU ..."
            why, name = status.choice.removeprefix("none: "), ""
        return (
            f'<div class="hs-status hs-off"><b>Reranker off</b> — {name}{html.escape(why)}. '
            f"Search still works; results show the hybrid list only.{where}</div>"
        )
    device = {"cuda": "GPU (cuda)", "cpu": "CPU", "hosted API": "hosted API"}.get(
        status.device, status.device
    )
    head = f"<b>Reranker</b>: {html.escape(model_label(status.name))} · {html.escape(device)} · loaded."
    if status.choice:
        head = f"<b>Reranker</b>: {html.escape(status.choice)}."
    if status.device != "cpu":
        return f'<div class="hs-status hs-ok">{head}{where}</div>'
    if seconds_per_chunk is None and status.backend != "zerank":
        note = " The first search measures its speed here."
        if budget_s > 0:
            note += f" On CPU it reranks as deep as fits in about {budget_s:g} s (up to {depth})."
        return f'<div class="hs-status hs-ok">{head}{note}{where}</div>'
    if seconds_per_chunk is None:
        note = (
            " Running on CPU: zerank-1 over 100 passages is slow (a 4-billion-parameter model; minutes "
            "per query). The first search measures the speed here; lower the rerank depth in Settings "
            "to wait less."
        )
        return f'<div class="hs-status hs-warn">{head}{note}{where}</div>'
    shown = depth if budget_s <= 0 else min(depth, max(PROBE, int(budget_s / seconds_per_chunk)))
    estimate = seconds_per_chunk * shown
    note = (
        f" Running on CPU: measured {seconds_per_chunk * 1000:.0f} ms per passage, so about "
        f"{_duration(estimate)} to rerank {shown}."
    )
    if shown < depth:
        note += f" Reranking the top {shown} of {depth} so the column arrives in about {budget_s:g} s."
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
