"""Checks on every value a client sends, before any work: a clear error naming the field, so a
public endpoint cannot be asked for a million hits, a rerank of the whole index or a 2 MB judgment.

Text must be encodable Unicode (a lone surrogate such as "\\ud800", which JSON can carry, breaks
the tokenizers and every file write), booleans are real booleans, and a message quotes at most
`SHOWN_CHARS` of a value: errors are shown and logged, and a client must not fill the log."""

from __future__ import annotations

import math
import reprlib
from typing import Any

from search.errors import QueryError
from search.models import FusionMode, Scope
from search.settings import Settings

#: Grades a judgment may carry (None unmarks).
GRADES = (0, 1, 2)
MAX_ID_CHARS = 200
#: A search query longer than this is refused; up to it, the pipeline cuts it to `max_query_chars`
#: with a warning (a pasted page still searches; a pasted book does not reach the server's memory).
MAX_REQUEST_QUERY_CHARS = 100_000
#: About the most characters of a client's value an error message quotes (twice this at most).
SHOWN_CHARS = 60

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = SHOWN_CHARS
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 4
_repr.maxlevel = 2


def shown(value: Any) -> str:
    """`repr(value)`, cut to about `SHOWN_CHARS` characters (strings, lists, dicts alike)."""
    if isinstance(value, (str, bytes)) and len(value) > 4 * SHOWN_CHARS:
        value = value[: 4 * SHOWN_CHARS]  # reprlib would build the whole repr first
    text = _repr.repr(value)
    return text if len(text) <= 2 * SHOWN_CHARS else text[: 2 * SHOWN_CHARS] + "…"


def int_in(name: str, value: Any, low: int, high: int) -> int:
    """`value` as an int within [low, high], or a QueryError naming `name` and the range."""
    if isinstance(value, bool) or value is None:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, got {shown(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise QueryError(f"{name} must be a whole number from {low} to {high}, got {shown(value)}") from None
    if not math.isfinite(number) or number != int(number) or not low <= number <= high:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, got {shown(value)}")
    return int(number)


def optional_int(name: str, value: Any, low: int, high: int) -> int | None:
    return None if value is None else int_in(name, value, low, high)


def alpha(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise QueryError(f"alpha must be a number from 0 to 1, got {shown(value)}") from None
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise QueryError(f"alpha must be a number from 0 to 1, got {shown(value)}")
    return number


def choice(name: str, value: Any, kind: type[FusionMode] | type[Scope]) -> Any:
    """One of `kind`'s values, given as text in any case ("MINE" is "mine")."""
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return kind(value.strip().lower())
    except ValueError:
        allowed = " | ".join(m.value for m in kind)
        raise QueryError(f"{name} must be one of {allowed}, got {shown(value)}") from None


def text(name: str, value: Any, max_chars: int) -> str:
    """`value` if it is a string of at most `max_chars` characters that UTF-8 can encode."""
    if not isinstance(value, str):
        raise QueryError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > max_chars:
        raise QueryError(f"{name} is {len(value):,} characters; at most {max_chars:,} are accepted")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QueryError(
            f"{name} is not valid Unicode text: a lone surrogate (U+{ord(value[exc.start]):04X}) at "
            f"character {exc.start + 1:,}; send UTF-8 text"
        ) from None
    return value


def boolean(name: str, value: Any, default: bool) -> bool:
    """A real boolean (None gives `default`): the string "false" is refused, not taken as true."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise QueryError(f"{name} must be true or false, got {shown(value)}")
    return value


def grade(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or value not in GRADES:
        raise QueryError(f"relevance must be one of 0, 1, 2 or null, got {shown(value)}")
    return int(value)


def search_params(settings: Settings, **raw: Any) -> dict[str, Any]:
    """The `/search` parameters checked and converted; None keeps the collection's own setting."""
    return {
        "top_k": optional_int("top_k", raw.get("top_k"), 1, settings.max_top_k),
        "candidates": optional_int("candidates", raw.get("candidates"), 1, settings.max_candidates),
        "rerank_depth": optional_int("rerank_depth", raw.get("rerank_depth"), 0, settings.max_rerank_depth),
        "fusion_mode": None
        if raw.get("fusion_mode") is None
        else choice("fusion_mode", raw["fusion_mode"], FusionMode).value,
        "alpha": alpha(raw.get("alpha")),
        "rerank": boolean("rerank", raw.get("rerank"), True),
    }
