"""Presentation: escaping, highlighting, snippets, movement badges, hit cards, status and JSON."""

from __future__ import annotations

import re

import pytest

from ingest.pipeline import IngestReport
from search import payload
from search.backends import DocumentInfo
from search.backends.local.lexical import query_tokens
from search.compare import agreement, movement_text
from search.models import BM25, DENSE, FUSED, RERANKED, Chunk, FusionParams, Hit, RerankerStatus, SearchResult
from webapp import cards, documents
from webapp import status as status_view
from webapp.highlight import QueryTerms, highlight, reflow, snippet


def chunk(
    cid: str = "c1", text: str = "Battery storage grew.", source: str = "r.pdf", page: int | None = 2
) -> Chunk:
    return Chunk(cid, "d1", source, "Report", text, page_start=page, page_end=page)


def hit(cid: str, fused: int, reranked: int | None = None, text: str = "x") -> Hit:
    ranks = {BM25: fused, FUSED: fused} | ({RERANKED: reranked} if reranked else {})
    scores = {BM25: 3.2, FUSED: 0.0161, **({RERANKED: 0.9} if reranked else {})}
    return Hit(chunk(cid, text), scores=scores, ranks=ranks)


def result(fused: list[Hit], reranked: list[Hit] | None, warnings: list[str] | None = None) -> SearchResult:
    stages = {FUSED: fused} | ({RERANKED: reranked} if reranked is not None else {})
    timings = {"embed": 5.0, "bm25": 0.8, "dense": 0.2, "fusion": 0.05, "rerank": 1500.0, "total": 1506.1}
    status = RerankerStatus("zeroentropy/zerank-1", "zerank", "cpu", True)
    return SearchResult("battery storage", stages, timings, FusionParams(), status, warnings or [])


def english(text: str) -> list[str]:
    """The local backend's default analyzer (Snowball English, bm25s English stop words)."""
    return query_tokens(text, "english", "en")


def terms_of(query: str) -> QueryTerms:
    return QueryTerms(query, english)


def test_query_terms_are_stems_without_stop_or_question_words() -> None:
    terms = terms_of("How much battery storage did the batteries have?")
    assert terms.terms == {"batteri", "storag"}


def test_highlighting_follows_the_backends_analyzer() -> None:
    """With no stemmer (a `bm25_stemmer=""` index) "batteries" is not what BM25 matched for "battery"."""
    plain = QueryTerms("battery", lambda t: query_tokens(t, "", "en"))
    assert highlight("battery batteries", plain) == "<mark>battery</mark> batteries"
    assert highlight("battery batteries", terms_of("battery")).count("<mark>") == 2


def test_highlight_marks_stem_matches_and_escapes_html() -> None:
    text = 'Batteries <script>alert("x")</script> & storage'
    out = highlight(text, terms_of("battery storage"))
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;" in out
    assert out.count("<mark>") == 2
    assert "<mark>Batteries</mark>" in out and "<mark>storage</mark>" in out


def test_query_text_cannot_inject_markup() -> None:
    out = highlight("a <b>bold</b> claim", terms_of("<b>bold</b>"))
    assert "<b>" not in out and "<mark>bold</mark>" in out


def test_snippet_centres_on_the_terms_and_marks_cuts() -> None:
    text = ("filler words here " * 40) + "the quince jelly was stored in the cellar " + ("more filler " * 40)
    out = snippet(text, terms_of("quince jelly cellar"), width=120)
    assert "<mark>quince</mark>" in out and "<mark>cellar</mark>" in out
    assert out.startswith("… ") and out.endswith(" …")
    assert len(re.sub(r"<[^>]+>", "", out)) <= 120 + 4


def test_snippet_of_short_text_is_whole_and_drops_markdown_markup() -> None:
    out = snippet("## Heading\n**Bold** storage", terms_of("storage"))
    assert out == "Heading Bold <mark>storage</mark>"


def test_reflow_joins_pdf_lines_but_keeps_paragraphs_and_plain_text() -> None:
    assert reflow("one line\nnext line\n\nnew para grid-\nscale", paged=True) == (
        "one line next line\n\nnew para grid-scale"
    )
    assert reflow("- item\n- item", paged=False) == "- item\n- item"


