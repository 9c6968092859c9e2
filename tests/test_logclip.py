"""Log lines are cut: a client's huge input never reaches the log at length, the error still does."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from webapp import logclip


def test_clip_cuts_only_long_lines_and_counts_the_rest() -> None:
    assert logclip.clip("short\nlines") == "short\nlines"
    text = logclip.clip("head\n" + "x" * 1000 + "\ntail", limit=10)
    assert text == "head\nxxxxxxxxxx… [990 more characters]\ntail"


def test_filter_cuts_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logclip.ClipFilter())
    logger = logging.getLogger("test_logclip")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error("bad input %s", "y" * 50_000)
        try:
            raise ValueError("z" * 50_000)
        except ValueError:
            logger.exception("internal error in %s", "search")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "bad input yyy" in out and "ValueError: zzz" in out and "internal error in search" in out
    assert max(map(len, out.splitlines())) <= logclip.MAX_LINE_CHARS + 40


def test_gradio_traceback_printing_is_cut_after_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import gradio.queueing

    logclip.install()
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    try:
        raise ValueError("Received inputs:\n    [" + "w" * 100_000 + "]")
    except ValueError:
        gradio.queueing.traceback.print_exc()
    out = err.getvalue()
    assert "Traceback (most recent call last)" in out and "Received inputs:" in out
    assert max(map(len, out.splitlines())) <= logclip.MAX_LINE_CHARS + 40
    assert gradio.queueing.traceback.format_exc is not None  # the rest of the module is still there
