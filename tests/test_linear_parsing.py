"""Every pattern that reads untrusted text runs in linear time.

One file used to hold the server's GIL for minutes: regexes with an unbounded run of blanks that
can start anywhere (`[ \\t]*\\n`, `[ \\t]+$`, a lazy body before optional trailing blanks) are
quadratic on a long run of spaces. Each test here runs a text-processing step on a 100,000-char
pathological input and on 100,000 chars of ordinary prose, and bounds the ratio of the two: linear
code costs about the same on both (a few times at most), a quadratic pattern costs thousands of
times more at this size. The bound compares work, not wall-clock seconds, so a busy machine slows
both sides alike; the smallest of several runs is used to keep out scheduling noise.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.chunk import sentence_spans
from ingest.load import load_file
from ingest.pdf import clean_pdf_text
from ingest.text import _atx_h1, _looks_binary, markdown_title
from search.backends.local.lexical import query_tokens

N = 100_000
#: Pathological input may cost at most this many times ordinary input of the same size
#: (linear code measures 0.1-3x here; the quadratic patterns measured 1,000-100,000x).
MAX_RATIO = 30
#: Below this the timer measures noise, not work (both sides in microseconds).
FLOOR_S = 0.005


def prose(n: int = N, seed: int = 0) -> str:
    """Ordinary text of exactly `n` chars: sentences, line breaks, a heading, a list."""
    rng = random.Random(seed)
    words = [
        "the",
        "river",
        "garden",
        "library",
        "window",
        "search",
        "model",
        "index",
        "cheese",
        "score",
        "of",
        "and",
        "a",
    ]
    parts: list[str] = []
    size = 0
    while size < n:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(4, 16))).capitalize()
        part = sentence + rng.choice([". ", ".\n", "? ", ".\n\n", ".\n- ", ".\n## Part\n"])
        parts.append(part)
        size += len(part)
    return "".join(parts)[:n]


def cost(run: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def assert_costs_alike(pathological: Callable[[], object], ordinary: Callable[[], object]) -> None:
    base = cost(ordinary)
    worst = cost(pathological)
    assert worst <= MAX_RATIO * max(base, FLOOR_S), (
        f"{worst * 1000:.1f} ms on the pathological input vs {base * 1000:.1f} ms on ordinary text"
    )


def assert_linear(fn: Callable[[str], object], pathological: str) -> None:
    """`fn` on `pathological` costs about what it costs on ordinary text of the same size."""
    assert len(pathological) >= N
    ordinary = prose(len(pathological))
    assert_costs_alike(lambda: fn(pathological), lambda: fn(ordinary))


def rep(unit: str) -> str:
    """`unit` repeated to at least N chars."""
    return unit * -(-N // len(unit))


SPACES = " " * N

MARKDOWN_TITLE_CASES = {
    "heading then spaces then text": "# x" + SPACES + "y",
    "heading then spaces": "# x" + SPACES,
    "heading then tabs and spaces then hash": "# x" + rep(" \t") + "#y",
    "heading of blanks and hashes": "# " + rep(" #") + "x",
    "hash then spaces": "#" + SPACES + "y",
    "many short headings in a fence": "```\n" + rep("# a\n"),
}


@pytest.mark.parametrize("text", MARKDOWN_TITLE_CASES.values(), ids=MARKDOWN_TITLE_CASES.keys())
def test_markdown_title_is_linear(text: str) -> None:
    assert_linear(markdown_title, text)


def test_markdown_title_still_reads_headings() -> None:
    assert markdown_title("intro\n  # Green tea ##  \ntext") == "Green tea"
    assert markdown_title("```\n# comment\n```\n# Real") == "Real"
    assert markdown_title("# x" + " " * 50 + "y") == "x" + " " * 50 + "y"
    assert markdown_title("#nospace\n    # indented code\n# ##") == "##"


def test_atx_heading_agrees_with_the_regex_it_replaced() -> None:
    """The string version reads short lines exactly like the (quadratic) pattern it replaced."""
    reference = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
    rng = random.Random(0)
    alphabet = [" ", "\t", "#", "x", "\u00a0", "y"]
    for _ in range(20_000):
        line = " " * rng.randint(0, 4) + "#" * rng.randint(0, 1)
        line += "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
        match = reference.match(line)
        assert _atx_h1(line) == (match.group(1).strip() if match else None), repr(line)


PDF_CASES = {
    "spaces then text": SPACES + "x",
    "blanks of three kinds then text": rep(" \t\u00a0") + "x",
    "word, spaces, word per line": rep("x" + " " * 999 + "y\n"),
    "hyphens": rep("a-"),
    "hyphen breaks": rep("ab-\n"),
    "newlines": "\n" * N,
    "pairs of newlines": rep("x\n\n"),
    "control characters": rep("\x01\x0b"),
}


@pytest.mark.parametrize("text", PDF_CASES.values(), ids=PDF_CASES.keys())
def test_pdf_text_cleanup_is_linear(text: str) -> None:
    assert_linear(clean_pdf_text, text)


def test_pdf_text_cleanup_still_cleans() -> None:
    assert clean_pdf_text("exam-\nple  \t\nnext\u00a0 \n\n\n\nend \x01") == "example\nnext\n\nend"


SENTENCE_CASES = {
    "spaces then text": SPACES + "x",
    "spaces then a line break": SPACES + "\nx",
    "spaces then a heading line": SPACES + "\n# x",
    "line break then spaces": "x\n" + SPACES + "x",
    "blank-newline pairs": rep(" \n"),
    "tabs and spaces": rep("\t ") + "x",
    "full stop then closing quotes": "." + ")" * N + "x",
    "full stops": "." * N,
    "CJK full stop then brackets": "\u3002" + "\u300d" * N,
    "one long word": "x" * N,
    "one long line of words": rep("ab "),
}


@pytest.mark.parametrize("text", SENTENCE_CASES.values(), ids=SENTENCE_CASES.keys())
def test_sentence_splitting_is_linear(text: str) -> None:
    assert_linear(lambda t: sentence_spans(t, 1200, 100), text)


def test_binary_sniffing_is_linear() -> None:
    assert_linear(_looks_binary, "\x01" * N)


@pytest.mark.parametrize("text", ["x" * N, rep("ab"), rep("a_"), "\u00e9" * N])
def test_query_tokenizing_is_linear(text: str) -> None:
    assert_linear(lambda t: query_tokens(t, "", "en"), text)


def test_a_hostile_markdown_upload_loads_like_an_ordinary_one(tmp_path: Path) -> None:
    """The issue's case end to end: an 80 KB `.md` of a heading and spaces held the GIL for 74 s."""
    hostile = tmp_path / "hostile.md"
    hostile.write_text("# x" + " " * N + "y\n" + " " * N + "\n- item", encoding="utf-8")
    ordinary = tmp_path / "ordinary.md"
    ordinary.write_text(prose(2 * N + 9), encoding="utf-8")

    def load(path: Path) -> object:
        doc = load_file(path, max_bytes=10 * N)
        return sentence_spans(doc.text, 1200, 100)

    assert_costs_alike(lambda: load(hostile), lambda: load(ordinary))
