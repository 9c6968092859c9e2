"""The app's style sheet (Gradio theme variables for colours, so dark mode holds) and its theme."""

from typing import Any

CSS = """
/* The two columns keep a readable width: on a narrow screen the row wraps and they stack. */
#col-fused, #col-reranked {min-width: min(340px, 100%) !important;}
.hs-col, .hs-foot, .hs-status, .hs-empty {font-family: var(--font); color: var(--body-text-color);}
.hs-col b, .hs-foot b, .hs-status b, .hs-col strong {font-weight: 700; font-variant: normal;}
#query-row {align-items: flex-end;}
#search-btn {max-width: 12rem; min-height: 2.8rem; margin-bottom: .35rem;}
.hs-col-title {font-size: 1.05rem; font-weight: 700; margin: 0 0 .4rem 0;}
.hs-col-title .hs-metric {font-weight: 400; font-size: .9rem; color: var(--body-text-color);}
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
.hs-cite {font-weight: 700; word-break: break-word;}
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
.hs-full .hs-md {white-space: normal;}
.hs-full .hs-md h1, .hs-full .hs-md h2, .hs-full .hs-md h3 {font-size: 1rem; margin: .4rem 0 .2rem 0;}
.hs-full .hs-md p {margin: 0 0 .4rem 0;}
.hs-full {white-space: pre-wrap; font-size: .85rem; max-height: 22rem; overflow-y: auto;
  border-top: 1px dashed var(--border-color-primary); padding-top: .4rem;}
.hs-foot {font-size: .88rem; line-height: 1.5;}
.hs-foot .hs-hint {color: var(--body-text-color);}
.hs-foot .hs-ok {color: #15803d; font-weight: 700;}
.hs-foot .hs-bad {color: #b91c1c; font-weight: 700;}
.hs-status {font-size: .9rem; padding: .4rem .7rem; border-radius: 8px;
  border: 1px solid var(--border-color-primary);}
.hs-status.hs-ok {border-left: 4px solid #15803d;}
.hs-status.hs-warn {border-left: 4px solid #b45309;}
.hs-status.hs-off {border-left: 4px solid #6b7280;}
.hs-card {border: 1px solid var(--border-color-primary); border-left: 4px solid #b45309; border-radius: 8px;
  padding: .5rem .8rem; font-size: .9rem; background: var(--block-background-fill);}
.hs-card ul {margin: .3rem 0 .3rem 1.1rem;}
.hs-card .hs-fix {color: var(--body-text-color);}
.hs-card .hs-hint {font-size: .82rem; color: var(--body-text-color);}
#gain-line .hs-gain {font-size: .95rem; padding: .3rem .1rem;}
.hs-match {font-size: 1rem; padding: .5rem .7rem; margin: .2rem 0; border-radius: 4px;}
.hs-match-none {background: #fef2f2; border-left: 4px solid #b91c1c;}
.hs-match-none .hs-bad {color: #b91c1c; font-weight: 600;}
.hs-match-weak {background: #fffbeb; border-left: 4px solid #b45309;}
.hs-gain .hs-plus {color: #15803d; font-weight: 700;}
.hs-gain .hs-minus {color: #b91c1c; font-weight: 700;}
.hs-went {font-size: .75rem; color: var(--body-text-color); white-space: nowrap;}
.hs-intro h1 {font-size: 1.6rem; margin: 0 0 .4rem 0;}
.hs-intro p {margin: 0; line-height: 1.45;}
.hs-intro .hs-narrow {display: none;}
.hs-intro details summary {cursor: pointer; color: var(--body-text-color-subdued);}
/* The cited page: the picker alone until a page is picked; then the page drawn at the column's width
   (times the zoom), the frame scrolling sideways past 100 %. */
#page-image {overflow-x: auto !important;}
#page-image img {width: calc(100% * var(--hs-zoom, 1)) !important; max-width: none !important;
  height: auto !important; max-height: none !important; object-fit: contain;}
#page-image button:has(img), #page-image .image-frame, #page-image .image-container {height: auto !important;
  max-height: none !important; display: block;}
/* The upload's one progress display: room for its words and bar (the box is empty meanwhile). */
#ingest-report {min-height: 4.5rem;}
@media (max-width: 640px) {
  /* a phone: the intro folds to one line and the examples scroll sideways in one row, so the
     results start near the top (and a search scrolls to them) */
  .hs-intro .hs-wide {display: none;}
  .hs-intro .hs-narrow {display: block;}
  .hs-intro h1 {font-size: 1.25rem;}
  #examples .gallery {flex-wrap: nowrap !important; overflow-x: auto; padding-bottom: .3rem;}
  #examples .gallery-item {flex: 0 0 auto; max-width: 16rem;}
  #eval-controls .form {flex-wrap: wrap;}
  #eval-controls .form > .block {min-width: 100% !important;}
  #eval-out table {display: block; overflow-x: auto; white-space: nowrap;}
  #query-row {flex-direction: column; align-items: stretch;}
  #query-row > * {min-width: 0 !important; width: 100%;}
  #search-btn {max-width: none; width: 100%;}
  .hs-head {gap: .3rem;}
  .hs-score {margin-left: 0;}
}
"""


def theme() -> Any:
    """Gradio's default theme with its bundled Source Sans Pro declared at weights 400 and 700 only.

    The default declares 400 and 600, and the bundled SemiBold (600) file is a 55-glyph subset: bold
    text mixed two fonts ("ʙM25": B from the subset, M25 synthesised from the regular face). With no
    600 face, every semibold request renders with the complete Bold file."""
    import gradio as gr

    font = gr.themes.LocalFont("Source Sans Pro", weights=(400, 700))
    return gr.themes.Default(font=[font, "ui-sans-serif", "system-ui", "sans-serif"])
