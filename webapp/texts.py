"""The app's fixed words and the little JavaScript it runs in the browser (views, no logic).

The intro is written once and shown two ways by the style sheet (`webapp.css`): in full on a wide
screen, folded into a one-line "How to read the results" on a phone, so the query box and the
results come first there."""

from __future__ import annotations

TITLE = "Hybrid search, with and without a reranker"

_INTRO_BODY = """\
Type a question about the documents. <b>Left</b>: what a fast first-stage search finds: keyword matching
(BM25) and meaning-based matching (dense vectors), merged into one list. <b>Right</b>: the same candidates
re-read one by one by a <i>reranker</i>, a slower model that reads your question and each passage together,
and put in a new order. Badges show how each result moved: <b>▲</b> up, <b>▼</b> down, <b>=</b> same place,
<b>from #37</b>: pulled up from far down the hybrid list. Click a result to see its rank and score in every
stage and the whole passage."""

INTRO_HTML = (
    f'<div class="hs-intro"><h1>{TITLE}</h1>'
    f'<p class="hs-wide">{_INTRO_BODY}</p>'
    f'<details class="hs-narrow"><summary>How to read the results</summary><p>{_INTRO_BODY}</p></details>'
    "</div>"
)

EVALUATE_INTRO = """\
Measure instead of guessing: NDCG@10 (1 = every relevant document at the top) of BM25, dense and hybrid
search, each with and without reranking, over the queries judged in the searched collection: a shipped
set (a BEIR data set's `test` split) or your own marks (`user`, made under *Judge these results* in the
Search tab). Reranking is not always a gain; this shows whether it is one on these documents.
Tuning tries fusion settings on the same judgments and reports a held-out estimate (k-fold), so the
number is not flattered by fitting the very queries it is scored on.
"""

#: The width (px) up to which the layout is the phone one; the style sheet's media query agrees.
NARROW_PX = 640

#: After a search on a phone: bring the results into view (they sit below the query box, the status
#: line and the examples). On a wide screen they are in view already, and nothing moves.
SCROLL_TO_RESULTS_JS = f"""() => {{
  if (window.innerWidth > {NARROW_PX}) return;
  const target = document.querySelector('#gain-line') || document.querySelector('#col-fused');
  const first = document.querySelector('#col-fused');
  (target && target.offsetHeight > 0 ? target : first)?.scrollIntoView({{block: 'start'}});
}}"""

#: The page image's zoom: the radio's value ("100%", "150%", "200%") sets how wide the image is drawn
#: against its column; past 100 % the frame scrolls sideways.
ZOOM_JS = """(zoom) => {
  const box = document.querySelector('#page-image');
  if (box) box.style.setProperty('--hs-zoom', String(parseInt(zoom, 10) / 100 || 1));
  return zoom;
}"""

#: The settings panel's fusion choices (label, value) and what "adaptive" means.
FUSION_MODES = [
    ("Adaptive (default)", "adaptive"),
    ("RRF (by rank)", "rrf"),
    ("Weighted (by score)", "weighted"),
]
FUSION_MODE_INFO = (
    "Adaptive: dense weight × the share of the query the embedder read; the line under the results says "
    "which fusion ran and why"
)
