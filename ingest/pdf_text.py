"""PDF text after extraction: strip running headers and footers, and pick a title a person would use.

Page furniture: a line near the top or bottom of a page (among its first or last `EDGE_LINES`
non-empty lines, fewer on short pages) that recurs, with digits ignored ("Page 3 of 12" = "Page 7
of 12"), on at least `MIN_SHARE` of the pages with text (or of the odd or the even ones) and on at
least `MIN_PAGES` pages is removed from the edges of every page, from each end inwards up to the
first line that is not furniture. The same line anywhere else on a page is kept. Stripping happens
at load time, so the chunks that BM25, the embedding model and the reranker read are the text the
app shows.

Titles: many PDFs carry a metadata title that is no title ("Binder1.pdf", "Microsoft Word -
draft.docx", "untitled", ""). Those are replaced by the first line of the first page when it looks
like a heading (short, with letters, not the start of a wrapped paragraph), else by the file name.
The title is read from page 1 as printed, before furniture is stripped: many documents repeat their
title as the running header of every page, and page 1 keeps that first occurrence (it is the title,
not furniture there). Lines that name a web address, an e-mail or a copyright ("X Desktop Group
(http://www.freedesktop.org)") are no title and are passed over.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

#: How many non-empty lines at each end of a page can be furniture.
EDGE_LINES = 3
#: A line is furniture when it recurs on at least this share of the pages with text ...
MIN_SHARE = 0.6
#: ... and on at least this many pages.
MIN_PAGES = 3
#: The longest first line that is taken for a heading (a title), in characters ...
MAX_HEADING_CHARS = 120
#: ... and the longest directly followed by another line (longer ones are a wrapped paragraph).
SHORT_HEADING_CHARS = 80

_DIGITS = re.compile(r"\d+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _key(line: str) -> str:
    """What two occurrences of the same running header or footer have in common."""
    return _DIGITS.sub("#", " ".join(line.split())).casefold()


def _edge_positions(lines: list[str]) -> list[int]:
    """Indexes of the first and last `EDGE_LINES` non-empty lines of a page (fewer on a short page:
    at most a third of its lines at each end, at least one)."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    n = max(1, min(EDGE_LINES, len(filled) // 3))
    return sorted(set(filled[:n]) | set(filled[-n:]))


def _edge_run(lines: list[str], keys: set[str], keep: str = "") -> set[int]:
    """Indexes of the furniture lines at the top and at the bottom of a page: from each end inwards,
    until the first line that is not furniture (a recurring line inside the text is kept). A line
    whose key is `keep` (the title, on the first page) stays, and the run goes on past it."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    n = max(1, min(EDGE_LINES, len(filled) // 3))
    drop: set[int] = set()
    for run in (filled[:n], filled[::-1][:n]):
        for i in run:
            key = _key(lines[i])
            if key not in keys:
                break
            if key != keep:
                drop.add(i)
    return drop


def furniture_keys(pages: Sequence[str]) -> set[str]:
    """Normalised lines that recur at the top or bottom of most pages (see the module docstring).
    Odd and even pages are also counted on their own, for books whose left and right pages carry
    different running heads (author on one side, title on the other)."""
    edges = [{_key(lines[i]) for i in _edge_positions(lines)} for lines in (p.split("\n") for p in pages)]
    keys: set[str] = set()
    for group in (edges, edges[0::2], edges[1::2]):
        group = [page for page in group if page]  # pages with text
        if len(group) < MIN_PAGES:
            continue
        needed = max(MIN_PAGES, MIN_SHARE * len(group))
        counts = Counter(key for page in group for key in page)
        keys |= {key for key, count in counts.items() if count >= needed}
    return keys


def strip_page_furniture(pages: Sequence[str], title: str | None = None) -> list[str]:
    """`pages` without their running headers and footers; pages without any are returned as they are.
    A running header that is the document's `title` is kept where it first appears (the first page
    with text), since there it is the title rather than furniture."""
    keys = furniture_keys(pages)
    if not keys:
        return list(pages)
    out = []
    first = next((i for i, page in enumerate(pages) if page.strip()), -1)
    title_key = _key(title) if title else ""
    for number, page in enumerate(pages):
        lines = page.split("\n")
        drop = _edge_run(lines, keys, title_key if number == first else "")
        if not drop:
            out.append(page)
            continue
        kept = "\n".join(line for i, line in enumerate(lines) if i not in drop)
        out.append(_BLANK_RUNS.sub("\n\n", kept).strip())
    return out


_FILE_NAME = re.compile(r"\.(pdf|docx?|odt|rtf|txt|pptx?|xlsx?|indd|tex|html?)$", re.I)
_APP_PREFIX = re.compile(r"^microsoft (word|powerpoint|excel)\s*-", re.I)
_PLACEHOLDER = re.compile(r"^(untitled|document|binder|doc|title|presentation|slide)[\s_-]*\d*$", re.I)
_NO_LETTERS = re.compile(r"^[\W\d_]*$")
#: A web address, an e-mail address (also "name at host.org") or a copyright line: no title.
_NOT_A_NAME = re.compile(
    r"https?://|\bwww\.|\S@\S+\.\w|\bat\s+[\w.-]+\.(org|net|com|edu)\b|^(©|\(c\)|copyright\b)", re.I
)


def is_junk_title(title: str | None) -> bool:
    """True for titles that name no document: empty, a file name, "Microsoft Word - ...",
    "untitled" (and "Document1", "Binder1"), only digits and punctuation, or a line with a web or
    e-mail address or a copyright (an organisation's or author's line, not the document's name)."""
    text = " ".join((title or "").split())
    return bool(
        not text
        or _FILE_NAME.search(text)
        or _APP_PREFIX.match(text)
        or _PLACEHOLDER.match(text)
        or _NO_LETTERS.match(text)
        or _NOT_A_NAME.search(text)
    )


def first_heading(pages: Sequence[str]) -> str | None:
    """The first line of the first page with text that is not junk (a page number, an address line:
    see `is_junk_title`; among its first `EDGE_LINES` lines), when it reads as a heading: short,
    with letters, not a sentence (ending in "."), and not the first line of a wrapped paragraph
    (long, or running on into a next line that starts in lower case)."""
    for page in pages:
        lines = [" ".join(line.split()) for line in page.split("\n")]
        filled = [i for i, line in enumerate(lines) if line]
        if not filled:
            continue
        at = next((i for i in filled[:EDGE_LINES] if not is_junk_title(lines[i])), None)
        if at is None:
            return None
        first = lines[at]
        follows = lines[at + 1] if at + 1 < len(lines) else ""
        runs_on = bool(follows) and (len(first) > SHORT_HEADING_CHARS or follows[0].islower())
        if len(first) > MAX_HEADING_CHARS or runs_on or first.endswith((".", ",", ";", "-")):
            return None
        return first
    return None


def pdf_title(meta_title: str | None, pages: Sequence[str], stem: str) -> str:
    """The metadata title when it is a real one, else the first heading, else the file name stem."""
    if meta_title and not is_junk_title(meta_title):
        return " ".join(meta_title.split())
    return first_heading(pages) or stem
