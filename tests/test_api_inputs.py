"""Hostile values through the real API: each is refused with a message naming the field (never
"internal error"), and a malformed raw call does not put its input into the server's log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import client, running_app, shared_service

pytest.importorskip("gradio_client")

QUERY = "How much battery storage capacity did the grid operator have in the third quarter?"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any) -> Iterator[str]:
    service = shared_service(tmp_path_factory, tiny_zerank_path, embedder)
    with running_app(service, tmp_path_factory.mktemp("gradio-inputs")) as url:
        yield url


#: Every parameter of each endpoint in order, with its default: a raw call must send them all.
PARAMS = {
    "search": {"query": QUERY, "top_k": None, "candidates": None, "rerank_depth": None,
               "fusion_mode": None, "alpha": None, "rerank": True, "collection": "main"},
    "judge": {"query": QUERY, "doc_id": "some-doc", "relevance": 1, "collection": "main"},
    "remove": {"doc_id": "some-doc", "collection": "mine"},
    "documents": {"collection": "main"},
}  # fmt: skip


def raw_call(url: str, api: str, **values: Any) -> tuple[str, dict]:
    """A raw `/gradio_api/call/<api>` as any HTTP client can send it (JSON with "\\ud800" escapes,
    which gradio_client's encoder refuses to send): the SSE event and its data."""
    import json

    import httpx

    base = f"{url.rstrip('/')}/gradio_api/call/{api}"
    body = json.dumps({"data": list((PARAMS[api] | values).values())})  # ASCII: surrogates escaped
    headers = {"content-type": "application/json"}
    event = httpx.post(base, content=body, headers=headers, timeout=60).json()["event_id"]
    lines = httpx.get(f"{base}/{event}", timeout=60).text.splitlines()
    kind = next(line.split(": ", 1)[1] for line in lines if line.startswith("event: "))
    data = next(line.split(": ", 1)[1] for line in lines if line.startswith("data: "))
    return kind, json.loads(data)


@pytest.mark.parametrize(
    ("api", "values", "message"),
    [
        ("search", {"query": "battery \ud800 storage"}, "query is not valid Unicode text"),
        ("search", {"query": "\udfff", "collection": "mine"}, "query is not valid Unicode text"),
        ("judge", {"doc_id": "doc\ud800"}, "doc_id is not valid Unicode text"),
        ("judge", {"query": "\ud800"}, "query is not valid Unicode text"),
        ("remove", {"doc_id": "doc\ud800"}, "doc_id is not valid Unicode text"),
        ("documents", {"collection": "bogus"}, "collection must be one of main | mine"),
        ("documents", {"collection": None}, "collection must be one of main | mine"),
        ("search", {"collection": 7}, "collection must be one of main | mine"),
        ("judge", {"collection": "x"}, "collection must be one of main | mine"),
        ("remove", {"collection": ["mine"]}, "collection must be one of main | mine"),
        ("search", {"rerank": "false"}, "rerank must be true or false, got 'false'"),
        ("search", {"rerank": 0}, "rerank must be true or false"),
    ],
)
def test_hostile_values_are_refused_by_field(
    app_url: str, api: str, values: dict, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        kind, data = raw_call(app_url, api, **values)
    assert kind == "error" and message in data["error"]
    assert "internal error" not in caplog.text


def test_collections_in_any_case_and_real_booleans_work(app_url: str) -> None:
    c = client(app_url)
    assert c.predict(collection="MAIN", api_name="/documents") == c.predict(api_name="/documents")
    out = c.predict(QUERY, rerank=False, api_name="/search")
    assert out["reranked"] == [] and out["fused"]


def test_a_malformed_raw_call_is_not_echoed_into_the_log(
    app_url: str, capfd: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    """Too few inputs with a 1 MB string: Gradio refuses it and prints the traceback itself, which
    named every input in full; now no printed or logged line is longer than a few hundred chars."""
    import httpx

    big = "x" * 1_000_000
    base = f"{app_url.rstrip('/')}/gradio_api/call"
    with caplog.at_level(logging.INFO):
        for api, data in (("search", ["q", big]), ("judge", [big, big, 5, big])):
            event = httpx.post(f"{base}/{api}", json={"data": data}, timeout=60).json()["event_id"]
            answer = httpx.get(f"{base}/{api}/{event}", timeout=60).text
            assert "event: error" in answer and big[:1000] not in answer
    out, err = capfd.readouterr()
    printed = out + err + caplog.text
    assert "didn't receive enough input values" in printed  # the error is still reported...
    assert max(map(len, printed.splitlines())) < 1000  # ...without the input
    assert "more characters]" in printed
