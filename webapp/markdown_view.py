"""Markdown passages shown as formatted text, safely: raw HTML in a document is escaped, never run,
images are not loaded (a document must not make the browser fetch anything), and only `javascript:`-
free links survive (markdown-it's own link check). Query terms are marked in the text, not in tags."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from webapp.highlight import QueryTerms, mark_terms

MARKDOWN_SUFFIXES = (".md", ".markdown")


@lru_cache(maxsize=1)
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    return md


def is_markdown(source: str) -> bool:
    return source.lower().endswith(MARKDOWN_SUFFIXES)


def render_markdown(text: str, terms: QueryTerms) -> str:
    """`text` as HTML (headings, emphasis, lists, code), with the query's terms marked."""
    return '<div class="hs-md">' + mark_terms(_renderer().render(text), terms) + "</div>"
