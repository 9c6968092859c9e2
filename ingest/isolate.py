"""Load files in a worker process with a time and a memory limit.

Parsing untrusted files is the one step of an ingest whose cost the uploader controls: a PDF of
streams just under pypdf's decompression cap took 5 minutes and 2 GB, and pure-Python parsing holds
the GIL, so every other user's search waited. Here `load_file` runs in a separate Python process
(`python -m ingest.isolate`), which the server only waits on (no GIL held), and which is killed
when it runs past `timeout_s`; `resource.setrlimit` caps its address space at `memory_mb`.

Workers are reused between files (a new interpreter costs ~0.1 s) and replaced after a kill. The
parent and the worker speak JSON lines over stdin/stdout: a request names the file and the limits,
the reply is the loaded document's fields or a `LoadError`'s reason; nothing is pickled. Before the
reply, a worker that OCRs sends a progress line per page; each one restarts the time limit, so
`timeout_s` bounds the wait for any one page while `max_ocr_pages` bounds their number.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.formats import Progress, ReadLimits
from ingest.load import Document, LoadError, load_file
from search.errors import SearchError

#: How often a wait for the worker checks the cancellation hook.
_POLL_S = 0.1
#: Idle workers kept for the next file (more only live while loads run in parallel).
_KEEP_IDLE = 2


class IngestCancelled(SearchError):
    """The ingest was cancelled (its client went away); nothing was written."""


def load_isolated(
    path: Path,
    *,
    max_bytes: int,
    doc_id: str | None = None,
    source: str | None = None,
    max_pages: int = 0,
    max_chars: int = 0,
    timeout_s: float = 60.0,
    memory_mb: int = 2048,
    cancelled: Callable[[], bool] | None = None,
    limits: ReadLimits | None = None,
    progress: Progress | None = None,
) -> Document:
    """`load_file(path, ...)` in a worker process; a `LoadError` names the file and the limit when
    the load runs over `timeout_s` seconds (without a page of progress) or `memory_mb` MiB.
    `IngestCancelled` if `cancelled()` turns true meanwhile (the worker is stopped at once)."""
    shown = source if source is not None else str(path)
    request = {
        "path": str(Path(path).resolve()),
        "max_bytes": max_bytes,
        "doc_id": doc_id,
        "source": shown,
        "max_pages": max_pages,
        "max_chars": max_chars,
        "timeout_s": timeout_s,
        "limits": (limits or ReadLimits()).to_dict(),
    }
    worker = _POOL.take(memory_mb)
    try:
        reply = worker.ask(request, timeout_s, cancelled, progress)
    except _Timeout:
        worker.kill()
        raise LoadError(
            shown, f"loading took over {timeout_s:g} s and was stopped (limit load_timeout_s={timeout_s:g})"
        ) from None
    except _Died as exc:
        worker.kill()
        raise LoadError(
            shown,
            f"the loader stopped unexpectedly ({exc}); the file may need more than "
            f"{memory_mb} MB (limit load_memory_mb={memory_mb})",
        ) from None
    except BaseException:
        worker.kill()
        raise
    _POOL.give_back(worker)
    if "error" in reply:
        raise LoadError(shown, reply["error"])
    return _document(reply["doc"])


def _document(d: dict[str, Any]) -> Document:
    """A `Document` from the worker's JSON reply (tuples came back as lists)."""
    return Document(
        d["doc_id"],
        d["source"],
        d["title"],
        d["pages"],
        d["paged"],
        d["content_hash"],
        tuple(d["notes"]),
        tuple((int(start), str(label)) for start, label in d["sections"]),
        int(d["ocr_pages"]),
        float(d["ocr_seconds"]),
    )


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


class _Worker:
    """One `python -m ingest.isolate` process answering one request at a time."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[1])  # this checkout's packages, not another copy
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        # glibc reserves 64 MB of address space per thread arena; OCR's ONNX Runtime threads would
        # spend hundreds of MB of `memory_mb` on reservations alone (2.2 GB peak vs 1.8 GB with 2)
        env.setdefault("MALLOC_ARENA_MAX", "2")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ingest.isolate", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(
        self,
        request: dict[str, Any],
        timeout_s: float,
        cancelled: Callable[[], bool] | None,
        progress: Progress | None = None,
    ) -> Any:
        """The worker's reply to `request`; progress lines before it go to `progress` and each
        restarts the `timeout_s` clock."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request).encode("ascii") + b"\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise _Died(f"cannot write to it: {exc}") from None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        data = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                while b"\n" in data:
                    line, _, rest = bytes(data).partition(b"\n")
                    data = bytearray(rest)
                    message = json.loads(line)
                    if "progress" not in message:
                        return message
                    deadline = time.monotonic() + timeout_s
                    if progress is not None:
                        progress(*message["progress"])
                if cancelled is not None and cancelled():
                    raise IngestCancelled("the ingest was cancelled while a file was loading")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _Timeout
                if not selector.select(min(left, _POLL_S)):
                    continue
                block = os.read(fd, 1 << 20)
                if not block:
                    code = self.proc.wait()
                    raise _Died(f"exit code {code}")
                data += block

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        """Let an idle worker end by itself (its stdin closes), killing it if it lingers."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class _Pool:
    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def take(self, memory_mb: int) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive and worker.memory_mb == memory_mb:
                    return worker
                worker.kill()
        return _Worker(memory_mb)

    def give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive and len(self._idle) < _KEEP_IDLE:
                self._idle.append(worker)
                return
        worker.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


_POOL = _Pool()
atexit.register(_POOL.close)


# --- the worker side ---------------------------------------------------------------------------


def _serve(memory_mb: int) -> None:
    """Answer load requests (JSON lines on stdin) until stdin closes. Each load runs under an alarm
    a little past its time limit, so a worker whose parent died mid-load still ends by itself."""
    import math
    import resource
    import signal

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if line.strip():
            request = json.loads(line)
            alarm = math.ceil(request.get("timeout_s", 60)) + 5
            signal.alarm(alarm)  # SIGALRM ends the process

            def progress(done: int, total: int, alarm: int = alarm) -> None:
                signal.alarm(alarm)  # a page done: the next one gets the full time again
                out.write(json.dumps({"progress": [done, total]}).encode("ascii") + b"\n")
                out.flush()

            reply = json.dumps(_answer(request, memory_mb, progress)).encode("ascii") + b"\n"
            signal.alarm(0)
            out.write(reply)
            out.flush()


def _answer(request: dict[str, Any], memory_mb: int, progress: Progress | None = None) -> dict[str, Any]:
    source = request["source"]
    try:
        doc = load_file(
            Path(request["path"]),
            max_bytes=request["max_bytes"],
            doc_id=request["doc_id"],
            source=source,
            max_pages=request["max_pages"],
            max_chars=request["max_chars"],
            limits=ReadLimits.from_dict(request.get("limits") or {}),
            progress=progress,
        )
    except LoadError as exc:
        return {"error": exc.reason}
    except MemoryError:
        return {"error": f"loading needs more than {memory_mb} MB (limit load_memory_mb={memory_mb})"}
    except Exception as exc:  # a parser bug must not take the worker down with an unclear message
        return {"error": f"could not be loaded: {type(exc).__name__}: {exc}"}
    fields = (
        "doc_id",
        "source",
        "title",
        "pages",
        "paged",
        "content_hash",
        "notes",
        "sections",
        "ocr_pages",
        "ocr_seconds",
    )
    return {"doc": {name: getattr(doc, name) for name in fields}}


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
