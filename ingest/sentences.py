"""Char spans for the chunker: sentences (found in linear time), long runs split at line breaks and
whitespace, spans stripped of surrounding whitespace, and a hard cut of a span by characters."""

from __future__ import annotations

import re

#: Where sentences end: the whitespace after ., ! or ? (plus closing quotes/brackets), right
#: after a CJK full stop, a blank line, and the line break before a markdown heading or a list
#: item. Only the named group (whitespace, possibly empty) separates, so no visible character is
#: ever dropped between sentences. Every alternative starts at one fixed character (never at an
#: optional run of blanks), so a search is linear: `[ \t]*\n` tried at each of 40,000 spaces was not.
_SENTENCE_SEP = re.compile(
    r"""
      [.!?][\"'\u2019\u201d)\]]*(?P<a>\s+)
    | [\u3002\uff01\uff1f][\u300d\u300f\uff09]*(?P<d>\s*)
    | (?P<b>\n[ \t]*\n\s*)
    | (?P<c>\n)(?=[ \t]*(?:\#{1,6}[ \t]|[-*+\u2022][ \t]|\d{1,3}[.)][ \t]))
    """,
    re.VERBOSE,
)
_LINE = re.compile(r"[^\n]+")
_WORD_END = re.compile(r"\S+")


def sentence_spans(text: str, long_chars: int | None = None, piece_chars: int = 100) -> list[tuple[int, int]]:
    """(start, end) char spans of sentences, stripped of surrounding whitespace, in order.

    A "sentence" longer than `long_chars` (a table, a list, text without punctuation) cannot fit
    one chunk anyway, so it is split at line breaks and then at whitespace into pieces of about
    `piece_chars`: chunks then end at line/word boundaries, and tokenizing the pieces in a batch
    runs in parallel instead of one huge single-threaded call.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in _SENTENCE_SEP.finditer(text):
        sep_start, sep_end = match.span(match.lastgroup or 0)
        if sep_start > pos:
            spans.append((pos, sep_start))
        pos = max(pos, sep_end)
    if pos < len(text):
        spans.append((pos, len(text)))
    out: list[tuple[int, int]] = []
    for start, end in spans:
        span = strip_span(text, start, end)
        if span is None:
            continue
        if long_chars is None or span[1] - span[0] <= long_chars:
            out.append(span)
            continue
        for line in _LINE.finditer(text, span[0], span[1]):
            line_span = strip_span(text, *line.span())
            if line_span is None:
                continue
            if line_span[1] - line_span[0] <= long_chars:
                out.append(line_span)
            else:
                out.extend(_word_pieces(text, *line_span, piece_chars))
    return out


def _word_pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Split [start, end) at whitespace into pieces of about `size` chars (a longer single word
    stays whole; the token-level cutter deals with it)."""
    pieces: list[tuple[int, int]] = []
    piece_start = piece_end = start
    for word in _WORD_END.finditer(text, start, end):
        if word.end() - piece_start > size and piece_end > piece_start:
            pieces.append((piece_start, piece_end))
            piece_start = word.start()
        piece_end = word.end()
    if piece_end > piece_start:
        pieces.append((piece_start, piece_end))
    return pieces


def cut_chars(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """[start, end) in pieces of at most `size` chars: cut after the last whitespace in the back
    half of each window, else (one unbroken run) right at `size`."""
    pieces: list[tuple[int, int]] = []
    while end - start > size:
        window = text[start : start + size]
        blank = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
        cut = start + (blank if blank >= max(1, size // 2) else size)
        piece = strip_span(text, start, cut)
        if piece is not None:
            pieces.append(piece)
        start = cut
        while start < end and text[start].isspace():
            start += 1
    piece = strip_span(text, start, end)
    if piece is not None:
        pieces.append(piece)
    return pieces


def strip_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """[start, end) without leading and trailing whitespace; None when nothing else is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
