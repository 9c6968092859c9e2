"""Who is calling: the client address behind a request, so limits count every session of one
address together (each new `gradio_client.Client`, and each raw API call, is a fresh session: a
limit per session alone bounds nothing).

Behind a reverse proxy (the Hugging Face Spaces one) the connection comes from the proxy; the
client's address is in a header the proxy sets. `Settings.client_header` names that header
(`auto`: `X-Forwarded-For` on Spaces, where `SPACE_ID` is set; the connection's address elsewhere)
and `Settings.forwarded_hops` says which entry of a comma-separated list is the client: 0 the first
(what Spaces' proxy puts there), N the Nth from the right (N proxies of your own that each append;
a client cannot forge that one).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from search.settings import Settings

#: The header `client_header = "auto"` trusts where the app runs on Hugging Face Spaces.
SPACES_HEADER = "x-forwarded-for"
UNKNOWN = "unknown"
LOOPBACK = {"::1", "localhost", "testclient"}


class SessionId(str):
    """A Gradio session id that also carries what the request said about its caller (headers and
    the connection's address). It is a `str`, so everything keyed by session ids keeps working; a
    plain `str` (an in-process call, a test) has no client, and no per-client limit applies to it."""

    headers: Mapping[str, str]
    peer: str | None

    def __new__(
        cls, value: str, headers: Mapping[str, str] | None = None, peer: str | None = None
    ) -> SessionId:
        made = super().__new__(cls, value)
        made.headers = headers or {}
        made.peer = peer
        return made


def trusted_header(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The lower-case header naming the client, or "" to use the connection's address."""
    env = os.environ if env is None else env
    name = settings.client_header.strip().lower()
    if name == "auto":
        return SPACES_HEADER if env.get("SPACE_ID") else ""
    return "" if name in {"", "none", "peer"} else name


def address(
    headers: Mapping[str, str], peer: str | None, settings: Settings, env: Mapping[str, str] | None = None
) -> str | None:
    """The client's address by the settings (a trusted header's hop, else the connection's); None
    for a connection from this machine without a trusted header: the local user of a local run, or
    a proxy on this host that was not declared, behind which all visitors would count as one (so
    one of them could exhaust everyone's allowance): per-client limits do not apply, global ones do."""
    header = trusted_header(settings, env)
    if header:
        raw = _header(headers, header)
        hops = [h.strip() for h in raw.split(",") if h.strip()]
        if hops:
            n = settings.forwarded_hops
            return (hops[0] if n <= 0 else hops[max(len(hops) - n, 0)])[:64]
    if peer in LOOPBACK or (peer or "").startswith("127."):
        return None
    return (peer or UNKNOWN)[:64]


def client_of(session: Any, settings: Settings) -> str | None:
    """The address of the caller behind `session` (None for an in-process call without one)."""
    if isinstance(session, SessionId):
        return address(session.headers, session.peer, settings)
    return None


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # a plain dict: look the name up without case
        value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    return str(value or "")


class Window:
    """Amounts per client over a sliding window (e.g. upload bytes in the last hour); one lock."""

    def __init__(self, seconds: float, max_clients: int = 10_000) -> None:
        self.seconds = seconds
        self.max_clients = max_clients
        self._events: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def used(self, client: str, now: float | None = None) -> int:
        with self._lock:
            return self._prune(client, time.time() if now is None else now)

    def add(self, client: str, amount: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            self._prune(client, now)
            if client not in self._events and len(self._events) >= self.max_clients:
                for stale in [c for c, q in self._events.items() if not q]:
                    del self._events[stale]
            self._events.setdefault(client, deque()).append((now, amount))

    def _prune(self, client: str, now: float) -> int:
        events = self._events.get(client)
        if not events:
            return 0
        while events and now - events[0][0] > self.seconds:
            events.popleft()
        if not events:
            del self._events[client]
            return 0
        return sum(n for _, n in events)
