"""Logs that never echo a client's input at length: every logged line is cut to `MAX_LINE_CHARS`.

A malformed raw API call used to put its whole input (20 MB) on one line of the server log, twice:
Gradio prints the traceback of an input it cannot use ("Received inputs: [...]") with
`traceback.print_exc()`, not through `logging`, so no logging setting reaches it. `install()` cuts
both: a `ClipFilter` on the root, uvicorn and gradio loggers and their handlers, and Gradio's
traceback printing routed through the same cut.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import SimpleNamespace
from typing import Any

#: The longest line a log record or a printed traceback keeps; the rest is replaced by a count.
MAX_LINE_CHARS = 300
#: Gradio modules that print tracebacks of failed events themselves.
GRADIO_PRINTERS = ("gradio.queueing", "gradio.routes", "gradio.utils", "gradio.route_utils")
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "gradio")


def clip(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """`text` with every line over `limit` characters cut, saying how much was left out."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    return "\n".join(
        line if len(line) <= limit else f"{line[:limit]}… [{len(line) - limit:,} more characters]"
        for line in lines
    )


class ClipFilter(logging.Filter):
    """Cuts a record's message and traceback lines (the formatter then uses them as they are)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        if len(message) > MAX_LINE_CHARS:
            record.msg, record.args = clip(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = clip("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return True


def print_clipped_exc(limit: int | None = None, file: Any = None, chain: bool = True) -> None:
    """`traceback.print_exc()` with each line cut to `MAX_LINE_CHARS`."""
    text = clip(traceback.format_exc(limit=limit, chain=chain))
    print(text, end="" if text.endswith("\n") else "\n", file=file if file is not None else sys.stderr)


_installed_filter = ClipFilter()


def install() -> None:
    """Cut long lines in every log handler there is now and in Gradio's printed tracebacks.
    Idempotent; called when the app is built, after logging is configured."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        # on the logger too: uvicorn replaces its handlers when the server starts
        for target in (logger, *logger.handlers):
            if _installed_filter not in target.filters:
                target.addFilter(_installed_filter)
    shim = SimpleNamespace(**{k: getattr(traceback, k) for k in dir(traceback) if not k.startswith("__")})
    shim.print_exc = print_clipped_exc
    for module_name in GRADIO_PRINTERS:
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, "traceback", None) is traceback:
            module.traceback = shim  # type: ignore[attr-defined]
