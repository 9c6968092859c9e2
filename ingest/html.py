"""Saved web pages (.html, .htm) with trafilatura: the main article only.

Navigation, cookie banners, scripts, styles, comments and footers are boilerplate the reader did not
come for, and they repeat across pages of one site, so they would crowd every search. trafilatura
finds the main content (its own rules, then readability and jusText as fallbacks) and keeps tables;
the page's title is its `<h1>` or `<title>`, as trafilatura picks it.
"""

from __future__ import annotations

import logging

from ingest.errors import LoadError
from ingest.formats import Parsed
from ingest.pdf import clean_pdf_text


def read_html(data: bytes, name: str) -> Parsed:
    """The page's main text as one page, and its title."""
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.ERROR)  # it logs per odd page at WARNING
    try:
        found = trafilatura.bare_extraction(
            data, include_comments=False, include_tables=True, with_metadata=True
        )
    except Exception as exc:  # lxml on broken markup, encoding detection ...
        raise LoadError(name, f"not a readable web page: {type(exc).__name__}: {exc}"[:200]) from None
    text = clean_pdf_text(getattr(found, "text", None) or "") if found is not None else ""
    if not text:
        raise LoadError(name, "no main text found in the web page (only navigation or scripts?)")
    title = " ".join((getattr(found, "title", None) or "").split())[:300] or None
    return Parsed([text], False, title)
