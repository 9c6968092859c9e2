"""Load test of a running app: N clients search for T seconds, optionally while another client
uploads K files, and the latency they saw is printed (p50/p95/p99, errors, throughput).

    python app.py --port 7871 &                       # the app under test, on this machine
    python bench/load_test.py --url http://127.0.0.1:7871 --clients 30 --seconds 60 --ingest-files 10

Each client is its own `gradio_client.Client` (its own session) calling `/search` in a loop with
queries from a fixed list; the ingest client calls `/ingest` once with K generated text files
(`--ingest-kind hostile` makes them the pathological kind: a heading followed by a long run of
spaces, which used to freeze the server). It only talks to 127.0.0.1 / localhost, and it stops by
itself: no request starts after T seconds, a request is abandoned after `--request-timeout`, and
the process exits once the figures are printed.

`--queries` picks the mix: "mixed" (default) adds the sample's judged example queries to the fixed
list, "judged" uses only those: the server then computes NDCG on every call, as it does for a
visitor clicking the examples (serve the sample index).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
QUERIES = (
    "how is green tea processed",
    "what makes a volcano erupt",
    "ownership and borrowing rules",
    "interest rates and inflation",
    "symptoms of dehydration",
    "orbital mechanics of satellites",
    "contract law consideration",
    "renewable energy storage",
    "the and of",
    "quarterly revenue growth",
)
#: The sample's example queries, each with shipped judgments (the sample index must be the one served).
SAMPLE_QUERIES = Path(__file__).resolve().parents[1] / "data" / "sample_queries.json"


def query_mix(kind: str) -> list[str]:
    """The queries clients pick from: "plain" (unjudged), "judged" (the sample's examples) or "mixed"."""
    judged = [e["query"] for e in json.loads(SAMPLE_QUERIES.read_text(encoding="utf-8"))]
    return {"plain": list(QUERIES), "judged": judged, "mixed": [*QUERIES, *judged]}[kind]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)

    def fail(self, exc: BaseException) -> None:
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        with self.lock:
            self.errors[message] += 1


def local_url(url: str) -> str:
    """`url` if it points at this machine; anything else is refused (this tool is not for others' servers)."""
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or parsed.hostname not in LOCAL_HOSTS:
        raise SystemExit(f"error: --url must be http://127.0.0.1:PORT or http://localhost:PORT, not {url!r}")
    return url


def make_client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def search_client(client: Any, args: argparse.Namespace, deadline: float, tally: Tally, seed: int) -> None:
    rng, queries = random.Random(seed), query_mix(args.queries)
    while time.monotonic() < deadline:
        query = rng.choice(queries)
        t0 = time.perf_counter()
        try:
            job = client.submit(query, args.top_k, rerank=args.rerank, api_name="/search")
            job.result(timeout=args.request_timeout)
        except Exception as exc:
            tally.fail(exc)
            continue
        tally.ok(time.perf_counter() - t0)


