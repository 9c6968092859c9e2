"""ApiReranker against a local stand-in for POST /models/rerank (stdlib http.server, own thread)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from search.rerank import RerankerError, load_reranker
from search.rerank.api import ApiReranker, api_model_id
from search.settings import Settings

GOOD_KEY = "ze_test_good_key_123"
BAD_KEY = "ze_test_bad_key_456"


class FakeZeroEntropy(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.delay_s = 0.0
        self.requests: list[dict[str, Any]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        """The timeout test hangs up on a slow reply on purpose: a broken pipe is expected there."""


class Handler(BaseHTTPRequestHandler):
    server: FakeZeroEntropy

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if self.server.delay_s:
            time.sleep(self.server.delay_s)
        if self.path != "/v1/models/rerank":
            return self._send(404, {"detail": "not found"})
        if self.headers.get("Authorization") != f"Bearer {GOOD_KEY}":
            return self._send(401, {"detail": "Invalid API key"})
        docs = body["documents"]
        # Score = number of query words in the document; results sorted best first, as documented.
        words = set(body["query"].lower().split())
        scores = [len(words & set(d.lower().split())) / max(1, len(words)) for d in docs]
        order = sorted(range(len(docs)), key=lambda i: -scores[i])
        self._send(
            200,
            {
                "actual_latency_mode": "fast",
                "e2e_latency": 0.01,
                "inference_latency": 0.01,
                "results": [{"index": i, "relevance_score": scores[i]} for i in order],
                "total_bytes": sum(len(d) for d in docs),
                "total_tokens": 10,
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def server() -> Iterator[FakeZeroEntropy]:
    srv = FakeZeroEntropy()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def settings(server: FakeZeroEntropy) -> Settings:
    host, port = server.server_address[:2]
    return replace(Settings(), reranker="api", api_url=f"http://{host}:{port}/v1", api_timeout_s=5.0)


def test_scores_are_mapped_back_to_input_order(
    server: FakeZeroEntropy, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEROENTROPY_API_KEY", GOOD_KEY)
    reranker, status = load_reranker(settings)
    assert status.loaded and status.backend == "api" and status.device == "hosted API"
    assert isinstance(reranker, ApiReranker)
    docs = ["nothing here", "reset the router", "router", "reset"]
    calls: list[tuple[int, int]] = []
    scores = reranker.score("reset router", docs, progress=lambda d, t: calls.append((d, t))).scores
    assert scores == [0.0, 1.0, 0.5, 0.5]  # the server returned them sorted as [1, 2, 3, 0]
    assert calls[-1] == (4, 4)
    sent = server.requests[-1]
    assert sent["path"] == "/v1/models/rerank"
    assert (sent["model"], sent["query"], sent["documents"]) == ("zerank-1", "reset router", docs)
    assert reranker.score("reset router", []).scores == []


def test_bad_key_gives_clear_error_without_the_key(settings: Settings) -> None:
    reranker = ApiReranker(settings, api_key=BAD_KEY)
    with pytest.raises(RerankerError) as info:
        reranker.score("q", ["a", "b"])
    message = str(info.value)
    assert "401" in message and "ZEROENTROPY_API_KEY" in message
    assert BAD_KEY not in message and "\n" not in message
    assert BAD_KEY not in repr(reranker)


def test_timeout_fails_fast(server: FakeZeroEntropy, settings: Settings) -> None:
    server.delay_s = 3.0
    reranker = ApiReranker(replace(settings, api_timeout_s=0.3), api_key=GOOD_KEY)
    start = time.monotonic()
    with pytest.raises(RerankerError, match=r"timed out after 0\.3 s"):
        reranker.score("q", ["a"])
    assert time.monotonic() - start < 2.5  # one retry at most, never the server's 3 s


def test_unreachable_api_is_a_reranker_error(settings: Settings) -> None:
    reranker = ApiReranker(
        replace(settings, api_url="http://127.0.0.1:9/v1"), api_key=GOOD_KEY, max_retries=0
    )
    with pytest.raises(RerankerError, match="cannot reach the ZeroEntropy API"):
        reranker.score("q", ["a"])


def test_missing_key_means_not_loaded(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZEROENTROPY_API_KEY", raising=False)
    reranker, status = load_reranker(settings)
    assert reranker is None
    assert not status.loaded and status.backend == "api"
    assert "ZEROENTROPY_API_KEY" in status.reason
    with pytest.raises(RerankerError, match="ZEROENTROPY_API_KEY is not set"):
        ApiReranker(settings)


@pytest.mark.parametrize(
    ("name", "model"),
    [("zeroentropy/zerank-1", "zerank-1"), ("zeroentropy/zerank-1-small-reranker", "zerank-1-small")],
)
def test_api_model_id(name: str, model: str) -> None:
    assert api_model_id(name) == model
