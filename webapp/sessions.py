"""Per-tab collections: each browser session's private uploads, marks and tuned fusion.

With `Settings.shared_uploads` False (the default, and the only safe choice for a public deployment)
a session's uploads go into `<upload_dir>/sessions/<hash of the session id>/`, which only that
session searches. It is deleted when the tab closes, after `SESSION_TTL_S` idle, and at start-up.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from search.errors import UploadError
from search.pipeline import Searcher
from search.settings import Settings

SESSIONS_DIR = "sessions"
#: A session collection not used for this long is removed (API clients never send "tab closed").
SESSION_TTL_S = 6 * 3600
#: The folder (inside a session's) that holds its uploaded documents' index.
UPLOADS_INDEX = "my-documents"


def session_key(session_hash: str | None) -> str:
    """The folder name of a session's collection: a hash of Gradio's session id, so a client-chosen
    id can never shape a path, and the id itself is not written to disk."""
    if not session_hash or not str(session_hash).strip():
        raise UploadError("uploads need a browser or client session; none was given")
    return hashlib.sha256(str(session_hash).encode("utf-8")).hexdigest()[:32]


@dataclass
class Session:
    """One session's private state: its uploads (files, index, searcher) and its view of the main
    index (the main index's searcher with this session's marks and fusion)."""

    key: str
    folder: Path
    settings: Settings  # index_dir: this session's own uploads index
    searcher: Searcher | None = None
    main_view: Searcher | None = None
    last_used: float = field(default_factory=time.time)

    @property
    def files(self) -> Path:
        return self.folder / "files"


def _always_free(_key: str) -> AbstractContextManager[bool]:
    return nullcontext(True)


class Sessions:
    """The live sessions by key, with idle expiry; deleting folders is the caller's (under its lock).

    `hold(key)` (the service's `FolderLocks`, non-blocking) guards what this class deletes itself:
    an idle or evicted session's folder is removed only while its lock is free and held, so no
    folder goes from under an upload that is writing there."""

    def __init__(
        self,
        root: Path,
        base: Settings,
        hold: Callable[[str], AbstractContextManager[bool]] = _always_free,
    ) -> None:
        self.root = Path(root)
        self._base = base
        self._by_key: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._hold = hold

    def get(self, session: str | None) -> Session | None:
        if not session:
            return None
        return self._by_key.get(session_key(session))

    def open(self, session: str | None) -> Session:
        """The session's record, created on first use; other sessions idle too long are dropped."""
        key = session_key(session)
        self.sweep()
        with self._lock:
            found = self._by_key.get(key)
            if found is None:
                folder = self.root / key
                own = replace(self._base, index_dir=folder / UPLOADS_INDEX)
                found = self._by_key[key] = Session(key, folder, own)
            found.last_used = time.time()
        return found

    def pop(self, session: str) -> tuple[Session | None, Path]:
        """Forget a session; returns its record (if any) and the folder to delete."""
        key = session_key(session)
        with self._lock:
            return self._by_key.pop(key, None), self.root / key

    def sweep(self, max_idle_s: float | None = None) -> int:
        """Drop sessions idle over `max_idle_s` (default: the idle setting); delete their folders."""
        if max_idle_s is None:
            max_idle_s = (
                self._base.session_idle_hours * 3600 if self._base.session_idle_hours else SESSION_TTL_S
            )
        now = time.time()
        with self._lock:
            stale = [k for k, c in self._by_key.items() if now - c.last_used > max_idle_s]
        swept = 0
        for key in stale:
            with self._hold(key) as free:
                if not free:  # an upload is running there: it is not idle
                    continue
                with self._lock:
                    self._by_key.pop(key, None)
                shutil.rmtree(self.root / key, ignore_errors=True)
                swept += 1
        return swept

    def evict_idle(self, keep: str, need_bytes: int, cap_bytes: int, used: Callable[[], int]) -> int:
        """Drop other sessions, longest idle first, until `used() + need_bytes` fits in `cap_bytes`;
        returns how many went."""
        with self._lock:
            order = sorted((c for c in self._by_key.values() if c.key != keep), key=lambda c: c.last_used)
        evicted = 0
        for victim in order:
            if used() + need_bytes <= cap_bytes:
                break
            with self._hold(victim.key) as free:
                if not free:  # never delete under a running upload
                    continue
                with self._lock:
                    self._by_key.pop(victim.key, None)
                shutil.rmtree(victim.folder, ignore_errors=True)
                evicted += 1
        return evicted

    def clear(self) -> None:
        """Remove every session folder (at start-up: no earlier session can reconnect to them)."""
        with self._lock:
            self._by_key.clear()
        shutil.rmtree(self.root, ignore_errors=True)
