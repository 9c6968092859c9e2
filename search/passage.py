"""How a PDF passage's lines read on screen: section headings stay apart from the text after them.

PDF text keeps the printed line breaks, which the app and the CLI join into running text. Joined
blindly, a heading runs into its section ("2. Energy Storage Energy storage grew..."). A line is
taken for a heading when it is short, starts with a capital or a digit, does not end like a clause
(".", ",", ";", ":", "-"), is followed by a line that starts with a capital or a digit, and is
either numbered ("2.", "1.3.", "A.") or clearly shorter than the block's longest line (a wrapped
paragraph's lines run to the margin). Linear in the text's length.
"""

from __future__ import annotations

import re

#: The longest line taken for a heading, in characters.
MAX_HEADING_CHARS = 80
#: An unnumbered heading is at most this share of the longest line of its block.
HEADING_SHARE = 0.7
_NUMBERED = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.)\s+\S")


def _starts_like_heading(line: str) -> bool:
    return bool(line) and (line[0].isupper() or line[0].isdigit())


def line_breaks(lines: list[str]) -> set[int]:
    """Indexes of the lines of one block after which the line break stays: a heading's, and the
    one before a heading."""
    heads = heading_lines(lines)
    return heads | {i - 1 for i in heads if i > 0}


def heading_lines(lines: list[str]) -> set[int]:
    """Indexes of the lines of one block (no blank lines inside) that are headings."""
    stripped = [line.strip() for line in lines]
    widest = max((len(line) for line in stripped), default=0)
    found = set()
    for i, line in enumerate(stripped[:-1]):
        if not (2 <= len(line) <= MAX_HEADING_CHARS and _starts_like_heading(line)):
            continue
        if line.endswith((".", ",", ";", ":", "-")) or not _starts_like_heading(stripped[i + 1]):
            continue
        if _NUMBERED.match(line) or len(line) <= HEADING_SHARE * widest:
            found.add(i)
    return found


def separate_headings(text: str, separator: str = " — ") -> str:
    """`text` in one line for a short view (a snippet): line breaks become spaces, except around a
    heading, where `separator` stands; blank lines become `separator` too."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.split("\n")
        breaks = line_breaks(lines)
        parts = [line.strip() + (separator if i in breaks else " ") for i, line in enumerate(lines)]
        joined = _squeeze("".join(parts), separator)
        if joined:
            out.append(joined)
    return separator.join(out)


def _squeeze(text: str, separator: str) -> str:
    """Runs of whitespace to one space, the separators kept as they are."""
    pieces = text.split(separator)
    return separator.join(" ".join(p.split()) for p in pieces if p.strip())