@pytest.mark.parametrize(
    "fused,reranked,text,css",
    [
        (9, 4, "▲5 (was #9)", "hs-up"),
        (2, 4, "▼2 (was #2)", "hs-down"),
        (3, 3, "=", "hs-same"),
        (37, 1, "from #37", "hs-from"),
    ],
)
def test_movement_text_and_badge(fused: int, reranked: int, text: str, css: str) -> None:
    h = hit("c", fused, reranked)
    assert movement_text(h, top_k=10) == text
    badge = cards.movement_badge(h, top_k=10)
    assert css in badge and text in badge and 'title="' in badge


def test_format_score_never_reads_as_a_percentage() -> None:
    assert cards.format_score(1 / 61) == "0.0164"
    assert cards.format_score(12.3456) == "12.3456"
    assert cards.format_score(1.0) == "1.0000" and cards.format_score(0.6) == "0.6000"
    assert cards.format_score(None) == "—"


def test_model_label_shortens_paths_not_hub_ids() -> None:
    assert cards.model_label("zeroentropy/zerank-1") == "zeroentropy/zerank-1"
    assert cards.model_label("/tmp/models/tiny_zerank") == "tiny_zerank"
    assert cards.model_label("") == "reranker"
    assert (
        cards.reranked_title(RerankerStatus("/m/tiny_zerank", "zerank", "cpu", True))
        == "Reranked by tiny_zerank"
    )
    assert cards.reranked_title(RerankerStatus("", "none")) == "Not reranked"
    # a model that failed to load is not named as if it had reranked
    assert (
        cards.reranked_title(RerankerStatus("zeroentropy/zerank-1", "zerank", reason="x")) == "Not reranked"
    )


def test_no_reranker_card_says_what_is_missing_and_how_to_fix_it() -> None:
    from search.models import RerankAttempt

    attempts = (
        RerankAttempt("zerank-1 on GPU", "no GPU here", "run on a machine with an NVIDIA GPU"),
        RerankAttempt("hosted zerank-1", "ZEROENTROPY_API_KEY is not set", "set ZEROENTROPY_API_KEY"),
        RerankAttempt("ms-marco-MiniLM-L6-v2 on cpu", "not cached <offline>", "SEARCH_CROSS_ENCODER_MODEL"),
    )
    status = RerankerStatus("", "none", choice="none: no GPU for zerank-1", attempts=attempts)
    card = cards.no_reranker_card(status, cards.hybrid_origin("RRF k=60", 100, "/x/all-MiniLM-L6-v2"))
    assert card.startswith('<div class="hs-col-title">Not reranked</div>')
    assert card.count("<li>") == 3 and "not cached &lt;offline&gt;" in card
    for fix in ("NVIDIA GPU", "set ZEROENTROPY_API_KEY", "SEARCH_CROSS_ENCODER_MODEL"):
        assert fix in card
    assert "top 100 passages by BM25" in card and "all-MiniLM-L6-v2" in card and "RRF k=60" in card
    explicit = cards.no_reranker_card(RerankerStatus("", "none"), "x.")
    assert "SEARCH_RERANKER=auto" in explicit


def test_hit_card_has_rank_badge_citation_stage_table_and_escaped_full_text() -> None:
    h = hit("c9", 9, 4, text="Storage <img src=x onerror=alert(1)> rose.")
    h.ranks[DENSE], h.scores[DENSE] = 12, 0.51
    card = cards.hit_card(h, RERANKED, terms=terms_of("storage"), top_k=10, candidates=100, relevant=True)
    assert card.startswith('<details class="hs-hit hs-relevant"')
    assert "#4" in card and "▲5 (was #9)" in card and "r.pdf, p. 2" in card and "score 0.9000" in card
    assert "<img" not in card and "&lt;img" in card
    table = re.search(r'<table class="hs-stages">.*</table>', card).group(0)
    assert "<td>#9</td><td>3.2000</td>" in table  # BM25
    assert "<td>#12</td><td>0.5100</td>" in table  # dense
    assert "✓ relevant" in card
    fused_card = cards.hit_card(h, FUSED, terms=terms_of(""), top_k=10, candidates=100)
    assert "hs-move" not in fused_card and "#9" in fused_card and "hs-relevant" not in fused_card


def test_stage_table_says_why_a_stage_is_missing() -> None:
    h = hit("c", 3)
    table = cards.stage_table(h, candidates=50)
    assert "not in its top 50" in table and "not reranked" in table


