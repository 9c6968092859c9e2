"""Hostile API values (issue 16, item 6) re-run against a running app: each must be refused with a
message naming the field, never "internal error", and a malformed call must not flood the log.

    python app.py --port 7871 2> app.log &
    python bench/attack_inputs.py --url http://127.0.0.1:7871 --log app.log

One line per attack: what was sent, the answer (cut), and OK when it is the expected clear refusal
(or answer). With `--log` (the server's stderr/log file) it also prints how many bytes the log grew
during the malformed calls and its longest new line. It only talks to 127.0.0.1 / localhost.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
QUERY = "How much battery storage capacity did the grid operator have in the third quarter?"
#: Every parameter of each endpoint in order, with its default: a raw call must send them all.
PARAMS = {
    "search": [QUERY, None, None, None, None, None, True, "main"],
    "judge": [QUERY, "some-doc", 1, "main"],
    "documents": ["main"],
}
#: (endpoint, {position: value}, what the answer, "<event>: <data>", contains when it is clear)
ATTACKS = [
    ("search", {0: "battery \ud800 storage"}, "query is not valid Unicode text"),
    ("judge", {0: "\ud800"}, "query is not valid Unicode text"),
    ("judge", {1: "doc\udfff"}, "doc_id is not valid Unicode text"),
    ("documents", {0: "bogus"}, "collection must be one of main | mine"),
    ("documents", {0: None}, "collection must be one of main | mine"),
    ("documents", {0: "MINE"}, "complete: ["),  # any case is accepted: an answer (no documents yet)
    ("search", {6: "false"}, "rerank must be true or false"),
    ("search", {6: 0}, "rerank must be true or false"),
]


def local_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or parsed.hostname not in LOCAL_HOSTS:
        raise SystemExit(f"error: --url must be http://127.0.0.1:PORT or http://localhost:PORT, not {url!r}")
    return url.rstrip("/")


def raw_call(url: str, api: str, data: list[Any]) -> tuple[str, str]:
    """A raw `/gradio_api/call/<api>` (JSON with \\uXXXX escapes, as any HTTP client may send):
    the SSE event kind and its data, or the HTTP status and body when the call is refused at once."""
    import httpx

    base = f"{url}/gradio_api/call/{api}"
    body = json.dumps({"data": data})
    posted = httpx.post(base, content=body, headers={"content-type": "application/json"}, timeout=120)
    if posted.status_code != 200:
        return f"HTTP {posted.status_code}", posted.text
    lines = httpx.get(f"{base}/{posted.json()['event_id']}", timeout=120).text.splitlines()
    kind = next((line[7:] for line in lines if line.startswith("event: ")), "?")
    return kind, next((line[6:] for line in lines if line.startswith("data: ")), "")


def field_attacks(url: str) -> list[tuple[str, bool, str]]:
    rows = []
    for api, changes, expected in ATTACKS:
        data = list(PARAMS[api])
        for position, value in changes.items():
            data[position] = value
        kind, answer = raw_call(url, api, data)
        sent, shown = f"/{api} {json.dumps(changes)}", f"{kind}: {answer}"
        rows.append((sent, expected in shown and "internal error" not in shown, shown[:150]))
    return rows


def flood_attack(url: str, log: Path | None, megabytes: int) -> list[tuple[str, bool, str]]:
    """Too few inputs with a huge string: Gradio prints its traceback with every input in full."""
    big = "x" * (megabytes * 1_000_000)
    before = log.stat().st_size if log else 0
    kind, answer = raw_call(url, "search", ["q", big])
    row = (f"/search with 2 of 8 inputs, the 2nd {megabytes} MB", kind == "error", f"{kind}: {answer[:80]}")
    if log is None:
        return [row]
    with open(log, "rb") as f:
        f.seek(before)
        grown = f.read()
    longest = max((len(line) for line in grown.splitlines()), default=0)
    note = f"the log grew {len(grown):,} bytes, longest new line {longest:,} chars"
    return [row, ("  ... its log lines", longest <= 1000, note)]


def bomb_attack(url: str) -> list[tuple[str, bool, str]]:
    """A 100 KB PDF whose page inflates to 100 MB, uploaded through gradio_client."""
    from gradio_client import Client, handle_file

    from tests.pdfs import bomb_pdf

    with tempfile.TemporaryDirectory(prefix="attack-") as tmp:
        path = bomb_pdf(Path(tmp) / "bomb.pdf", 100_000_000)
        report = Client(url, verbose=False).predict([handle_file(str(path))], api_name="/ingest")
    reasons = " ".join(s["reason"] for s in report.get("skipped", []))
    ok = "decompression bomb" in reasons and "75,000,000" in reasons
    return [("/ingest a 100 KB PDF inflating to 100 MB", ok, reasons[:200] or json.dumps(report)[:200])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python bench/attack_inputs.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:7860", help="the app (127.0.0.1 or localhost only)"
    )
    parser.add_argument("--log", type=Path, default=None, help="the server's log file, to measure its growth")
    parser.add_argument("--flood-mb", type=int, default=20, help="size of the malformed call's input")
    args = parser.parse_args(argv)
    url = local_url(args.url)
    rows = field_attacks(url) + flood_attack(url, args.log, args.flood_mb) + bomb_attack(url)
    for sent, ok, answer in rows:
        print(f"{'OK  ' if ok else 'FAIL'} {sent}\n       -> {answer}")
    failed = sum(not ok for _, ok, _ in rows)
    print(f"{len(rows) - failed} of {len(rows)} attacks refused clearly")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
