"""Text files to `str`: BOM, then strict UTF-8, then BOM-less UTF-16, then a legacy guess; binary
content and whitespace-only text are refused. Also the markdown title of a text."""

from __future__ import annotations

import re

from ingest.errors import LoadError

#: Share of control / replacement characters above which decoded "text" is treated as binary.
_MAX_BAD_CHAR_RATIO = 0.01
#: Legacy encodings preferred when charset-normalizer ranks them (near) equal to its best guess:
#: short Western files are otherwise often "detected" as cp1006/cp775 and decoded as mojibake.
_PREFERRED_LEGACY = ("cp1252", "latin_1", "iso8859_15")

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_text(data: bytes, name: str) -> str:
    """Decode text bytes: BOM, then strict UTF-8, then BOM-less UTF-16, then a legacy guess.

    Raises `LoadError` for binary content and for text that is only whitespace.
    """
    text = _decode(data)
    if text is None or _looks_binary(text):
        raise LoadError(name, "binary content, not text")
    text = normalize_newlines(text).lstrip("\ufeff")
    if not text.strip():
        raise LoadError(name, "no text")
    return text


def _decode(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            # "replace" so one bad byte does not drop a file; many bad bytes read as binary later
            return data[len(bom) :].decode(encoding, errors="replace")
    if b"\x00" in data:
        return _decode_utf16_without_bom(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_legacy(data)


def _decode_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a BOM has NULs on one byte parity (for mostly-Latin text); binary does not."""
    if len(data) % 2:
        return None
    half = len(data) // 2
    even, odd = data[0::2].count(0), data[1::2].count(0)
    if odd >= 0.3 * half and even <= 0.02 * half:
        encoding = "utf-16-le"
    elif even >= 0.3 * half and odd <= 0.02 * half:
        encoding = "utf-16-be"
    else:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _decode_legacy(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    best = results.best()
    if best is None:
        return None
    by_encoding = {match.encoding: match for match in results}
    for encoding in _PREFERRED_LEGACY:
        match = by_encoding.get(encoding)
        if match and match.chaos <= best.chaos + 0.05 and match.coherence >= best.coherence - 0.1:
            return str(match)
    return str(best)


#: Control characters (C0 bar whitespace and ESC, DEL, C1), lone surrogates and U+FFFD.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")


def _looks_binary(text: str) -> bool:
    sample = text[:1_000_000]
    return len(_BAD_CHARS.findall(sample)) > _MAX_BAD_CHAR_RATIO * len(sample)


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def markdown_title(text: str) -> str | None:
    """The first level-1 `# ` heading outside fenced code blocks (where `#` is a comment)."""
    fenced = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (heading := _atx_h1(line)) is not None:
            return heading or None
    return None


def _atx_h1(line: str) -> str | None:
    """The text of a level-1 ATX heading line (`# Title`, `  # Title ##`), else None.

    String methods, not a regex: a pattern with a lazy body before optional trailing blanks is
    quadratic on a heading followed by a long run of spaces (`# x` + 40,000 spaces took 16 s).
    """
    body = line.lstrip(" ")
    if len(line) - len(body) > 3 or len(body) < 3 or body[0] != "#" or body[1] not in " \t":
        return None
    content = body[1:].strip(" \t")
    if not content:  # "#" and blanks only: a heading with no text
        return ""
    closed = content.rstrip("#")  # a closing sequence: blanks, then #s, at the end of the line
    if closed != content and closed and closed[-1] in " \t":
        content = closed
    return content.strip()