def make_files(folder: Path, count: int, size: int, kind: str) -> list[Path]:
    """`count` text files of about `size` bytes: ordinary prose, or the pathological kind."""
    rng = random.Random(0)
    words = [
        "river",
        "garden",
        "library",
        "window",
        "search",
        "model",
        "index",
        "cheese",
        "score",
        "harbour",
        "lantern",
    ]
    paths = []
    for i in range(count):
        if kind == "hostile":
            text = "# x" + " " * (size // 2) + "y\n" + " " * (size // 2) + "\n- item"
            path = folder / f"hostile-{i}.md"
        else:
            sentences = []
            while sum(len(s) for s in sentences) < size:
                sentences.append(" ".join(rng.choice(words) for _ in range(12)).capitalize() + ". ")
            text = "".join(sentences)
            path = folder / f"ordinary-{i}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def ingest_client(client: Any, paths: list[Path], args: argparse.Namespace, result: dict[str, Any]) -> None:
    from gradio_client import handle_file

    t0 = time.perf_counter()
    try:
        job = client.submit([handle_file(str(p)) for p in paths], api_name="/ingest")
        report = job.result(timeout=args.ingest_timeout)
        result["report"] = report
    except Exception as exc:
        result["error"] = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    result["seconds"] = time.perf_counter() - t0


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (no interpolation: a figure some request really took)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]  # nearest rank


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = local_url(args.url)
    clients = [make_client(url) for _ in range(args.clients)]
    tally = Tally()
    ingest_result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        paths = make_files(Path(tmp), args.ingest_files, args.ingest_kb * 1024, args.ingest_kind)
        start = time.monotonic()
        deadline = start + args.seconds
        searchers = [
            threading.Thread(target=search_client, args=(c, args, deadline, tally, i), daemon=True)
            for i, c in enumerate(clients)
        ]
        uploader = None
        if paths:
            uploader = threading.Thread(
                target=ingest_client, args=(make_client(url), paths, args, ingest_result), daemon=True
            )
            uploader.start()
        for thread in searchers:
            thread.start()
        for thread in searchers:
            thread.join(timeout=max(0.0, deadline + args.request_timeout - time.monotonic()) + 1)
        elapsed = time.monotonic() - start  # the search window: T plus the last requests in flight
        if uploader is not None:
            uploader.join(timeout=max(0.0, start + args.ingest_timeout - time.monotonic()) + 1)
    lat = [s * 1000 for s in tally.latencies]
    summary: dict[str, Any] = {
        "url": url,
        "clients": args.clients,
        "seconds": args.seconds,
        "rerank": args.rerank,
        "queries": args.queries,
        "requests_ok": len(lat),
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors.most_common(5)),
        "p50_ms": percentile(lat, 50),
        "p95_ms": percentile(lat, 95),
        "p99_ms": percentile(lat, 99),
        "max_ms": max(lat, default=float("nan")),
        "mean_ms": statistics.fmean(lat) if lat else float("nan"),
        "throughput_rps": len(lat) / elapsed if elapsed else 0.0,
        "loadavg": os.getloadavg(),
    }
    if paths:
        summary["ingest"] = {
            "files": len(paths),
            "kind": args.ingest_kind,
            "kb_each": args.ingest_kb,
            "seconds": ingest_result.get("seconds"),
            "error": ingest_result.get("error"),
            "finished": "seconds" in ingest_result,
        }
    return summary


def print_summary(s: dict[str, Any]) -> None:
    shown = f"rerank={s['rerank']}, queries {s['queries']}"
    print(f"{s['clients']} clients x {s['seconds']} s against {s['url']} ({shown})")
    print(f"  requests ok {s['requests_ok']}, errors {s['errors']}, throughput {s['throughput_rps']:.1f}/s")
    print(
        f"  latency ms: p50 {s['p50_ms']:.0f}, p95 {s['p95_ms']:.0f}, p99 {s['p99_ms']:.0f}, "
        f"max {s['max_ms']:.0f}, mean {s['mean_ms']:.0f}"
    )
    for message, count in s["error_kinds"].items():
        print(f"  error x{count}: {message}")
    if "ingest" in s:
        ing = s["ingest"]
        took = "did not finish" if not ing["finished"] else f"{ing['seconds']:.1f} s"
        print(f"  ingest of {ing['files']} {ing['kind']} files ({ing['kb_each']} KB each): {took}")
        if ing["error"]:
            print(f"  ingest error: {ing['error']}")
    print(f"  load average: {', '.join(f'{x:.1f}' for x in s['loadavg'])}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python bench/load_test.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", default="http://127.0.0.1:7860", help="the app (127.0.0.1 or localhost only)"
    )
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--rerank", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--queries", choices=("mixed", "plain", "judged"), default="mixed")
    parser.add_argument(
        "--request-timeout", type=float, default=60.0, help="seconds before a search is abandoned"
    )
    parser.add_argument("--ingest-files", type=int, default=0, help="files one more client uploads meanwhile")
    parser.add_argument("--ingest-kb", type=int, default=150, help="size of each uploaded file")
    parser.add_argument("--ingest-kind", choices=("ordinary", "hostile"), default="ordinary")
    parser.add_argument("--ingest-timeout", type=float, default=600.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0:
        parser.error("--clients must be at least 1 and --seconds over 0")
    local_url(args.url)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    summary = run(args)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print_summary(summary)
    sys.stdout.flush()
    os._exit(0)  # in-flight requests past their timeout must not keep the process alive


if __name__ == "__main__":
    main()