def test_column_html_escapes_the_title_and_shows_ndcg() -> None:
    col = cards.column_html(
        "Reranked by <x>",
        [hit("a", 1, 1)],
        RERANKED,
        query="x",
        analyze=english,
        top_k=10,
        candidates=100,
        relevant=["a"],
        ndcg=0.5,
    )
    assert "Reranked by &lt;x&gt;" in col and "NDCG@10 0.500" in col and "hs-relevant" in col
    empty = cards.column_html(
        "T", [], FUSED, query="q", analyze=english, top_k=10, candidates=100, empty="Nothing."
    )
    assert "Nothing." in empty


def test_agreement_counts_shared_hits_and_order() -> None:
    fused = [hit(c, i) for i, c in enumerate("abcd", start=1)]
    reranked = [hit("b", 2, 1), hit("a", 1, 2), hit("x", 40, 3), hit("c", 3, 4)]
    agree = agreement(result(fused, reranked), top_k=4)
    assert agree.shared == 3 and agree.overlap == pytest.approx(0.75)
    assert agree.tau == pytest.approx(1 / 3)  # a, b, c: one swapped pair out of three
    assert agreement(result(fused, None), top_k=4) is None
    assert "3 of their top 4" in status_view.agreement_line(agree)
    assert "did not run" in status_view.agreement_line(None)


def test_timings_line_is_in_pipeline_order() -> None:
    line = status_view.timings_line(
        {"rerank": 1500.0, "embed": 5.0, "bm25": 0.8, "total": 1506.0, "fusion": 0.05}
    )
    assert line == "embed query 5.0 ms · BM25 0.80 ms · fusion 0.05 ms · rerank 1.50 s · total 1.51 s"


def test_footer_has_timings_agreement_fusion_and_escaped_warnings() -> None:
    res = result([hit("a", 1)], [hit("a", 1, 1)], warnings=["query cut <b>"])
    footer = status_view.footer_html(res, top_k=10)
    assert "Timings" in footer and "overlap@10" in footer and "RRF k=60" in footer
    assert "query cut &lt;b&gt;" in footer


def test_status_lines() -> None:
    cpu = RerankerStatus("zeroentropy/zerank-1", "zerank", "cpu", True)
    before = status_view.status_html(cpu)
    assert "CPU" in before and "slow" in before and "rerank depth" in before
    slow = status_view.status_html(cpu, seconds_per_chunk=0.5, depth=100)
    assert "500 ms per passage" in slow and "50 s" in slow and "e.g. 20" in slow and "hs-warn" in slow
    fast = status_view.status_html(cpu, seconds_per_chunk=0.005, depth=100)
    assert "500 ms to rerank 100" in fast and "hs-ok" in fast
    gpu = status_view.status_html(
        RerankerStatus("zeroentropy/zerank-1", "zerank", "cuda", True), collection="My documents"
    )
    assert "GPU (cuda)" in gpu and "slow" not in gpu and "My documents" in gpu
    off = status_view.status_html(
        RerankerStatus("zeroentropy/zerank-1", "zerank", "", False, "not cached <offline>")
    )
    assert "Reranker off" in off and "not cached &lt;offline&gt;" in off and "Search still works" in off
    auto_off = status_view.status_html(
        RerankerStatus("", "none", reason="r", choice="none: no GPU for zerank-1")
    )
    assert "Reranker off</b> — no GPU for zerank-1." in auto_off
    ce = RerankerStatus(
        "cross-encoder/ms-marco-MiniLM-L6-v2", "cross-encoder", "cpu", True, choice="c on cpu: x"
    )
    line = status_view.status_html(ce)
    assert "<b>Reranker</b>: c on cpu: x." in line and "zerank" not in line and "hs-ok" in line


def test_result_json_has_both_lists_moves_timings_and_agreement() -> None:
    fused = [hit("a", 1), hit("b", 2)]
    reranked = [hit("b", 2, 1), hit("a", 1, 2)]
    out = payload.result_json(result(fused, reranked), top_k=10, collection="Sample corpus")
    assert [h["chunk_id"] for h in out["fused"]] == ["a", "b"]
    assert [h["movement"] for h in out["reranked"]] == ["▲1 (was #2)", "▼1 (was #1)"]
    assert "movement" not in out["fused"][0]
    assert out["fused"][0]["citation"] == "r.pdf, p. 2" and out["fused"][0]["page_start"] == 2
    assert out["timings_ms"]["rerank"] == 1500.0 and out["agreement"]["shared"] == 2
    assert out["collection"] == "Sample corpus" and out["reranker"]["loaded"] is True


