"""Gradio's own upload cache (GRADIO_TEMP_DIR), bounded: every file a client sends lands there
before any of our code sees it (`POST /gradio_api/upload`), and `/gradio_api/file=` serves what is
in it. So: a cap on its size and on each client address's upload bytes per hour (`UploadGuard`, in
front of Gradio's route), a sweep every few minutes (`delete_cache` in `app.py`), and at start-up
the leftovers of an earlier run, such as a crash mid-upload, are deleted, so a private upload's
copy is never served after a restart.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from ingest.load import MB
from search.settings import Settings
from webapp import clients, quota
from webapp.forms import gradio_cache

#: What Gradio makes in its cache: a folder per upload named by the content's hash (sha1 / sha256),
#: and the multipart parser's temporary files (`tmp...`) an interrupted upload leaves behind.
_GRADIO_ENTRY = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64}|tmp[a-z0-9_]{4,})$")
HOUR_S = 3600.0

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def clear_leftovers(cache: Path | None = None) -> int:
    """Delete what an earlier run left in Gradio's cache (only the entries Gradio makes, so a
    GRADIO_TEMP_DIR shared with other files keeps them); returns how many entries went."""
    cache = Path(cache or gradio_cache())
    if not cache.is_dir():
        return 0
    removed = 0
    for entry in cache.iterdir():
        if not _GRADIO_ENTRY.match(entry.name) or entry.is_symlink():
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def lifespan(cache: Path | None = None) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan that empties Gradio's cache of leftovers when the server starts."""

    @contextlib.asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        clear_leftovers(cache)
        yield

    return run


def sweep(settings: Settings) -> tuple[int, int]:
    """Gradio's `delete_cache`: (how often, how old) in seconds, from the settings' minutes."""
    every = max(int(settings.upload_cache_sweep_minutes * 60), 1)
    return every, max(int(settings.upload_cache_max_age_minutes * 60), 1)


def app_kwargs(settings: Settings) -> dict[str, Any]:
    """`launch(app_kwargs=...)`: the guard in front of Gradio's upload route, and the start-up
    clearing of leftovers."""
    from starlette.middleware import Middleware

    return {"middleware": [Middleware(UploadGuard, settings=settings)], "lifespan": lifespan()}


class UploadGuard:
    """ASGI middleware in front of Gradio's `POST .../upload`: refuses an upload without a size,
    one that would pass the client address's bytes per hour (429), or one that would fill the
    cache past `upload_cache_mb` (507), each with a plain-text reason naming the setting."""

    def __init__(self, app: Asgi, settings: Settings, cache: Path | None = None) -> None:
        self.app = app
        self.settings = settings
        self.cache = cache
        self.window = clients.Window(HOUR_S)
        self._inflight = 0
        self._lock = threading.Lock()  # guards _inflight

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not self._is_upload(scope):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        peer = (scope.get("client") or (None, None))[0]
        client = clients.address(headers, peer, self.settings)
        size = headers.get("content-length", "")
        refusal = self.check(client, int(size) if size.isdigit() else None)
        if refusal is not None:
            from starlette.responses import PlainTextResponse

            await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, receive, send)
            return
        with self._lock:
            self._inflight += int(size)
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self._inflight -= int(size)

    def check(self, client: str | None, size: int | None) -> tuple[int, str] | None:
        """(HTTP status, reason) when this upload is refused; else it is counted and None."""
        s = self.settings
        if size is None:
            return 411, "an upload must say its size (Content-Length)"
        per_hour = int(s.max_client_upload_mb_per_hour * MB)
        if client is not None and per_hour and self.window.used(client) + size > per_hour:
            return 429, (
                f"your address has sent {self.window.used(client) / MB:.0f} MB of uploads in the last hour; "
                f"at most {s.max_client_upload_mb_per_hour:g} MB (max_client_upload_mb_per_hour)"
            )
        cap = int(s.upload_cache_mb * MB)
        with self._lock:
            held = quota.folder_bytes(Path(self.cache or gradio_cache())) + self._inflight
        if cap and held + size > cap:
            return 507, (
                f"the server's upload cache is full ({s.upload_cache_mb:g} MB, upload_cache_mb); "
                f"try again in {s.upload_cache_sweep_minutes:g} minutes"
            )
        if client is not None:
            self.window.add(client, size)
        return None

    @staticmethod
    def _is_upload(scope: Scope) -> bool:
        path = str(scope.get("path", "")).rstrip("/")
        return scope.get("type") == "http" and scope.get("method") == "POST" and path.endswith("/upload")
