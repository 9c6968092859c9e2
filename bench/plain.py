"""The plain script the product's first stage is compared with: what a user would write in a
notebook with the same libraries, on the same index files, with the product's thread settings.

sentence-transformers `encode` for the query vector, `bm25s.tokenize` + `BM25.retrieve` for the
lexical list, FAISS `search` for the dense list, and the product's own `fuse` (the same fusion, so
only the plumbing differs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from search.fusion import fuse
from search.models import FusionParams


class PlainFirstStage:
    """Opens an index version folder with the libraries directly; `__call__` returns the fused list."""

    def __init__(
        self,
        folder: Path,
        model_path: str,
        stemmer: str = "english",
        stopwords: str = "en",
        threads: int | None = None,
    ) -> None:
        import bm25s
        import faiss
        import Stemmer
        import torch
        from sentence_transformers import SentenceTransformer

        from search.backends.local.vectors import FAISS_THREADS
        from search.embedding.onnx import QUERY_THREADS

        # the product's query path: one embedding thread, FAISS_THREADS for FAISS, one for bm25s;
        # left free, torch spins threads against the neighbours' load and the ratio measures that
        self.threads = {"torch": threads or QUERY_THREADS, "faiss": threads or FAISS_THREADS, "bm25s": 1}
        torch.set_num_threads(self.threads["torch"])
        faiss.omp_set_num_threads(self.threads["faiss"])

        self.model = SentenceTransformer(model_path, device="cpu")
        self.bm25 = bm25s.BM25.load(str(folder / "bm25"), allow_pickle=False)
        self.vocab = self.bm25.vocab_dict
        self.faiss = faiss.read_index(str(folder / "vectors.faiss"))
        self.stemmer = Stemmer.Stemmer(stemmer) if stemmer else None
        self.stopwords = stopwords or None
        self._tokenize = bm25s.tokenize

    def __call__(self, query: str, k: int, fusion: FusionParams) -> list[tuple[str, float]]:
        vector = self.model.encode([query], normalize_embeddings=True, convert_to_numpy=True)
        tokens = self._tokenize(
            query, stopwords=self.stopwords, stemmer=self.stemmer, return_ids=False, show_progress=False
        )[0]
        tokens = [t for t in tokens if t in self.vocab]
        bm25: list[tuple[str, float]] = []
        if tokens:
            k_lex = min(k, self.bm25.scores["num_docs"])
            docs, scores = self.bm25.retrieve([tokens], k=k_lex, show_progress=False, n_threads=1)
            bm25 = [(str(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
        scores, rows = self.faiss.search(np.asarray(vector, dtype=np.float32), k)
        dense = [(str(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
        return fuse(bm25, dense, fusion)


def open_plain(index_dir: Path, settings: Any) -> PlainFirstStage:
    """The plain pipeline on the index's current version, with the index's BM25 settings."""
    from search.backends.local import store
    from search.settings import resolve_embedding_model

    folder = store.current_version(index_dir)
    return PlainFirstStage(
        folder,
        resolve_embedding_model(settings.embedding_model),
        settings.bm25_stemmer,
        settings.bm25_stopwords,
    )