def test_ingest_html_and_json_name_each_file() -> None:
    report = IngestReport(
        index_dir="/x",
        added=["a.pdf"],
        skipped=[("/tmp/up/bad <1>.pdf", "not a PDF")],
        warnings=[("big.pdf", "page 3 left out: stream over the decompression limit")],
        documents=3,
        pages=7,
        chunks=20,
    )
    out = documents.ingest_html(report, "My documents")
    assert "a.pdf" in out and "bad &lt;1&gt;.pdf" in out and "not a PDF" in out and "/tmp/up" not in out
    assert "My documents now holds 3 documents, 7 pages, 20 passages" in out
    assert "page 3 left out" in out
    data = documents.ingest_json(report, "My documents")
    assert data["skipped"] == [{"file": "bad <1>.pdf", "reason": "not a PDF"}] and data["added"] == ["a.pdf"]
    assert data["warnings"][0]["file"] == "big.pdf"
    nothing = documents.ingest_html(
        IngestReport(index_dir="/x", skipped=[("b.pdf", "damaged")]), "My documents"
    )
    assert "Nothing was added" in nothing


def test_document_rows_are_sorted_by_file_name() -> None:
    docs = [DocumentInfo("2", "up/b.md", "B", "h", 0, 3), DocumentInfo("1", "a.pdf", "A", "h", 4, 9)]
    assert documents.document_rows(docs) == [["a.pdf", "A", 4, 9], ["b.md", "B", "", 3]]
    assert payload.document_json(docs[0]) == {
        "doc_id": "2",
        "file": "b.md",
        "title": "B",
        "pages": 0,
        "chunks": 3,
    }


def test_markdown_passages_are_rendered_safely_with_terms_marked() -> None:
    from webapp.markdown_view import render_markdown

    text = (
        "## Battery storage\n\n**Grid** batteries <script>alert(1)</script> "
        "![x](http://evil/x.png) [a](javascript:alert(1))"
    )
    out = render_markdown(text, terms_of("battery"))
    assert "<h2><mark>Battery</mark> storage</h2>" in out and "<strong>Grid</strong>" in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<img" not in out and 'href="javascript' not in out
    assert "**" not in out and "##" not in out
    assert "<mark>batteries</mark>" in out


def test_terms_are_never_marked_inside_tags_or_entities() -> None:
    assert highlight("a < b & c", terms_of("lt amp")) == "a &lt; b &amp; c"


def test_gain_line_judged_unjudged_and_without_reranking() -> None:
    a, b, c = hit("a", 1, 3), hit("b", 2, 2), hit("c", 9, 1)
    res = result([a, b, c], [c, b, a])
    judged = status_view.gain_html(res, 10, 0.61, 0.83)
    assert 'Reranking: NDCG@10 0.61 → 0.83 <span class="hs-plus">(+0.22)</span> on this query' in judged
    assert 'class="hs-minus"' in status_view.gain_html(res, 10, 0.8, 0.5)
    unjudged = status_view.gain_html(res, 10)
    assert "changed the place of 2 of the top 3" in unjudged and "r.pdf, p. 2 from #9 to #1" in unjudged
    assert status_view.gain_html(result([a], None), 10) == ""


def test_both_columns_show_each_hits_move() -> None:
    a, c = hit("a", 1, 3), hit("c", 9, 1)
    terms = terms_of("x")
    left = cards.hit_card(a, FUSED, terms=terms, top_k=10, candidates=100)
    assert '<span class="hs-went" title="after reranking: #3 (was #1 here)">▼ to #3</span>' in left
    assert "▲ to #1" in cards.hit_card(c, FUSED, terms=terms, top_k=10, candidates=100)
    right = cards.hit_card(c, RERANKED, terms=terms, top_k=10, candidates=100)
    assert "▲8 (was #9)" in right and "hs-went" not in right
    assert "hs-went" not in cards.hit_card(hit("z", 4), FUSED, terms=terms, top_k=10, candidates=100)


def test_the_theme_declares_no_semibold_face() -> None:
    """Gradio's bundled SemiBold file is a 55-glyph subset: bold text must use the complete Bold face."""
    from webapp.css import theme

    css = theme()._get_theme_css()
    faces = [f for f in re.findall(r"@font-face\s*\{[^}]*\}", css) if "Source Sans Pro" in f]
    assert any("SourceSansPro-Bold.woff2" in f and "font-weight: 700" in f for f in faces)
    assert not any("SemiBold" in f or "font-weight: 600" in f for f in faces)
