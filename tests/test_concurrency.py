"""Many sessions at once through the real app: the judged example queries (NDCG on every call) from
8 clients, while 2 more upload a file, search it and mark hits. Every call must answer and the server
must still be alive afterwards (numba code entered from several request threads used to abort it)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import client, running_app, shared_service, subset_queries

pytest.importorskip("gradio_client")
from gradio_client import handle_file

SEARCHERS = 8
UPLOADERS = 2
SEARCHES_EACH = 4
TIMEOUT_S = 120


def _searcher(c: Any, queries: list[str], seed: int, start: threading.Barrier) -> list[Any]:
    """One session searching judged queries, the first stage alone and, every fourth call, reranked."""
    start.wait(timeout=TIMEOUT_S)
    out = []
    for i, query in enumerate(itertools.islice(itertools.cycle(queries), seed, seed + SEARCHES_EACH)):
        rerank = i % 4 == 3
        answer = c.submit(query, rerank=rerank, rerank_depth=10, api_name="/search").result(timeout=TIMEOUT_S)
        out.append(("search", query, rerank, answer))
    return out


def _uploader(c: Any, folder: Path, n: int, start: threading.Barrier) -> list[Any]:
    """One session uploading a small file, searching it in "mine", marking its hit and searching again."""
    word = ["quillwort", "larkspur"][n]
    path = folder / f"notes-{n}.txt"
    path.write_text(f"The {word} committee met on Tuesday to count the lanterns of the harbour.", "utf-8")
    start.wait(timeout=TIMEOUT_S)
    out = [("ingest", word, c.submit([handle_file(str(path))], api_name="/ingest").result(timeout=TIMEOUT_S))]
    query = f"{word} committee lanterns"
    found = c.submit(query, collection="mine", api_name="/search").result(timeout=TIMEOUT_S)
    out.append(("mine", word, found))
    doc_id = found["fused"][0]["doc_id"]
    out.append(("judge", doc_id, c.submit(query, doc_id, 2, "mine", api_name="/judge").result(TIMEOUT_S)))
    again = c.submit(query, collection="mine", rerank=False, api_name="/search").result(timeout=TIMEOUT_S)
    out.append(("marked", doc_id, again))
    return out


def _run_all(tasks: list[Callable[[], list[Any]]]) -> tuple[list[Any], list[BaseException]]:
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(task: Callable[[], list[Any]]) -> None:
        try:
            got = task()
        except BaseException as exc:  # every failure is reported by the test
            with lock:
                errors.append(exc)
            return
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3 * TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a client never got its answers"
    return results, errors


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, tiny_zerank_path: Path, embedder: Any) -> Any:
    return shared_service(tmp_path_factory, tiny_zerank_path, embedder)


def test_judged_searches_uploads_and_marks_from_ten_sessions_at_once(service: Any, tmp_path: Path) -> None:
    queries = [e["query"] for e in subset_queries()]
    assert len(queries) >= 4
    start = threading.Barrier(SEARCHERS + UPLOADERS)
    with running_app(service, tmp_path / "gradio") as url:
        # sessions opened one by one first (each fetches the app's config), then all start at once
        clients = [client(url) for _ in range(SEARCHERS + UPLOADERS)]
        searchers = [lambda i=i: _searcher(clients[i], queries, i, start) for i in range(SEARCHERS)]
        uploaders = [
            lambda n=n: _uploader(clients[SEARCHERS + n], tmp_path, n, start) for n in range(UPLOADERS)
        ]
        results, errors = _run_all([*searchers, *uploaders])
        assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
        alive = client(url).predict(queries[0], rerank=False, api_name="/search")  # the server lives
    assert alive["ndcg_at_10"]["fused"] is not None

    searches = [r for r in results if r[0] == "search"]
    assert len(searches) == SEARCHERS * SEARCHES_EACH
    for _, query, rerank, out in searches:
        seen = (query, rerank, out["warnings"])  # a failed rerank shows as a warning, not an error
        assert out["query"] == query and len(out["fused"]) == 10, seen
        assert out["relevant"] and out["ndcg_at_10"]["fused"] is not None, seen  # NDCG on every call
        assert 0.0 <= out["ndcg_at_10"]["fused"] <= 1.0, seen
        assert (len(out["reranked"]) == 10) == rerank and not out["warnings"], seen
    by_kind: dict[str, list[Any]] = {}
    for kind, key, out in (r for r in results if r[0] != "search"):
        by_kind.setdefault(kind, []).append((key, out))
    for word, out in by_kind["ingest"]:
        assert out["added"] and not out["skipped"], (word, out)
    for word, out in by_kind["mine"]:
        # each session finds its own upload, not the other's
        assert out["fused"] and all(word in h["text"] for h in out["fused"]), (word, out)
    for doc_id, out in by_kind["judge"]:
        assert out["grades"] == {doc_id: 2}, out
    for doc_id, out in by_kind["marked"]:
        assert out["relevant"] == [doc_id], out
        assert out["ndcg_at_10"]["fused"] == pytest.approx(1.0), out
