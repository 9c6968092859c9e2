"""What the app does besides drawing: which index a session reads, uploads and removal, judgments,
evaluation and tuning. `webapp.callbacks` turns widget values into calls here.

Concurrency: first-stage searches run in parallel; reranks take `model_lock` (the reranker's own
lock), one at a time. Uploads are scheduled fairly (`webapp.scheduler`): each holds only its own
collection's lock (`folder_locks`; with shared uploads the main index's, so those stay serial) and
takes the embedding model in short turns (`embed_turns`), so uploads of different sessions run side
by side and a small one never waits for a long one to finish. Each upload has a budget (chunks,
seconds: `ingest.budget`). An ingest writes a new index version and only then swaps in a new
`Searcher`; searches already running keep theirs, so they never fail and never see a half-built index.

Objects every request thread shares, and why that is safe (each is also noted where it is made):
- the index version (`Searcher`: FAISS index, `LexicalIndex`, chunk list): read only, never changed
  in place; FAISS CPU `search` is const and may run from many threads at once.
- the embedder: the ONNX Runtime `InferenceSession` (`run` is thread-safe) with one `tokenizers`
  object per thread; the torch backend's query tokenizer copy is behind its `_query_lock`.
- BM25 stemming: one PyStemmer object per thread (`lexical._stemmer`), so no lock.
- the reranker: behind `model_lock` (the reranker's own lock); the embedder's ingest batches are
  taken in turns (`embed_turns`), index folders behind `folder_locks`.
- NDCG per search: plain numpy (`search.metrics.ranking_ndcg`); ranx (numba parallel code, which
  aborts the process when two threads enter it) only behind `search.metrics.RANX_LOCK`.
- PDFium (not thread-safe at all): only in `webapp.page_image`, behind its `_pdfium_lock`; ingest
  parses PDFs with pypdf in a worker process (`ingest.isolate`).
- session state: `Sessions._lock`; judgment files: `search.judgments._lock`; this service's own
  maps (last results, closing sessions): `self._lock`.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from ingest.budget import Budget
from ingest.chunk import Chunker
from ingest.formats import KINDS
from ingest.load import MB
from ingest.pipeline import IngestProgress, IngestReport, run_ingest
from ingest.sample import ensure_index
from ingest.uploads import inside, safe_filename, stage_uploads, upload_sources
from search.backends import DocumentInfo, open_backend, open_writer
from search.embedding import Embedder, make_embedder
from search.errors import UploadError
from search.models import RerankerStatus, Scope, SearchResult
from search.pipeline import Searcher
from search.rerank.base import Progress
from search.rerank.load import load_reranker
from search.rerank.timed import TimedReranker
from search.settings import Settings
from webapp import clients, quota
from webapp.forms import fusion_from_ui
from webapp.judging import Judging
from webapp.scheduler import TURN_CHUNKS, EmbedTurns, FolderLocks, TurnEmbedder
from webapp.sessions import SESSIONS_DIR, Sessions, session_key

log = logging.getLogger(__name__)

SHARED_DIR = "shared"
#: Sessions whose last search result is kept for redrawing after judgments (a result holds every
#: stage's candidates with their text: about half a MB at the default depths).
LAST_RESULTS = 64


class SearchService(Judging):
    """The main searcher, the per-session collections, the reranker's lock (`model_lock`) and the
    upload scheduler's locks (`embed_turns`, `folder_locks`: see `webapp.scheduler`)."""

    def __init__(self, settings: Settings, searcher: Searcher) -> None:
        self.settings = settings
        self.main = searcher
        self.embedder: Embedder = searcher.embedder
        self.reranker: TimedReranker | None = searcher.reranker
        self.reranker_status: RerankerStatus = searcher.reranker_status
        self.model_lock = self.reranker.lock if self.reranker is not None else threading.Lock()
        self.embed_turns = EmbedTurns()
        self.folder_locks = FolderLocks()
        hold = lambda key: self.folder_locks.hold(key, blocking=False)  # noqa: E731
        self.sessions = Sessions(Path(settings.upload_dir) / SESSIONS_DIR, settings, hold)
        self._lock = threading.Lock()
        self._storage_lock = threading.Lock()  # quota check + staging, so two uploads cannot both fit
        self._chunker_lock = threading.Lock()
        self._chunker: Chunker | None = None
        self.max_upload_bytes = int(settings.max_upload_mb * MB)
        self._last: OrderedDict[str, tuple[Scope, SearchResult]] = OrderedDict()
        self._closing: set[str] = set()  # sessions whose tab closed: their running ingest stops

    @classmethod
    def open(
        cls, settings: Settings, *, build_missing: bool = True, embedder: Embedder | None = None
    ) -> SearchService:
        """Load the embedding model (unless given) and the reranker once, build the sample index if it
        is missing, and clear session collections left by an earlier run (they cannot come back)."""
        embedder = embedder or make_embedder(settings)
        if build_missing:
            ensure_index(settings, embedder=embedder, show_progress=False)
        reranker, status = load_reranker(settings)
        service = cls(settings, Searcher(open_backend(settings), embedder, settings, reranker, status))
        if not settings.shared_uploads:
            service.sessions.clear()
        return service

    # -- which collection --

    @property
    def shared(self) -> bool:
        return self.settings.shared_uploads

    @property
    def seconds_per_chunk(self) -> float | None:
        return self.reranker.seconds_per_chunk if self.reranker is not None else None

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
        found = self.sessions.get(session)
        return found is not None and found.searcher is not None

    def searcher(self, session: str | None, scope: Scope = Scope.MAIN) -> Searcher:
        """The searcher for a session's chosen collection; "mine" without uploads is an error. On the
        main index a session that judged or tuned reads through its own view (its fusion)."""
        if self.shared:
            return self.main
        self.sessions.sweep()
        found = self.sessions.get(session)
        if found is not None:
            found.last_used = time.time()
        if Scope(scope) is not Scope.MINE:
            return found.main_view if found is not None and found.main_view is not None else self.main
        if found is None or found.searcher is None:
            gone = self.sessions.gone(session)
            if gone:
                raise UploadError(f"your uploaded documents are gone: {gone}; upload them again")
            raise UploadError("you have not uploaded any documents in this session yet (Documents tab)")
        return found.searcher

    def client(self, session: str | None) -> str | None:
        """The address of the caller behind a session id (None for an in-process call)."""
        return clients.client_of(session, self.settings)

    def search(
        self,
        session: str | None,
        scope: Scope,
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
        """One search on the session's collection; fusion controls left at None use the collection's."""
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

    def remember(self, session: str | None, scope: Scope, result: SearchResult) -> None:
        """Keep a session's last result, so marking hits relevant redraws it without searching again."""
        if not session:
            return
        with self._lock:
            self._last[session] = (Scope(scope), result)
            self._last.move_to_end(session)
            while len(self._last) > LAST_RESULTS:
                self._last.popitem(last=False)

    def last_result(self, session: str | None) -> tuple[Scope, SearchResult] | None:
        return self._last.get(session) if session else None

    def documents(self, session: str | None, scope: Scope = Scope.MAIN) -> list[DocumentInfo]:
        if Scope(scope) is Scope.MINE and not self.has_uploads(session):
            return []
        return self.searcher(session, scope).backend.documents()

    def source_file(self, session: str | None, scope: Scope, source: str) -> tuple[Path | None, bool]:
        """The file a hit's `source` names on this server, and whether it may be linked publicly
        (the sample corpus and a shared index: yes; a session's private upload: no)."""
        if Scope(scope) is Scope.MINE and not self.shared:
            found = self.sessions.get(session)
            path = found.files / safe_filename(source) if found is not None else None
            return (path if path is not None and inside(found.files, path) else None), False
        path = Path(source)
        if not path.is_file():
            return None, False
        public = inside(Path(self.settings.sample_dir), path) or (
            self.shared and inside(Path(self.settings.upload_dir) / SHARED_DIR, path)
        )
        return path, public

    def can_remove(self, scope: Scope) -> bool:
        """Users may remove their own uploads; the main index only when uploads are shared."""
        return self.shared or Scope(scope) is Scope.MINE

    # -- ingest and removal --

    def ingest(
        self,
        session: str | None,
        paths: Sequence[str | Path],
        *,
        show_progress: bool = True,
        progress: IngestProgress | None = None,
    ) -> IngestReport:
        """Add uploaded files to the session's collection (or the main index when shared), then swap
        in a searcher over the new version. Files that fail are reported by name and change nothing.

        Holds only this collection's lock; the embedding model is taken in short turns shared
        round-robin with other sessions' uploads (`webapp.scheduler`). The upload's budget
        (`max_upload_chunks`, `max_upload_seconds`) refuses or cuts what is over it, with a reason."""
        if not paths:
            raise UploadError(f"no files given: choose files to upload ({KINDS})")
        with self.folder_locks.hold(self._folder_key(session)):
            settings, files = self._target(session)
            before = {d.source for d in self._current_docs(settings)}
            with self._storage_lock:
                paths, refused = self._within_quota(session, paths, before)
                staged, skipped = stage_uploads(paths, files, self.max_upload_bytes)
            report = run_ingest(
                upload_sources(staged, self.max_upload_bytes),
                open_writer(settings),
                settings,
                embedder=TurnEmbedder(self.embedder, self.embed_turns),
                chunker=self._get_chunker(),
                prune=False,
                skipped=refused + skipped,
                show_progress=show_progress,
                cancelled=(lambda: session in self._closing) if session else None,
                progress=progress,
                budget=Budget.for_upload(self.settings),
                embed_group=TURN_CHUNKS,
            )
            failed = {name for name, _ in report.skipped}
            for path in staged:  # keep no copy of a file that was not indexed
                if path.name in failed and path.name not in before:
                    path.unlink(missing_ok=True)
            if report.changed or report.rebuilt:
                self._swap(session, settings)
        return report

    def remove(
        self, session: str | None, doc_ids: Sequence[str], scope: Scope = Scope.MINE
    ) -> IngestReport | None:
        """Remove documents from the session's collection (or the shared main index). Removing the
        last document of a session deletes its collection (None is returned then)."""
        if not self.can_remove(scope):
            raise UploadError("the sample corpus is read-only here; you can remove only your own uploads")
        with self.folder_locks.hold(self._folder_key(session)):
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
            writer = open_writer(settings)
            report = run_ingest(
                [], writer, settings, embedder=self.embedder, prune=False, remove=doc_ids, show_progress=False
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
        found, folder = self.sessions.pop(session)
        with self._lock:
            self._last.pop(session, None)
        if found is None and not folder.exists():
            return False
        if locked:
            shutil.rmtree(folder, ignore_errors=True)
            return True
        self._closing.add(session)  # an ingest of this session stops at its next check
        try:
            with self.folder_locks.hold(folder.name):  # never delete under its running ingest
                shutil.rmtree(folder, ignore_errors=True)
        finally:
            self._closing.discard(session)
        return True

    # -- internals --

    def _folder_key(self, session: str | None) -> str:
        """The key of the collection an upload of `session` writes (its lock in `folder_locks`)."""
        return SHARED_DIR if self.shared else session_key(session)

    def _target(self, session: str | None) -> tuple[Settings, Path]:
        """(settings whose index_dir is where uploads go, folder for the uploaded files)."""
        if self.shared:
            return self.settings, Path(self.settings.upload_dir) / SHARED_DIR
        found = self.sessions.open(session, self.client(session))
        return found.settings, found.files

    def _within_quota(
        self, session: str | None, paths: Sequence[str | Path], indexed: set[str]
    ) -> tuple[list[Path], list[tuple[str, str]]]:
        """The files this session may add under its limits and the global cap (idle sessions are
        evicted to make room), and (name, reason) for the rest."""
        s = self.settings
        if self.shared:
            return [Path(p) for p in paths], []
        found = self.sessions.open(session, self.client(session))
        admitted, refused = quota.admit(
            paths,
            len(indexed),
            quota.folder_bytes(found.folder),
            max_documents=s.max_session_documents,
            max_mb=s.max_session_mb,
            known=indexed,
        )
        if found.client is not None:
            admitted, over = quota.admit_client(
                admitted, self.sessions.client_bytes(found.client), max_mb=s.max_client_mb
            )
            refused += over
        need = sum(p.stat().st_size for p in admitted if p.exists())
        cap = int(s.max_upload_storage_mb * MB)
        root = self.sessions.root
        fits = self.sessions.evict_idle(found.key, need, cap, lambda: quota.folder_bytes(root))
        if admitted and not fits:
            reason = (
                f"the server's upload storage is full ({s.max_upload_storage_mb:g} MB, "
                "max_upload_storage_mb) with sessions in use in the last "
                f"{s.session_active_minutes:g} minutes (session_active_minutes); try again later"
            )
            return [], refused + [(Path(p).name, reason) for p in admitted]
        return admitted, refused

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
        found = self.sessions.get(session)
        if found is not None:
            found.searcher = searcher

    def _get_chunker(self) -> Chunker:
        """The one chunker, made once; concurrent uploads share it (it keeps no state between calls,
        and its Rust tokenizer copy is never reconfigured, so concurrent `encode` calls are safe)."""
        with self._chunker_lock:
            if self._chunker is None:
                s = self.settings
                self._chunker = Chunker.for_model(
                    s.embedding_model, s.chunk_tokens, s.chunk_overlap, s.chunk_max_chars
                )
            return self._chunker
