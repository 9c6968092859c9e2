"""The tokenizer side of chunking: a private copy of the model's fast tokenizer, whether cuts
between words keep token counts additive, and `TokenSpace`, a document's sentences laid out in one
token index space."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

import numpy as np

#: Sentences are tokenized in groups of this many characters, so memory stays bounded on big files.
_BATCH_CHARS = 1 << 18
#: Sentences whose per-token offsets are kept at once (the chunker only looks back one chunk).
_DETAIL_CACHE = 16


def backend_of(tokenizer: Any) -> Any:
    """A private copy of the Rust tokenizer with truncation and padding off (the model's
    tokenizer.json may ship with truncation at 128, which would undercount long sentences)."""
    from tokenizers import Tokenizer

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None and isinstance(tokenizer, Tokenizer):
        backend = tokenizer
    if backend is None:
        raise TypeError(
            f"Chunker needs a fast (Rust-backed) tokenizer with offsets; got {type(tokenizer).__name__}"
        )
    copy = Tokenizer.from_str(backend.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


def word_additive(backend: Any) -> bool:
    """True when cutting text between pre-tokenizer words cannot change the token count."""
    from tokenizers import models, pre_tokenizers

    pre = backend.pre_tokenizer
    return isinstance(backend.model, models.WordPiece) and isinstance(
        pre, pre_tokenizers.BertPreTokenizer | pre_tokenizers.Whitespace | pre_tokenizers.WhitespaceSplit
    )


class TokenSpace:
    """A document's sentences laid out in one token index space: sentence i holds tokens
    [cum[i], cum[i+1]). Per-token offsets are fetched lazily, only for sentences cut inside."""

    def __init__(self, text: str, sentences: list[tuple[int, int]], backend: Any) -> None:
        self.backend = backend
        self.text = text
        # Counts only: `encode_batch_fast` skips offsets (about 25% faster); the few sentences
        # that get cut inside are re-encoded with offsets on demand.
        encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
        lengths: list[int] = []
        batch: list[str] = []
        batch_chars = 0
        for start, end in sentences:
            batch.append(text[start:end])
            batch_chars += end - start
            if batch_chars >= _BATCH_CHARS:
                lengths.extend(len(enc) for enc in encode(batch, add_special_tokens=False))
                batch, batch_chars = [], 0
        if batch:
            lengths.extend(len(enc) for enc in encode(batch, add_special_tokens=False))

        # Sentences with no tokens (only characters the tokenizer drops) join their neighbour, so
        # token ranges stay strictly increasing and their characters stay inside some chunk.
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.cum: list[int] = [0]
        pending_start: int | None = None
        for (start, end), n in zip(sentences, lengths, strict=True):
            if n == 0:
                if self.ends:
                    self.ends[-1] = end
                elif pending_start is None:
                    pending_start = start
                continue
            self.starts.append(start if pending_start is None else pending_start)
            self.ends.append(end)
            self.cum.append(self.cum[-1] + n)
            pending_start = None
        self.n_tokens = self.cum[-1]
        self._detail: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def sentence_of(self, token: int) -> int:
        return bisect_right(self.cum, token) - 1

    def detail(self, sent: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(char starts, char ends, word-start flags, whitespace-before flags) of a sentence's
        tokens, chars absolute in the document."""
        cached = self._detail.get(sent)
        if cached is not None:
            return cached
        start, end = self.starts[sent], self.ends[sent]
        enc = self.backend.encode(self.text[start:end], add_special_tokens=False)
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2) + self.starts[sent]
        words = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)
        word_start = np.ones(len(words), dtype=bool)
        word_start[1:] = words[1:] != words[:-1]
        space_before = np.ones(len(words), dtype=bool)
        space_before[1:] = offsets[1:, 0] > offsets[:-1, 1]
        cached = (offsets[:, 0], offsets[:, 1], word_start, space_before)
        if len(self._detail) >= _DETAIL_CACHE:  # chunking only moves forward: drop the oldest
            del self._detail[next(iter(self._detail))]
        self._detail[sent] = cached
        return cached

    def char_start(self, token: int) -> int:
        sent = self.sentence_of(token)
        if token == self.cum[sent]:
            return self.starts[sent]
        return int(self.detail(sent)[0][token - self.cum[sent]])

    def char_end(self, token: int) -> int:
        sent = self.sentence_of(token)
        if token == self.cum[sent + 1] - 1:
            return self.ends[sent]
        return int(self.detail(sent)[1][token - self.cum[sent]])

    def best_cut(self, low: int, high: int) -> int:
        """A cut in (low, high] inside one long sentence: the last whitespace between tokens if it
        is in the back half, else the last word start, else `high` (mid-word, no choice left)."""
        sent = self.sentence_of(low)
        base = self.cum[sent]
        _, _, word_start, space_before = self.detail(sent)
        lo, hi = low - base + 1, high - base + 1
        spaces = np.flatnonzero(space_before[lo:hi])
        if spaces.size and spaces[-1] >= (hi - lo) // 2:
            return int(base + lo + spaces[-1])
        words = np.flatnonzero(word_start[lo:hi])
        if words.size:
            return int(base + lo + words[-1])
        if spaces.size:
            return int(base + lo + spaces[-1])
        return high

    def first_cut_from(self, low: int, upto: int) -> int:
        """The first sentence start in [low, upto), else the first word start there (then all of
        it lies in one sentence), else `upto`, which callers pass as a known cut."""
        boundary = self.cum[bisect_left(self.cum, low)]
        if boundary < upto:
            return boundary
        sent = self.sentence_of(low)
        base = self.cum[sent]
        word_start = self.detail(sent)[2]
        words = np.flatnonzero(word_start[low - base : upto - base])
        return int(low + words[0]) if words.size else upto
