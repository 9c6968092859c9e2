"""Junk text: passages nobody searches for, kept out of the index before they cost embedding time.

A file of 100,000 `[` makes 595 chunks that take minutes to embed on a CPU and match no query; so
does one word repeated for pages. Two signs, both cheap and language-neutral:

- **mostly punctuation**: under `MIN_WORD_SHARE` of the non-space characters are letters or digits
  (any script: `str.isalnum`, so CJK, Cyrillic, accented text and numbers all count as words);
  code (~65 %), markdown tables (~45 %) and numeric tables (~45 %) sit far above it;
- **one repeated token**: a single word makes up over `MAX_TOP_WORD_SHARE` of at least
  `MIN_WORDS` words, or a single character over `MAX_TOP_CHAR_SHARE` of at least `MIN_CHARS`
  characters (a run like "aaaa…" with no spaces is one "word").

A text shorter than `MIN_CHARS` non-space characters is never judged: a one-line note is fine.
The pipeline refuses a file whose whole text is junk (before chunking it) and leaves out the junk
chunks of a file that is otherwise real, saying how many (`junk_filter` turns both off).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from search.models import Chunk

#: Below this share of letters and digits among non-space characters, a text is punctuation.
MIN_WORD_SHARE = 0.2
#: Above this share of one word among all words (with at least MIN_WORDS), one word repeats.
MAX_TOP_WORD_SHARE = 0.8
MIN_WORDS = 20
#: Above this share of one character among non-space characters (with at least MIN_CHARS).
MAX_TOP_CHAR_SHARE = 0.8
MIN_CHARS = 40

_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")


def junk_reason(text: str) -> str | None:
    """Why `text` is not a searchable passage, or None when it is (or is too short to judge)."""
    dense = _SPACE.sub("", text)
    if len(dense) < MIN_CHARS:
        return None
    words = sum(ch.isalnum() for ch in dense)
    if words < MIN_WORD_SHARE * len(dense):
        return f"mostly punctuation or symbols ({words / len(dense):.0%} letters or digits)"
    char, count = Counter(dense).most_common(1)[0]
    if count > MAX_TOP_CHAR_SHARE * len(dense):
        return f"one character repeated ({char!r} is {count / len(dense):.0%} of the text)"
    tokens = _WORD.findall(text.casefold())
    if len(tokens) >= MIN_WORDS:
        word, n = Counter(tokens).most_common(1)[0]
        if n > MAX_TOP_WORD_SHARE * len(tokens):
            return f"one word repeated ({_short(word)!r} is {n / len(tokens):.0%} of the words)"
    return None


def file_junk_reason(text: str) -> str | None:
    """The refusal for a file whose whole text is junk (named as such in the ingest report)."""
    reason = junk_reason(text)
    return f"refused: no searchable text, {reason} (setting junk_filter)" if reason else None


def drop_junk(chunks: Sequence[Chunk]) -> tuple[list[Chunk], int]:
    """The chunks worth indexing and how many were left out as junk. Chunk ids are kept as they
    were (judgments bind to them), so a gap in the numbering marks a dropped chunk."""
    kept = [c for c in chunks if junk_reason(c.text) is None]
    return kept, len(chunks) - len(kept)


def dropped_note(dropped: int, total: int) -> str:
    return (
        f"left out {dropped:,} of {total:,} passages that are mostly punctuation or one repeated word "
        "(setting junk_filter)"
    )


def _short(word: str) -> str:
    return word if len(word) <= 20 else word[:20] + "…"
