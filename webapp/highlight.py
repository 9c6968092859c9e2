"""Snippets with the query's terms marked, as the lexical index matched them.

Terms come from the backend's own analyzer (`IndexBackend.analyze`): a passage word is marked when
the analyzer turns it into one of the query's terms, so highlighting agrees with what BM25 matched
under any stemmer or stop-word setting. Every piece of text is HTML-escaped: uploads are untrusted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from search.passage import line_breaks
from search.stopwords import english

#: Turns text into the terms the lexical index would match (stemmed, stop words dropped).
Analyzer = Callable[[str], list[str]]

#: The words bm25s would see: runs of 2+ word characters.
_WORD = re.compile(r"\w\w+", re.UNICODE)

#: A tag or an entity in HTML: never marked inside.
_TAG_OR_ENTITY = re.compile(r"<[^<>]*>|&#?\w+;")

#: Markdown markup that reads as noise in a two-line snippet.
_MARKUP = re.compile(r"(\*\*|__|`|^#{1,6}\s+|(?<=\s)#{1,6}\s+)", re.MULTILINE)

SNIPPET_CHARS = 320


class QueryTerms:
    """The query's terms, as the backend's analyzer makes them, and a test for a passage word:
    "batteries" is marked for a query about "battery" when the analyzer stems both to one term.
    Stop words (NLTK's list, `search.stopwords`: "were", "how", "much") are left unmarked: BM25 may
    keep them, a reader does not count them as matches."""

    def __init__(self, query: str, analyze: Analyzer) -> None:
        self._analyze = analyze
        asked = set(analyze(query or ""))
        self.terms = asked - set(analyze(" ".join(sorted(english()))))
        self._seen: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, word: str) -> bool:
        key = word.lower()
        hit = self._seen.get(key)
        if hit is None:
            hit = any(t in self.terms for t in self._analyze(key))
            self._seen[key] = hit
        return hit


def highlight(text: str, terms: QueryTerms) -> str:
    """`text` escaped for HTML, with every word the analyzer maps to a query term wrapped in <mark>."""
    return mark_terms(html.escape(text, quote=False), terms)


def mark_terms(markup: str, terms: QueryTerms) -> str:
    """HTML with the query's terms marked in its text: tags and entities are left as they are."""
    out: list[str] = []
    pos = 0
    for match in _TAG_OR_ENTITY.finditer(markup):
        out.append(_mark_words(markup[pos : match.start()], terms))
        out.append(match.group())
        pos = match.end()
    out.append(_mark_words(markup[pos:], terms))
    return "".join(out)


def _mark_words(text: str, terms: QueryTerms) -> str:
    out: list[str] = []
    pos = 0
    for match in _WORD.finditer(text):
        if terms.matches(match.group()):
            out.append(text[pos : match.start()])
            out.append(f"<mark>{match.group()}</mark>")
            pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def snippet(text: str, terms: QueryTerms, width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of `text` around its densest run of query terms, highlighted and
    escaped, with "…" where it was cut; the start of the text when no term occurs. Markdown emphasis
    and heading marks are dropped: a snippet is for reading, the full text keeps them."""
    text = " ".join(_MARKUP.sub("", text).split())
    if len(text) <= width:
        return highlight(text, terms)
    hits = [m.start() for m in _WORD.finditer(text) if terms.matches(m.group())]
    start = 0
    if hits:
        best, best_count, j = hits[0], 0, 0
        for i, begin in enumerate(hits):  # the window starting at each hit; keep the one with most hits
            j = max(j, i)
            while j < len(hits) and hits[j] < begin + width:
                j += 1
            if j - i > best_count:
                best, best_count = begin, j - i
        start = max(0, best - width // 5)
    start = _word_start(text, start)
    end = min(len(text), start + width)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start + width // 2 else end
    body = highlight(text[start:end], terms)
    return ("… " if start > 0 else "") + body + (" …" if end < len(text) else "")


def _wordish(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def reflow(text: str, paged: bool) -> str:
    """Text for the full-chunk view. PDF text keeps the line breaks of the printed page, which read
    as broken lines on screen: for paged sources a single line break (with the blanks around it)
    becomes a space, none after a hyphen ("grid-\nscale" reads "grid-scale"), and blank lines stay
    paragraph breaks; a section heading keeps its line breaks (`search.passage`), so it does not run
    into its text. Text and markdown files are shown as written. Linear in the text's length."""
    if not paged:
        return text
    parts = re.split(r"(\n\n+)", text)
    for i in range(0, len(parts), 2):
        lines = parts[i].split("\n")
        breaks = line_breaks(lines)
        out = [lines[0]]
        for n, line in enumerate(lines[1:]):
            prev = out[-1]
            if n in breaks:
                out[-1] = prev.rstrip(" \t")
                out.append("\n" + line.lstrip(" \t"))
            elif len(prev) >= 2 and prev[-1] == "-" and _wordish(prev[-2]) and line[:1] and _wordish(line[0]):
                out.append(line)
            else:
                out[-1] = prev.rstrip(" \t")
                out.append(" " + line.lstrip(" \t"))
        parts[i] = "".join(out)
    return "".join(parts)


def _word_start(text: str, pos: int) -> int:
    """`pos` moved back to the start of the word it falls in (no half words at a snippet's start)."""
    if pos <= 0:
        return 0
    space = text.rfind(" ", 0, pos)
    return space + 1 if space >= 0 else 0
