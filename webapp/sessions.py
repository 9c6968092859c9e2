"""Per-tab collections: each browser session's private uploads, marks and tuned fusion.

With `Settings.shared_uploads` False (the default, and the only safe choice for a public deployment)
a session's uploads go into `<upload_dir>/sessions/<hash of the session id>/`, which only that
session searches. It is deleted when the tab closes, after `session_idle_hours` idle, and at start-up.

Sessions are bounded in number (`max_sessions`) and per client address (`max_client_sessions`).
Making room never takes a session *in use* (used within `session_active_minutes`): the newcomer is
refused instead. A session whose state was removed is remembered with the reason, so its user is
told why their documents are gone rather than that they never uploaded any.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from search.errors import UploadError
from search.pipeline import Searcher
from search.settings import Settings
from webapp import quota

SESSIONS_DIR = "sessions"
#: A session collection not used for this long is removed (API clients never send "tab closed").
SESSION_TTL_S = 6 * 3600
#: The folder (inside a session's) that holds its uploaded documents' index.
UPLOADS_INDEX = "my-documents"
#: Removed sessions whose reason is remembered (oldest forgotten first).
GONE_REMEMBERED = 10_000
#: Idle sessions are looked for at most this often (each look walks every session).
SWEEP_EVERY_S = 30.0


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
    client: str | None = None  # the caller's address (None: an in-process call)
    marks: int = 0  # relevance marks stored by this session

    @property
    def files(self) -> Path:
        return self.folder / "files"


def _always_free(_key: str) -> AbstractContextManager[bool]:
    return nullcontext(True)


class Sessions:
    """The live sessions by key, with idle expiry and room-making. One lock (`_lock`) guards the
    table and the removal reasons; folders are deleted outside it.

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
        self._gone: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._hold = hold
        self._swept = 0.0

    @property
    def active_s(self) -> float:
        return self._base.session_active_minutes * 60

    def get(self, session: str | None) -> Session | None:
        if not session:
            return None
        return self._by_key.get(session_key(session))

    def touch(self, session: str | None) -> None:
        """Mark a session as in use now (it will not be evicted for `session_active_minutes`)."""
        found = self.get(session)
        if found is not None:
            found.last_used = time.time()

    def gone(self, session: str | None) -> str | None:
        """Why this session's uploads and marks were removed, if they were."""
        if not session:
            return None
        with self._lock:
            return self._gone.get(session_key(session))

    def open(self, session: str | None, client: str | None = None) -> Session:
        """The session's record, created on first use within the session limits (idle sessions may
        be dropped to make room; sessions in use never are: the newcomer is refused instead)."""
        key = session_key(session)
        self.sweep()
        victims: list[Session] = []
        with self._lock:
            found = self._by_key.get(key)
            if found is None:
                victims = self._make_room(client)
                folder = self.root / key
                own = replace(self._base, index_dir=folder / UPLOADS_INDEX)
                found = self._by_key[key] = Session(key, folder, own, client=client)
                self._gone.pop(key, None)
            found.last_used = time.time()
        for victim in victims:
            shutil.rmtree(victim.folder, ignore_errors=True)
        return found

    def pop(self, session: str) -> tuple[Session | None, Path]:
        """Forget a session (its tab closed); returns its record (if any) and the folder to delete."""
        key = session_key(session)
        with self._lock:
            return self._by_key.pop(key, None), self.root / key

    def sweep(self, max_idle_s: float | None = None) -> int:
        """Drop sessions idle over `max_idle_s` (default: the idle setting); delete their folders.
        Without an explicit limit it looks at most every `SWEEP_EVERY_S`."""
        now = time.time()
        if max_idle_s is None:
            if now - self._swept < SWEEP_EVERY_S:
                return 0
            hours = self._base.session_idle_hours
            max_idle_s = hours * 3600 if hours else SESSION_TTL_S
        self._swept = now
        reason = f"they were removed after {max_idle_s / 3600:g} h without use (session_idle_hours)"
        with self._lock:
            stale = [c for c in self._by_key.values() if now - c.last_used > max_idle_s]
        swept = 0
        for victim in stale:
            swept += self._remove(victim, reason)
        return swept

    def _remove(self, victim: Session, reason: str) -> bool:
        """Forget `victim` (remembering why) and delete its folder, unless an upload is running
        there (never delete under it) or the session was replaced meanwhile; True if removed."""
        with self._hold(victim.key) as free:
            if not free:
                return False
            with self._lock:
                if self._by_key.get(victim.key) is not victim:
                    return False
                self._drop(victim, reason)
            shutil.rmtree(victim.folder, ignore_errors=True)
            return True

    def evict_idle(self, keep: str, need_bytes: int, cap_bytes: int, used: Callable[[], int]) -> bool:
        """Drop other sessions not in use, longest idle first, until `used() + need_bytes` fits in
        `cap_bytes`; returns whether it fits (False: the rest is held by sessions in use)."""
        now = time.time()
        with self._lock:
            order = sorted(
                (c for c in self._by_key.values() if c.key != keep and now - c.last_used >= self.active_s),
                key=lambda c: c.last_used,
            )
        for victim in order:
            if used() + need_bytes <= cap_bytes:
                break
            idle_min = (now - victim.last_used) / 60
            reason = (
                "they were removed to make room for other uploads: the server's upload storage was full "
                f"(max_upload_storage_mb) and this session had not been used for {idle_min:.0f} min"
            )
            self._remove(victim, reason)
        return used() + need_bytes <= cap_bytes

    def of_client(self, client: str | None) -> list[Session]:
        """The live sessions of one address (none for an in-process caller)."""
        if client is None:
            return []
        with self._lock:
            return [c for c in self._by_key.values() if c.client == client]

    def client_bytes(self, client: str | None) -> int:
        return sum(quota.folder_bytes(c.folder) for c in self.of_client(client))

    def client_marks(self, client: str | None) -> int:
        return sum(c.marks for c in self.of_client(client))

    def clear(self) -> None:
        """Remove every session folder (at start-up: no earlier session can reconnect to them)."""
        with self._lock:
            self._by_key.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- internals (called under `_lock`) --

    def _make_room(self, client: str | None) -> list[Session]:
        """Drop idle sessions so one more fits the per-client and global counts, or refuse (before
        dropping anything)."""
        s, now = self._base, time.time()
        picked: list[tuple[Session, str]] = []
        if client is not None and s.max_client_sessions > 0:
            mine = [c for c in self._by_key.values() if c.client == client]
            if len(mine) >= s.max_client_sessions:
                why = "a newer session from the same address took their place (max_client_sessions)"
                picked.append((self._idlest(mine, now, "max_client_sessions", len(mine)), why))
        if s.max_sessions > 0 and len(self._by_key) - len(picked) >= s.max_sessions:
            others = [c for c in self._by_key.values() if all(c is not v for v, _ in picked)]
            why = "the server was full and this session was the longest idle (max_sessions)"
            picked.append((self._idlest(others, now, "max_sessions", len(self._by_key)), why))
        for victim, why in picked:
            self._drop(victim, why)
        return [victim for victim, _ in picked]

    def _idlest(self, among: list[Session], now: float, setting: str, count: int) -> Session:
        idle = [c for c in among if now - c.last_used >= self.active_s and self._free(c.key)]
        if not idle:
            who = (
                "your address already has" if setting == "max_client_sessions" else "the server already holds"
            )
            raise UploadError(
                f"{who} {count} sessions in use ({setting}); try again in "
                f"{self._base.session_active_minutes:g} minutes, close a tab, or make all calls from "
                "one session (one gradio_client.Client)"
            )
        return min(idle, key=lambda c: c.last_used)

    def _free(self, key: str) -> bool:
        """Whether no upload is running in this session's folder now (non-blocking probe)."""
        with self._hold(key) as free:
            return bool(free)

    def _drop(self, victim: Session, reason: str) -> None:
        self._by_key.pop(victim.key, None)
        self._gone[victim.key] = reason
        self._gone.move_to_end(victim.key)
        while len(self._gone) > GONE_REMEMBERED:
            self._gone.popitem(last=False)
