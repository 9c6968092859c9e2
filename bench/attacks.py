"""Re-run the hostile-visitor attacks of issue 16 (items 3-5) against a running app and print what
happened: each call's answer, disk and the server's RSS before and after.

    SEARCH_CLIENT_HEADER=x-forwarded-for python app.py --port 7921 &   # the app under test
    python bench/attacks.py --url http://127.0.0.1:7921 --pid $! --upload-dir data/uploads \\
        --gradio-cache data/uploads/gradio-cache

Attacks (`--attack`, default all but crash):
- evict: a victim uploads a PDF; then each round a *new* client (a new session) uploads `--files`
  PDFs of `--file-mb` MB (padded: little text, many bytes); then the victim searches its uploads.
- raw-upload: `--raw` POSTs of `--file-mb` MB to Gradio's `/gradio_api/upload`, bypassing the app.
- judge: `--calls` session-less `/judge` calls (each raw `/call` is a fresh session).
- marks: one session stores `--marks` marks with `--query-chars`-character queries.
- search: `--calls` session-less `/search` calls (memory per new session).
- crash (needs `--app-cmd`): the script starts the app itself, uploads a private file, kills the
  server with SIGKILL, restarts it, and asks `/gradio_api/file=` for the upload's cached copy.

The attacker and the victim are told apart by `X-Forwarded-For` (as behind the Spaces proxy): run the
app with SEARCH_CLIENT_HEADER=x-forwarded-for to see per-client limits. It only talks to 127.0.0.1 /
localhost, every attack stops after `--seconds`, and the process exits once the figures are printed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_test import local_url

MB = 1024 * 1024
VICTIM, ATTACKER, MARKER = "198.51.100.1", "198.51.100.66", "198.51.100.77"
ATTACKS = ("evict", "raw-upload", "judge", "marks", "search")


def padded_pdf(path: Path, text: str, megabytes: float) -> Path:
    """A valid one-page PDF with `text` and an unreferenced stream of `megabytes` of padding: big
    on disk and in the upload cache, cheap to read."""
    pad = os.urandom(16).hex().encode() + b"\0" * max(int(megabytes * MB) - 32, 0)
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(pad) + pad + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def rss_mb(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def disk_mb(folder: str | None) -> float | None:
    if not folder or not Path(folder).exists():
        return None
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / MB


def count_dirs(folder: str | None) -> int | None:
    return sum(1 for p in Path(folder).iterdir() if p.is_dir()) if folder and Path(folder).is_dir() else None


def gauges(args: argparse.Namespace) -> dict[str, Any]:
    sessions = str(Path(args.upload_dir) / "sessions") if args.upload_dir else None
    return {
        "rss_mb": rss_mb(args.pid),
        "uploads_mb": disk_mb(args.upload_dir),
        "session_folders": count_dirs(sessions),
        "gradio_cache_mb": disk_mb(args.gradio_cache),
    }


def short(exc: BaseException | str) -> str:
    text = str(exc) if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:220]


def client(url: str, address: str) -> Any:
    from gradio_client import Client

    return Client(url, headers={"X-Forwarded-For": address}, verbose=False, download_files=False)


def raw_call(url: str, api: str, data: list[Any], address: str, timeout: float = 60) -> str:
    """One `/gradio_api/call/<api>` without a session (Gradio makes a fresh one): 'ok' or the error."""
    import httpx

    headers = {"X-Forwarded-For": address}
    base = f"{url.rstrip('/')}/gradio_api/call/{api}"
    event = httpx.post(base, json={"data": data}, headers=headers, timeout=timeout)
    if event.status_code != 200:
        return f"HTTP {event.status_code}: {short(event.text)}"
    with httpx.stream("GET", f"{base}/{event.json()['event_id']}", headers=headers, timeout=timeout) as got:
        kind = ""
        for line in got.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                return "ok" if kind == "complete" else f"error: {short(line[5:].strip())}"
    return "no answer"


def attack_evict(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from gradio_client import handle_file

    victim = client(args.url, VICTIM)
    mine = padded_pdf(work / "victim.pdf", "quince jelly ledger of the victim", 0.1)
    report = victim.predict([handle_file(mine)], api_name="/ingest")
    out: dict[str, Any] = {"victim_upload": f"added {report.get('added')}, skipped {report.get('skipped')}"}
    rounds, attackers, deadline = [], [], time.monotonic() + args.seconds
    for r in range(args.rounds):
        if time.monotonic() > deadline:
            break
        files = [
            padded_pdf(work / f"r{r}-{i}.pdf", f"filler {r} {i}", args.file_mb) for i in range(args.files)
        ]
        try:  # a new client each round: a fresh session, as a loop of new gradio_client.Client makes;
            # each is kept open (a closed one ends its session, and the app deletes its uploads)
            attackers.append(client(args.url, ATTACKER))
            report = attackers[-1].predict([handle_file(f) for f in files], api_name="/ingest")
            added, skipped = len(report.get("added", [])), report.get("skipped", [])
            rounds.append(f"added {added}" + (f"; refused: {short(str(skipped[0]))}" if skipped else ""))
        except Exception as exc:
            rounds.append(short(exc))
        for f in files:
            f.unlink()
    out["attacker_rounds"] = dict(Counter(rounds))
    try:
        hits = victim.predict("quince jelly ledger", collection="mine", api_name="/search")
        out["victim_search"] = f"ok, {len(hits.get('reranked') or hits.get('fused') or [])} hits"
    except Exception as exc:
        out["victim_search"] = short(exc)
    return out


def attack_raw_upload(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import httpx

    statuses, deadline = Counter(), time.monotonic() + args.seconds
    for i in range(args.raw):
        if time.monotonic() > deadline:
            break
        blob = padded_pdf(work / "raw.pdf", f"raw {i}", args.file_mb)  # new bytes: Gradio dedupes by hash
        with blob.open("rb") as fh:
            got = httpx.post(
                f"{args.url.rstrip('/')}/gradio_api/upload",
                files={"files": ("raw.pdf", fh)},
                headers={"X-Forwarded-For": ATTACKER},
                timeout=120,
            )
        statuses[f"{got.status_code}" + ("" if got.status_code == 200 else f" {short(got.text)}")] += 1
    return {"uploads": dict(statuses)}


def attack_calls(args: argparse.Namespace, api: str) -> dict[str, Any]:
    """`--calls` session-less calls of /judge or /search, each a fresh Gradio session."""
    doc = client(args.url, ATTACKER).predict(api_name="/documents")[0]["doc_id"]
    answers, deadline = Counter(), time.monotonic() + args.seconds
    for i in range(args.calls):
        if time.monotonic() > deadline:
            break
        data = (
            [f"attack query {i}", doc, 1, "main"]
            if api == "judge"
            else [f"attack query {i}", *[None] * 5, False, "main"]
        )
        try:
            answers[raw_call(args.url, api, data, ATTACKER)] += 1
        except Exception as exc:
            answers[short(exc)] += 1
    return {"calls": sum(answers.values()), "answers": dict(answers.most_common(4))}


def attack_marks(args: argparse.Namespace) -> dict[str, Any]:
    c = client(args.url, MARKER)  # an address of its own: the judge attack may have used up ATTACKER's
    doc = c.predict(api_name="/documents")[0]["doc_id"]
    accepted, first_refusal, deadline = 0, None, time.monotonic() + args.seconds
    for i in range(args.marks):
        if time.monotonic() > deadline:
            break
        query = f"{i} " + "marmot " * (args.query_chars // 7)
        try:
            c.predict(query[: args.query_chars], doc, 1, api_name="/judge")
            accepted += 1
        except Exception as exc:
            first_refusal = first_refusal or short(exc)
    return {"accepted": accepted, "first_refusal": first_refusal}


def start_app(cmd: list[str], url: str, timeout: float, log: Path) -> subprocess.Popen:
    """Start the app (this script's own child) and wait until it answers."""
    import httpx

    proc = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(1)
    proc.kill()
    raise SystemExit(f"error: the app did not answer at {url} within {timeout:g} s (log: {log})")


def attack_crash(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Upload a private file to Gradio's cache, SIGKILL the server before the app stages it (as a
    crash mid-upload leaves it), restart, and ask for the cached copy."""
    import httpx

    cmd, log = shlex.split(args.app_cmd), work / "app.log"
    proc = start_app(cmd, args.url, args.start_timeout, log)
    blob = padded_pdf(work / "private.pdf", "private tenant contract", 1)
    with blob.open("rb") as fh:
        sent = httpx.post(f"{args.url.rstrip('/')}/gradio_api/upload", files={"files": ("private.pdf", fh)})
    cached = sent.json()[0] if sent.status_code == 200 else None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc = start_app(cmd, args.url, args.start_timeout, log)
    try:
        if cached is None:
            return {"upload": f"HTTP {sent.status_code}: {short(sent.text)}"}
        got = httpx.get(f"{args.url.rstrip('/')}/gradio_api/file={cached}", timeout=30)
        return {
            "cached_copy_on_disk_after_restart": Path(cached).exists(),
            "GET file= after restart": got.status_code,
            "bytes_served": len(got.content) if got.status_code == 200 else 0,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(args: argparse.Namespace) -> list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    work = Path(tempfile.mkdtemp(prefix="attacks-"))
    table = []
    for name in args.attack:
        before = gauges(args)
        started = time.monotonic()
        if name == "evict":
            result = attack_evict(args, work)
        elif name == "raw-upload":
            result = attack_raw_upload(args, work)
        elif name in ("judge", "search"):
            result = attack_calls(args, name)
        elif name == "marks":
            result = attack_marks(args)
        else:
            result = attack_crash(args, work)
        result["seconds"] = round(time.monotonic() - started, 1)
        table.append((name, before, gauges(args), result))
    return table


def print_table(table: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]) -> None:
    for name, before, after, result in table:
        print(f"== {name}")
        for key, value in result.items():
            print(f"  {key}: {value}")
        for key in before:
            if before[key] is not None or after[key] is not None:
                print(f"  {key}: {_fmt(before[key])} -> {_fmt(after[key])}")


def _fmt(value: float | int | None) -> str:
    return "-" if value is None else (f"{value:.0f}" if isinstance(value, float) else str(value))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/attacks.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:7860", help="the app (127.0.0.1 or localhost only)")
    p.add_argument("--attack", nargs="+", choices=(*ATTACKS, "crash"), default=list(ATTACKS))
    p.add_argument("--pid", type=int, help="the server's process id, for its RSS")
    p.add_argument("--upload-dir", help="the server's upload_dir, for disk and session folders")
    p.add_argument("--gradio-cache", help="the server's GRADIO_TEMP_DIR, for the upload cache's size")
    p.add_argument("--seconds", type=float, default=120.0, help="each attack stops after this long")
    p.add_argument("--rounds", type=int, default=10, help="evict: new sessions that upload")
    p.add_argument("--files", type=int, default=4, help="evict: PDFs per round")
    p.add_argument("--file-mb", type=float, default=20.0, help="evict, raw-upload: MB per file")
    p.add_argument("--raw", type=int, default=10, help="raw-upload: POSTs to /gradio_api/upload")
    p.add_argument("--calls", type=int, default=300, help="judge, search: session-less calls")
    p.add_argument("--marks", type=int, default=300, help="marks: marks stored by one session")
    p.add_argument("--query-chars", type=int, default=10000, help="marks: characters per marked query")
    p.add_argument("--app-cmd", help="crash: the command that starts the app on --url's port")
    p.add_argument("--start-timeout", type=float, default=180.0)
    args = p.parse_args(argv)
    local_url(args.url)
    if "crash" in args.attack and not args.app_cmd:
        p.error("the crash attack needs --app-cmd (the script starts, kills and restarts the app)")
    limits = (args.rounds, args.files, args.raw, args.calls, args.marks)
    if min(limits) < 0 or max(limits) > 5000 or args.file_mb > 100 or args.seconds > 900:
        p.error("counts are 0-5000, --file-mb at most 100, --seconds at most 900")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print_table(run(args))
    sys.stdout.flush()
    os._exit(0)  # a call past its timeout must not keep the process alive


if __name__ == "__main__":
    main()
