"""Load test of a running app: N clients search for T seconds, optionally while another client
uploads K files, and the latency they saw is printed (p50/p95/p99, errors, throughput).

    python app.py --port 7871 &                       # the app under test, on this machine
    python bench/load_test.py --url http://127.0.0.1:7871 --clients 30 --seconds 60 --ingest-files 10

Each client is its own `gradio_client.Client` (its own session) calling `/search` in a loop with
queries from a fixed list; the ingest client calls `/ingest` once with K generated text files
(`--ingest-kind hostile` makes them the pathological kind: a heading followed by a long run of
spaces, which used to freeze the server; `flood` a .md of 100,000 `[`, which used to hold every
upload for minutes). `--probe` measures fairness: a second session uploads a one-line .txt alone
(before anything else starts) and again `--probe-delay` s after the big upload began, and both
times are printed. It only talks to 127.0.0.1 / localhost, and it stops by itself: no request
starts after T seconds, a request is abandoned after `--request-timeout`, and the process exits
once the figures are printed.

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


#: Bytes per generated file when `--ingest-kb` is not given: the flood is the issue's 100,000 `[`.
DEFAULT_BYTES = {"ordinary": 150 * 1024, "hostile": 150 * 1024, "flood": 100_000}
PROBE_TEXT = "The Zanzibar clove harvest doubled in 2024.\n"


def make_files(folder: Path, count: int, size: int, kind: str) -> list[Path]:
    """`count` text files of about `size` bytes: ordinary prose, or a pathological kind."""
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
        elif kind == "flood":
            text = "[" * size
            path = folder / f"flood-{i}.md"
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


def probe_upload(url: str, path: Path, timeout: float) -> dict[str, Any]:
    """One new session uploads the one-line file; how long it took, and the report or error."""
    result: dict[str, Any] = {}
    ingest_client(make_client(url), [path], argparse.Namespace(ingest_timeout=timeout), result)
    report = result.get("report") or {}
    return {"seconds": result["seconds"], "error": result.get("error"), "added": report.get("added")}


def probe_during(url: str, path: Path, args: argparse.Namespace, busy: dict[str, Any], out: dict) -> None:
    """The probe, `--probe-delay` s after the big upload began; notes whether that was still running."""
    time.sleep(args.probe_delay)
    out.update(probe_upload(url, path, args.ingest_timeout))
    out["big_upload_still_running"] = "seconds" not in busy


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
    probe: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        size = args.ingest_kb * 1024 if args.ingest_kb else DEFAULT_BYTES[args.ingest_kind]
        paths = make_files(Path(tmp), args.ingest_files, size, args.ingest_kind)
        probe_file = Path(tmp) / "one line.txt"
        probe_file.write_text(PROBE_TEXT, encoding="utf-8")
        if args.probe:  # alone: before any other request
            alone = [probe_upload(url, probe_file, args.ingest_timeout) for _ in range(args.probe)]
            probe["alone_s"] = statistics.median(a["seconds"] for a in alone)
            probe["alone_errors"] = [a["error"] for a in alone if a["error"]]
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
        prober = None
        if args.probe and paths:
            prober = threading.Thread(
                target=probe_during, args=(url, probe_file, args, ingest_result, probe), daemon=True
            )
            prober.start()
        for thread in searchers:
            thread.start()
        for thread in searchers:
            thread.join(timeout=max(0.0, deadline + args.request_timeout - time.monotonic()) + 1)
        elapsed = time.monotonic() - start  # the search window: T plus the last requests in flight
        if uploader is not None:
            uploader.join(timeout=max(0.0, start + args.ingest_timeout - time.monotonic()) + 1)
        if prober is not None:
            prober.join(
                timeout=max(0.0, start + args.probe_delay + args.ingest_timeout - time.monotonic()) + 1
            )
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
            "kb_each": round(size / 1024, 1),
            "seconds": ingest_result.get("seconds"),
            "error": ingest_result.get("error"),
            "finished": "seconds" in ingest_result,
            "report": _brief(ingest_result.get("report")),
        }
    if probe:
        summary["probe"] = probe
        if "seconds" in probe and "alone_s" in probe:
            probe["bound_s"] = 3 * probe["alone_s"] + 10  # the goal: within 3x alone + 10 s
            probe["within_bound"] = probe["seconds"] <= probe["bound_s"]
    return summary


def _brief(report: Any) -> dict[str, Any] | None:
    """What the big upload's report said, in short (added files, skip reasons, notes, chunks)."""
    if not isinstance(report, dict):
        return None
    return {
        "added": len(report.get("added") or []),
        "chunks": report.get("chunks"),
        "skipped": [str(r)[:200] for r in (report.get("skipped") or [])[:3]],
        "warnings": [str(w)[:200] for w in (report.get("warnings") or [])[:3]],
    }


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
        if ing.get("report"):
            print(f"  ingest report: {ing['report']}")
    if "probe" in s:
        pr = s["probe"]
        print(f"  one-line upload by another session: alone {pr.get('alone_s', float('nan')):.2f} s", end="")
        if "seconds" in pr:
            running = "still running" if pr["big_upload_still_running"] else "already done"
            print(
                f", during the big upload {pr['seconds']:.2f} s (big upload {running} when it finished; "
                f"goal <= {pr['bound_s']:.1f} s: {'met' if pr['within_bound'] else 'NOT met'})"
            )
        else:
            print()
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
    parser.add_argument(
        "--ingest-kb", type=int, default=0, help="KB per uploaded file (default 150; flood: 100,000 chars)"
    )
    parser.add_argument("--ingest-kind", choices=("ordinary", "hostile", "flood"), default="ordinary")
    parser.add_argument(
        "--probe", type=int, default=0, help="N: time a second session's one-line upload (median of N alone)"
    )
    parser.add_argument("--probe-delay", type=float, default=5.0, help="seconds into the big upload")
    parser.add_argument("--ingest-timeout", type=float, default=600.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.clients < 0 or args.seconds <= 0:
        parser.error("--clients must be 0 or more and --seconds over 0")
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
