"""Keep third-party start-up chatter out of the user's terminal: one line per step.

Each library is quietened where it is imported (see `search.backends.local.vectors` for faiss and
`search.backends.local.lexical` for bm25s); this module holds what several import sites share.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_weights_bar_hooked = False

#: The bar transformers (≥ 5) draws for every model load, however fast: sub-second noise.
_WEIGHTS_BAR = "Loading weights"


def quiet_model_loading() -> None:
    """Hide transformers' per-load "Loading weights" bar and sentence-transformers' INFO line
    naming the model path; download bars and every warning stay. Idempotent; call before loading."""
    global _weights_bar_hooked
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    with _lock:
        if _weights_bar_hooked:
            return
        _weights_bar_hooked = True
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a dependency
        return
    set_hook = getattr(hf_logging, "set_tqdm_hook", None)
    if set_hook is None:  # transformers < 5 has neither the bar nor the hook
        return
    previous = set_hook(None)

    def hook(factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("desc") == _WEIGHTS_BAR:
            kwargs = {**kwargs, "disable": True}
        return previous(factory, args, kwargs) if previous is not None else factory(*args, **kwargs)

    set_hook(hook)


def progress_wanted(flag: bool = True) -> bool:
    """Whether to draw progress bars: asked for, and stderr is a terminal (not a log or a pipe)."""
    try:
        return bool(flag) and sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stderr
        return False
