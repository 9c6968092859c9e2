"""App-side services: collections per session, upload handling, ingest + swap under one model
lock, and the rerank speed estimate. The app (`app.py`) only wires these to widgets.

Uploads decision (see the README): with `Settings.shared_uploads` False, the default and the only
safe choice for a public deployment, each browser session's uploads go into a private collection at
`<upload_dir>/sessions/<hash of the session id>/` that only that session searches ("My documents"),
next to the read-only main index (the sample corpus). It is deleted when the session ends (the tab
closes), when it has been idle for `SESSION_TTL_S`, and at start-up. With `shared_uploads` True (a
private, self-hosted deployment) uploads go into the main index, which everyone searches.

Concurrency: first-stage searches run in parallel; reranking and ingest take the same `model_lock`,
so they run one at a time. An ingest writes a new index version and only then swaps in a new
`Searcher`; searches already running keep the one they started with, so they never fail and never
see a half-built index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import statistics
import threading
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.chunk import Chunker
from ingest.embed import Embedder
from ingest.load import MB, SUPPORTED_SUFFIXES, default_doc_id, file_hash, load_file
from ingest.pipeline import IngestReport, Source, file_sources, run_ingest
from search import judgments
from search.backends import DocumentInfo, open_backend, open_writer
from search.errors import IndexNotFoundError, SearchError
from search.models import FusionParams, Hit, RerankerStatus, SearchResult
from search.pipeline import Searcher
from search.rerank.base import Progress, Reranker
from search.settings import Settings

log = logging.getLogger(__name__)

#: Which collection a search reads: the main index (sample corpus or shared index) or the session's own.
MAIN = "main"
MINE = "mine"
SESSIONS_DIR = "sessions"
SHARED_DIR = "shared"
#: A session collection not used for this long is removed (API clients never send "tab closed").
SESSION_TTL_S = 6 * 3600
#: Uploaded names keep letters, digits, dot, dash, underscore and space; anything else becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._\- ]+")
MAX_NAME_CHARS = 120
#: Sessions whose last search result is kept for redrawing after judgments.
LAST_RESULTS = 512
#: Rerank calls whose speed makes the estimate (their median).
RECENT_CALLS = 5
#: How long ZeroGPU may hold a GPU for one rerank call.
GPU_DURATION_S = 60


class UploadError(SearchError):
    """An upload or removal the user must change (no session, no files, last document, ...)."""


# --- file names ------------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    """A file name that cannot leave its folder: the last path component only (either slash), NFKC
    normalised, unsafe characters replaced, no leading dots, at most `MAX_NAME_CHARS` characters,
    and the suffix lower-cased so `.PDF` is recognised."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base).replace("\x00", "")
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"_+", "_", stem).strip(" ._") or "upload"
    suffix = suffix.lower()[:10]
    stem = stem[: MAX_NAME_CHARS - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


def inside(folder: Path, path: Path) -> bool:
    """True when `path` resolves to somewhere inside `folder` (symlinks and `..` followed)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def stage_uploads(
    paths: Iterable[str | Path], folder: Path, max_bytes: int
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Copy uploaded temp files into `folder` under safe names; refuse what is too big or of an
    unsupported type. Returns the staged paths and (name, reason) for each refused file.

    Two uploads with the same safe name in one batch get `-2`, `-3`, ...; a name already in the
    folder is replaced (re-uploading a file updates it in the index)."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[Path] = []
    skipped: list[tuple[str, str]] = []
    taken: set[str] = set()
    for raw in paths:
        src = Path(raw)
        name = safe_filename(src.name)
        suffix = Path(name).suffix
        if suffix not in SUPPORTED_SUFFIXES:
            kind = f"{suffix} files" if suffix else "files without an extension"
            skipped.append((name, f"unsupported file type: {kind} cannot be indexed (PDF, .txt, .md only)"))
            continue
        try:
            size = src.stat().st_size
        except OSError as exc:
            skipped.append((name, f"cannot read the upload: {exc.strerror or exc}"))
            continue
        if size > max_bytes:
            skipped.append((name, f"file is {size / MB:.1f} MB, over the {max_bytes / MB:g} MB upload limit"))
            continue
        stem, n = Path(name).stem, 2
        while name in taken:
            name = f"{stem}-{n}{suffix}"
            n += 1
        taken.add(name)
        target = folder / name
        if not inside(folder, target):  # cannot happen with safe names; refuse rather than trust it
            skipped.append((name, "refused: the file name points outside the upload folder"))
            continue
        tmp = folder / f".{name}.part"
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
        staged.append(target)
    return staged, skipped


def upload_sources(paths: Sequence[Path], max_bytes: int) -> list[Source]:
    """Ingest sources for staged uploads, cited by file name alone: the folder (which carries the
    session's key) never reaches results or error messages."""
    sources = []
    for path in paths:
        doc_id = default_doc_id(path)
        name = path.name
        sources.append(
            Source(
                doc_id,
                name,
                file_hash(path),
                lambda p=path, n=name, d=doc_id: load_file(p, max_bytes=max_bytes, doc_id=d, source=n),
            )
        )
    return sources


def session_key(session_hash: str | None) -> str:
    """The folder name of a session's collection: a hash of Gradio's session id, so a client-chosen
    id can never shape a path, and the id itself is not written to disk."""
    if not session_hash or not str(session_hash).strip():
        raise UploadError("uploads need a browser or client session; none was given")
    return hashlib.sha256(str(session_hash).encode("utf-8")).hexdigest()[:32]


# --- reranking: one model lock, a speed estimate, ZeroGPU ---------------------------------------


def zero_gpu_active() -> bool:
    """True on a Hugging Face ZeroGPU Space (the platform sets SPACES_ZERO_GPU)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() not in {"", "0", "false", "no"}


#: The reranker the ZeroGPU function uses: a module global, because ZeroGPU runs the decorated
#: function in a forked worker and pickles only its (plain) arguments.
_GPU_RERANKER: Reranker | None = None


def _score_with_warnings(
    reranker: Reranker, query: str, documents: list[str], progress: Progress | None
) -> tuple[list[float], list[str]]:
    with_warnings = getattr(reranker, "score_with_warnings", None)
    if with_warnings is not None:
        scores, warnings = with_warnings(query, documents, progress)
        return list(scores), list(warnings)
    scores = reranker.score(query, documents, progress=progress)
    return list(scores), list(getattr(reranker, "last_warnings", []) or [])


def _score_on_gpu(query: str, documents: list[str]) -> tuple[list[float], list[str]]:
    """The GPU work of one rerank (wrapped with `spaces.GPU` on ZeroGPU, see below)."""
    if _GPU_RERANKER is None:
        raise RuntimeError("no reranker registered for ZeroGPU")
    return _score_with_warnings(_GPU_RERANKER, query, documents, None)


if zero_gpu_active():  # pragma: no cover - only on a ZeroGPU Space
    try:
        import spaces

        _score_on_gpu = spaces.GPU(duration=GPU_DURATION_S)(_score_on_gpu)
    except ImportError:
        log.warning("SPACES_ZERO_GPU is set but the `spaces` package is missing: reranking stays on CPU")


class TimedReranker:
    """A reranker shared by every collection: scores under the model lock (one rerank or ingest at a
    time), measures seconds per passage for the CPU estimate, and on ZeroGPU runs the scoring inside
    `spaces.GPU`. Warnings of the last call are kept per thread, so concurrent searches don't mix them."""

    def __init__(self, inner: Reranker, lock: threading.Lock, *, use_gpu_worker: bool = False) -> None:
        global _GPU_RERANKER
        self.inner = inner
        self.name = inner.name
        self.backend = inner.backend
        self.device = inner.device
        self._lock = lock
        self._local = threading.local()
        self._gpu = use_gpu_worker
        if use_gpu_worker:
            _GPU_RERANKER = inner
        self.seconds_per_chunk: float | None = None
        self.calls = 0
        self._recent: deque[float] = deque(maxlen=RECENT_CALLS)
        self._stats_lock = threading.Lock()

    @property
    def last_warnings(self) -> list[str]:
        return list(getattr(self._local, "warnings", []))

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> list[float]:
        docs = list(documents)
        with self._lock:
            started = time.perf_counter()
            if self._gpu:
                scores, warnings = _score_on_gpu(query, docs)
                if progress is not None:
                    progress(len(docs), len(docs))
            else:
                scores, warnings = _score_with_warnings(self.inner, query, docs, progress)
            elapsed = time.perf_counter() - started
        self._local.warnings = warnings
        if docs:
            self._record(elapsed / len(docs))
        return scores

    def _record(self, per_chunk: float) -> None:
        """The first call gives the estimate; later ones refine it as the median of the last few, so
        the first call's warm-up (CUDA kernels, caches) does not linger in it."""
        with self._stats_lock:
            self.calls += 1
            self._recent.append(per_chunk)
            self.seconds_per_chunk = statistics.median(self._recent)

    def estimate_s(self, depth: int) -> float | None:
        """Seconds to rerank `depth` passages here, or None before the first measurement."""
        return None if self.seconds_per_chunk is None else self.seconds_per_chunk * depth


# --- the sample index and example queries ----------------------------------------------------


def ensure_index(
    settings: Settings, *, embedder: Embedder | None = None, show_progress: bool = True
) -> IngestReport | None:
    """Build the main index from `settings.sample_dir` when none exists (a Space's disk is
    ephemeral, and `python app.py` should work on a fresh checkout); None when one is there."""
    writer = open_writer(settings)
    _, docs = writer.existing()
    if docs:
        return None
    sample = Path(settings.sample_dir)
    if not sample.is_dir():
        raise IndexNotFoundError(
            f"no index at {settings.index_dir} and no sample folder at {sample} to build one from: "
            f"run `python -m ingest PATH --index {settings.index_dir}`"
        )
    log.info("no index at %s: building it from %s", settings.index_dir, sample)
    sources, skipped = file_sources([sample], int(settings.max_file_mb * MB))
    report = run_ingest(
        sources, writer, settings, embedder=embedder, prune=True, skipped=skipped, show_progress=show_progress
    )
    log.info("%s", report.summary())
    return report


def load_example_queries(path: Path, limit: int = 12) -> list[str]:
    """Queries for the example buttons from a JSON list of {"query": ...} (or plain strings);
    an empty list when the file is missing or unreadable, since examples are a convenience."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out: list[str] = []
    for item in data if isinstance(data, list) else []:
        text = item.get("query") if isinstance(item, dict) else item
        if isinstance(text, str) and text.strip() and text.strip() not in out:
            out.append(text.strip())
    return out[:limit]


def fusion_from_ui(base: FusionParams, mode: str, alpha: float) -> FusionParams:
    """The fusion a search runs with: the index's own parameters when the controls still show them,
    else `mode` with dense weight `alpha` (RRF weighs the two lists only when alpha is not 0.5)."""
    mode = mode.strip().lower()
    alpha = min(1.0, max(0.0, float(alpha)))
    if mode == base.mode and abs(alpha - base.alpha) < 1e-9:
        return base
    if mode not in ("rrf", "weighted"):
        raise SearchError(f"unknown fusion mode {mode!r} (expected rrf or weighted)")
    weighted_rrf = mode == "rrf" and (base.weighted_rrf or abs(alpha - 0.5) > 1e-9)
    return replace(base, mode=mode, alpha=alpha, weighted_rrf=weighted_rrf, source="ui")


def ndcg_at_k(ranked_docs: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float | None:
    """NDCG@k with linear gains (Järvelin & Kekäläinen 2002), the definition ranx's "ndcg" uses in the
    Evaluate tab: DCG = sum over the first k documents of grade / log2(position + 1), divided by the
    DCG of the judged grades in their best order. None when no document is judged relevant (>= 1),
    as the evaluation leaves such queries out."""
    relevant = sorted((g for g in grades.values() if g >= 1), reverse=True)
    if not relevant:
        return None
    dcg = 0.0
    for position, doc in enumerate(dict.fromkeys(ranked_docs), start=1):  # each document at its best
        if position > k:
            break
        grade = grades.get(doc, 0)
        if grade >= 1:
            dcg += grade / math.log2(position + 1)
    ideal = sum(g / math.log2(i + 1) for i, g in enumerate(relevant[:k], start=1))
    return dcg / ideal


def column_ndcg(hits: Sequence[Hit], grades: Mapping[str, int], k: int = 10) -> float | None:
    """NDCG@k of a shown list at document level (a document counts at its best chunk), as the
    evaluation ranks documents; None without a relevant judgment for the query."""
    return ndcg_at_k([h.chunk.doc_id for h in hits], grades, k)


# --- collections -----------------------------------------------------------------------------


@dataclass
class _Collection:
    """One session's private state: its uploads (files, index, searcher) and its view of the main
    index (a searcher over the main index whose folder holds this session's marks and fusion)."""

    key: str
    folder: Path
    settings: Settings
    searcher: Searcher | None = None
    main_view: Searcher | None = None
    last_used: float = field(default_factory=time.time)

    @property
    def files(self) -> Path:
        return self.folder / "files"


class SearchService:
    """Everything the app does besides drawing: which searcher a session reads, uploads, removal."""

    def __init__(
        self, settings: Settings, searcher: Searcher, model_lock: threading.Lock | None = None
    ) -> None:
        self.settings = settings
        self.main = searcher
        self.embedder: Embedder = searcher.embedder
        self.reranker = searcher.reranker
        self.reranker_status: RerankerStatus = searcher.reranker_status
        self.model_lock = model_lock or threading.Lock()
        self._sessions: dict[str, _Collection] = {}
        self._lock = threading.Lock()
        self._chunker: Chunker | None = None
        self.max_upload_bytes = int(settings.max_upload_mb * MB)
        self._last: OrderedDict[str, tuple[str, SearchResult]] = OrderedDict()

    @classmethod
    def open(
        cls, settings: Settings, *, build_missing: bool = True, embedder: Embedder | None = None
    ) -> SearchService:
        """Load the embedding model (unless given) and the reranker once, build the sample index if it
        is missing, and clear session collections left by an earlier run (they cannot come back)."""
        from search.rerank.load import load_reranker

        embedder = embedder or Embedder(
            settings.embedding_model, settings.embedding_device, settings.embed_batch_size
        )
        if build_missing:
            ensure_index(settings, embedder=embedder)
        lock = threading.Lock()
        reranker, status = load_reranker(settings)
        wrapped = TimedReranker(reranker, lock, use_gpu_worker=zero_gpu_active()) if reranker else None
        searcher = Searcher(open_backend(settings), embedder, settings, wrapped, status)
        service = cls(settings, searcher, lock)
        if not settings.shared_uploads:
            service.clear_sessions()
        return service

    # -- which collection --

    @property
    def shared(self) -> bool:
        return self.settings.shared_uploads

    @property
    def seconds_per_chunk(self) -> float | None:
        return getattr(self.reranker, "seconds_per_chunk", None)

    def main_label(self) -> str:
        """ "Sample corpus" when the main index holds only the sample folder's files, else "Shared index"."""
        sample = Path(self.settings.sample_dir).resolve()
        docs = self.main.backend.documents()
        if docs and all(inside(sample, Path(d.source)) for d in docs):
            return "Sample corpus"
        return "Shared index"

    def has_uploads(self, session: str | None) -> bool:
        if self.shared or not session:
            return False
        coll = self._sessions.get(session_key(session))
        return coll is not None and coll.searcher is not None

    def searcher(self, session: str | None, scope: str = MAIN) -> Searcher:
        """The searcher for a session's chosen collection; "mine" without uploads is an error. On the
        main index a session that judged or tuned reads through its own view (its fusion)."""
        if self.shared:
            return self.main
        if scope != MINE:
            coll = self._sessions.get(session_key(session)) if session else None
            return coll.main_view if coll is not None and coll.main_view is not None else self.main
        coll = self._sessions.get(session_key(session))
        if coll is None or coll.searcher is None:
            raise UploadError("you have not uploaded any documents in this session yet (Documents tab)")
        coll.last_used = time.time()
        return coll.searcher

    def search(
        self,
        session: str | None,
        scope: str,
        query: str,
        *,
        top_k: int | None = None,
        candidates: int | None = None,
        rerank_depth: int | None = None,
        fusion_mode: str | None = None,
        alpha: float | None = None,
        rerank: bool = True,
        progress: Progress | None = None,
    ) -> SearchResult:
        """One search on the session's collection; fusion controls left at None use the index's."""
        searcher = self.searcher(session, scope)
        fusion = searcher.fusion
        if fusion_mode is not None or alpha is not None:
            fusion = fusion_from_ui(
                fusion, fusion_mode or fusion.mode, fusion.alpha if alpha is None else alpha
            )
        return searcher.search(
            query,
            top_k=top_k,
            candidates=candidates,
            rerank_depth=rerank_depth,
            fusion=fusion,
            rerank=rerank,
            progress=progress,
        )

    def remember(self, session: str | None, scope: str, result: SearchResult) -> None:
        """Keep a session's last result, so marking hits relevant redraws it without searching again."""
        if not session:
            return
        with self._lock:
            self._last[session] = (scope, result)
            self._last.move_to_end(session)
            while len(self._last) > LAST_RESULTS:
                self._last.popitem(last=False)

    def last_result(self, session: str | None) -> tuple[str, SearchResult] | None:
        return self._last.get(session) if session else None

    def documents(self, session: str | None, scope: str = MAIN) -> list[DocumentInfo]:
        if scope == MINE and not self.has_uploads(session):
            return []
        return self.searcher(session, scope).backend.documents()

    def can_remove(self, scope: str) -> bool:
        """Users may remove their own uploads; the main index only when uploads are shared."""
        return self.shared or scope == MINE

    # -- ingest and removal --

    def ingest(
        self, session: str | None, paths: Sequence[str | Path], *, show_progress: bool = True
    ) -> IngestReport:
        """Add uploaded files to the session's collection (or the main index when shared), then swap
        in a searcher over the new version. Files that fail are reported by name and change nothing."""
        if not paths:
            raise UploadError("no files given: choose PDF, .txt or .md files to upload")
        with self.model_lock:
            settings, files = self._target(session)
            staged, skipped = stage_uploads(paths, files, self.max_upload_bytes)
            before = {d.source for d in self._current_docs(settings)}
            report = run_ingest(
                upload_sources(staged, self.max_upload_bytes),
                open_writer(settings),
                settings,
                embedder=self.embedder,
                chunker=self._get_chunker(),
                prune=False,
                skipped=skipped,
                show_progress=show_progress,
            )
            failed = {name for name, _ in report.skipped}
            for path in staged:  # keep no copy of a file that was not indexed
                if path.name in failed and path.name not in before:
                    path.unlink(missing_ok=True)
            if report.changed or report.rebuilt:
                self._swap(session, settings)
        return report

    def remove(self, session: str | None, doc_ids: Sequence[str], scope: str = MINE) -> IngestReport | None:
        """Remove documents from the session's collection (or the shared main index). Removing the
        last document of a session deletes its collection (None is returned then)."""
        if not self.can_remove(scope):
            raise UploadError("the sample corpus is read-only here; you can remove only your own uploads")
        with self.model_lock:
            settings, files = self._target(session)
            docs = {d.doc_id: d for d in self._current_docs(settings)}
            unknown = [d for d in doc_ids if d not in docs]
            if unknown or not doc_ids:
                raise UploadError(
                    f"no such document in this collection: {', '.join(unknown) or '(none chosen)'}"
                )
            if len(docs) == len(set(doc_ids)):
                if self.shared:
                    raise UploadError("the shared index must keep at least one document")
                self.drop_session(session, locked=True)
                return None
            report = run_ingest(
                [],
                open_writer(settings),
                settings,
                embedder=self.embedder,
                prune=False,
                remove=doc_ids,
                show_progress=False,
            )
            for doc_id in doc_ids:
                path = files / safe_filename(docs[doc_id].source)
                if inside(files, path):
                    path.unlink(missing_ok=True)
            self._swap(session, settings)
        return report

    def drop_session(self, session: str | None, *, locked: bool = False) -> bool:
        """Forget a session's collection and delete its files (tab closed, idle, or emptied)."""
        if self.shared or not session:
            return False
        key = session_key(session)
        with self._lock:
            coll = self._sessions.pop(key, None)
            self._last.pop(session, None)
        folder = self._sessions_root() / key
        if coll is None and not folder.exists():
            return False
        if locked:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            with self.model_lock:  # never delete under an ingest that is writing there
                shutil.rmtree(folder, ignore_errors=True)
        return True

    def sweep(self, max_idle_s: float = SESSION_TTL_S) -> int:
        """Drop collections idle for longer than `max_idle_s`; returns how many went."""
        now = time.time()
        with self._lock:
            stale = [k for k, c in self._sessions.items() if now - c.last_used > max_idle_s]
            for key in stale:
                self._sessions.pop(key, None)
        for key in stale:
            shutil.rmtree(self._sessions_root() / key, ignore_errors=True)
        return len(stale)

    def clear_sessions(self) -> None:
        """Remove every session folder (at start-up: no earlier session can reconnect to them)."""
        shutil.rmtree(self._sessions_root(), ignore_errors=True)

    # -- judgments, evaluation, tuning --

    def relevance(self, session: str | None, scope: str, query: str) -> dict[str, int]:
        """doc_id -> grade judged for this query in the collection (shipped judgments such as a BEIR
        set, then the user's marks, which win); empty when nothing was judged."""
        searcher = self.searcher(session, scope)
        grades: dict[str, int] = {}
        for folder in self._judgment_dirs(searcher):
            grades.update(judgments.relevant_docs(folder, query))
        return grades

    def judge(
        self, session: str | None, scope: str, query: str, marks: Mapping[str, int | None]
    ) -> dict[str, int]:
        """Store the user's marks (doc_id -> grade, None to unmark) for `query` and return the new
        grades. Marks on the main index stay with the session unless uploads are shared."""
        searcher = self._writable_view(session, scope)
        known = {d.doc_id for d in searcher.backend.documents()}
        unknown = sorted(set(marks) - known)
        if unknown:
            raise UploadError(f"no such document in this collection: {', '.join(unknown)}")
        for doc_id, grade in marks.items():
            judgments.mark(Path(searcher.settings.index_dir), query, doc_id, grade)
        return self.relevance(session, scope, query)

    def judgment_splits(self, session: str | None, scope: str) -> list[str]:
        """The judgment sets an evaluation can use here: shipped splits (`test`, ...) and `user`."""
        searcher = self.searcher(session, scope)
        return sorted({s for f in self._judgment_dirs(searcher) for s in judgments.available_splits(f)})

    def evaluate(
        self,
        session: str | None,
        scope: str,
        split: str,
        *,
        rerank: bool = True,
        max_queries: int | None = None,
        progress: Any = None,
    ) -> Any:
        """NDCG@10 and more of every stage, with and without reranking, on one judgment set
        (`search.evaluate.runner.evaluate_index`); reranking takes the model lock call by call."""
        from search.evaluate.runner import evaluate_index

        searcher = self._split_searcher(session, scope, split)
        return evaluate_index(searcher, split, rerank=rerank, max_queries=max_queries, progress=progress)

    def tune(self, session: str | None, scope: str, split: str, *, progress: Any = None) -> Any:
        """Tune the fusion on a judgment set, held-out estimate included; nothing is stored."""
        from search.evaluate.runner import tune_index

        return tune_index(self._split_searcher(session, scope, split), split, progress=progress)

    def apply_fusion(self, session: str | None, scope: str, params: FusionParams) -> FusionParams:
        """Use `params` from the next search on: for this session only on the main index (unless
        uploads are shared), stored with the collection otherwise."""
        from search.evaluate.runner import apply_fusion

        apply_fusion(self._writable_view(session, scope), params)
        return params

    # -- internals --

    def _judgment_dirs(self, searcher: Searcher) -> list[Path]:
        """Where this searcher's judgments live: a session's view of the main index reads the main
        index's shipped judgments, then the session's own marks."""
        own = Path(searcher.settings.index_dir)
        main = Path(self.main.settings.index_dir)
        return [main, own] if own != main and searcher.backend is self.main.backend else [own]

    def _writable_view(self, session: str | None, scope: str) -> Searcher:
        """The searcher whose folder takes marks and tuned fusion: the collection itself, or on the
        main index of a public deployment the session's own view of it (created on first use)."""
        if self.shared or scope == MINE:
            return self.searcher(session, scope)
        self._target(session)  # make sure the session's folder and record exist
        key = session_key(session)
        with self._lock:
            coll = self._sessions[key]
            if coll.main_view is None:
                # named after the collection: evaluation reports call a data set by its folder's name
                folder = coll.folder / re.sub(r"[^a-z0-9]+", "-", self.main_label().lower()).strip("-")
                folder.mkdir(parents=True, exist_ok=True)
                settings = replace(self.settings, index_dir=folder)
                coll.main_view = Searcher(
                    self.main.backend,
                    self.embedder,
                    settings,
                    self.reranker,
                    self.reranker_status,
                    fusion=self.main.fusion,
                )
            return coll.main_view

    def _split_searcher(self, session: str | None, scope: str, split: str) -> Searcher:
        """A searcher whose index folder holds `split`, with the fusion this session searches with."""
        searcher = self.searcher(session, scope)
        for folder in reversed(self._judgment_dirs(searcher)):
            if judgments.resolve_split(folder, split) is not None:
                if folder == Path(searcher.settings.index_dir):
                    return searcher
                settings = replace(searcher.settings, index_dir=folder)
                return Searcher(
                    searcher.backend,
                    self.embedder,
                    settings,
                    self.reranker,
                    self.reranker_status,
                    fusion=searcher.fusion,
                )
        raise UploadError(f"no judgments named {split!r} here: mark some results relevant first")

    def _sessions_root(self) -> Path:
        return Path(self.settings.upload_dir) / SESSIONS_DIR

    def _target(self, session: str | None) -> tuple[Settings, Path]:
        """(settings whose index_dir is where uploads go, folder for the uploaded files)."""
        if self.shared:
            return self.settings, Path(self.settings.upload_dir) / SHARED_DIR
        key = session_key(session)
        self.sweep()
        with self._lock:
            coll = self._sessions.get(key)
            if coll is None:
                folder = self._sessions_root() / key
                coll = _Collection(key, folder, replace(self.settings, index_dir=folder / "my-documents"))
                self._sessions[key] = coll
            coll.last_used = time.time()
        return coll.settings, coll.files

    def _current_docs(self, settings: Settings) -> list[DocumentInfo]:
        return list(open_writer(settings).existing()[1].values())

    def _swap(self, session: str | None, settings: Settings) -> None:
        """A new searcher over the just-published version; in-flight searches keep the old one."""
        searcher = Searcher(
            open_backend(settings), self.embedder, settings, self.reranker, self.reranker_status
        )
        if self.shared:
            self.main = searcher
            return
        with self._lock:
            coll = self._sessions.get(session_key(session))
            if coll is not None:
                coll.searcher = searcher

    def _get_chunker(self) -> Chunker:
        if self._chunker is None:
            s = self.settings
            self._chunker = Chunker.for_model(s.embedding_model, s.chunk_tokens, s.chunk_overlap)
        return self._chunker


def progress_adapter(report: Callable[..., Any], desc: str, unit: str = "passages") -> Progress:
    """A `progress(done, total)` callback that drives a `gr.Progress`-like callable."""

    def update(done: int, total: int) -> None:
        report((done, total), desc=desc, unit=unit)

    return update
