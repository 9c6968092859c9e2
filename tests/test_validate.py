"""Every value a client sends is checked before it reaches a library: unencodable text, unknown
collections and non-boolean flags are refused with a message naming the field, quoting little."""

from __future__ import annotations

import pytest

from search.errors import QueryError
from search.models import Scope
from search.settings import Settings
from webapp import validate


@pytest.mark.parametrize(
    ("value", "place"), [("\ud800", 1), ("battery \udfff storage", 9), ("ok" * 10 + "\udc80", 21)]
)
def test_a_lone_surrogate_is_refused_naming_the_field_and_place(value: str, place: int) -> None:
    with pytest.raises(QueryError, match=r"^doc_id is not valid Unicode text: a lone surrogate") as exc:
        validate.text("doc_id", value, 200)
    assert f"(U+{ord(value[place - 1]):04X}) at character {place};" in str(exc.value)


def test_ordinary_unicode_text_passes() -> None:
    for value in ("", "Café 日本語 😀", "a\u200bb", "\U0001f600" * 10):
        assert validate.text("query", value, 100) == value


@pytest.mark.parametrize("value", ["bogus", None, 3, ["mine"], "", "main; drop"])
def test_unknown_collections_are_refused_by_name(value: object) -> None:
    with pytest.raises(QueryError, match=r"^collection must be one of main \| mine, got "):
        validate.choice("collection", value, Scope)


def test_collections_are_matched_in_any_case() -> None:
    assert validate.choice("collection", " MINE ", Scope) is Scope.MINE
    assert validate.choice("collection", "Main", Scope) is Scope.MAIN


@pytest.mark.parametrize("value", ["false", "true", "False", 0, 1, "", [], {"x": 1}])
def test_rerank_takes_real_booleans_only(value: object) -> None:
    with pytest.raises(QueryError, match=r"^rerank must be true or false, got "):
        validate.search_params(Settings(), rerank=value)


def test_rerank_booleans_and_default() -> None:
    assert validate.search_params(Settings(), rerank=False)["rerank"] is False
    assert validate.search_params(Settings(), rerank=True)["rerank"] is True
    assert validate.search_params(Settings())["rerank"] is True  # left out: the default


@pytest.mark.parametrize(
    "call",
    [
        lambda big: validate.choice("collection", big, Scope),
        lambda big: validate.int_in("top_k", big, 1, 10),
        lambda big: validate.alpha(big),
        lambda big: validate.grade(big),
        lambda big: validate.boolean("rerank", big, True),
        lambda big: validate.choice("collection", [big] * 1000, Scope),
        lambda big: validate.boolean("rerank", {"k": big, "l": [big] * 100}, True),
    ],
)
def test_error_messages_quote_only_a_little_of_a_huge_value(call: object) -> None:
    big = "x" * 2_000_000
    with pytest.raises(QueryError) as exc:
        call(big)  # type: ignore[operator]
    assert len(str(exc.value)) < 300


def test_shown_cuts_long_values() -> None:
    assert validate.shown("abc") == "'abc'"
    assert len(validate.shown("y" * 10_000)) <= validate.SHOWN_CHARS + 5
    assert len(validate.shown(b"z" * 10_000)) <= validate.SHOWN_CHARS + 5
    assert len(validate.shown(list(range(10_000)))) < 100
    assert len(validate.shown({"k": ["v" * 500] * 50})) <= 2 * validate.SHOWN_CHARS + 1
