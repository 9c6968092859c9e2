"""Token-aware chunking with exact char spans and page attribution.

Why token-aware: the embedding model silently truncates its input (all-MiniLM-L6-v2 at 256 word
pieces), so a chunk measured in characters or words can lose its tail without anyone noticing.
Every chunk here is at most `chunk_tokens` tokens by the model's own tokenizer.

How: the document text (pages joined by a blank line) is split into sentences; all sentences are
tokenized in batched calls for their token counts, which places every sentence in one token index
space. Chunks are greedy runs of whole sentences; a sentence longer than a chunk is cut at word
boundaries found from the fast tokenizer's offsets. Consecutive chunks overlap by the previous
chunk's trailing whole sentences (<= `overlap` tokens), else by its last `overlap` tokens.

Cutting only at sentence and word boundaries keeps counts additive for WordPiece tokenizers with
BERT pre-tokenization (the default model): a chunk's own tokenization equals its slice of the
document's. For other tokenizers (BPE, SentencePiece) each chunk is measured on its own text and
shrunk until it fits, which costs one extra tokenizer call per chunk.

Chunks also have a hard cap in characters (`max_chars`): a run the tokenizer cannot split (a word
over its per-word limit is one [UNK] piece, however long) would otherwise become one chunk of any
size; such a chunk is cut at whitespace where it can be, else mid-run.
"""

from __future__ import annotations

import json
import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ingest.load import Document
from search.models import Chunk
from search.settings import Settings, resolve_embedding_model

log = logging.getLogger(__name__)

#: Where sentences end: the whitespace after ., ! or ? (plus closing quotes/brackets), right
#: after a CJK full stop, a blank line, and the line break before a markdown heading or a list
#: item. Only the named group (whitespace, possibly empty) separates, so no visible character is
#: ever dropped between sentences. Every alternative starts at one fixed character (never at an
#: optional run of blanks), so a search is linear: `[ \t]*\n` tried at each of 40,000 spaces was not.
_SENTENCE_SEP = re.compile(
    r"""
      [.!?][\"'\u2019\u201d)\]]*(?P<a>\s+)
    | [\u3002\uff01\uff1f][\u300d\u300f\uff09]*(?P<d>\s*)
    | (?P<b>\n[ \t]*\n\s*)
    | (?P<c>\n)(?=[ \t]*(?:\#{1,6}[ \t]|[-*+\u2022][ \t]|\d{1,3}[.)][ \t]))
    """,
    re.VERBOSE,
)
_LINE = re.compile(r"[^\n]+")
_WORD_END = re.compile(r"\S+")
#: Sentences are tokenized in groups of this many characters, so memory stays bounded on big files.
_BATCH_CHARS = 1 << 18
#: Sentences whose per-token offsets are kept at once (the chunker only looks back one chunk).
_DETAIL_CACHE = 16


def sentence_spans(text: str, long_chars: int | None = None, piece_chars: int = 100) -> list[tuple[int, int]]:
    """(start, end) char spans of sentences, stripped of surrounding whitespace, in order.

    A "sentence" longer than `long_chars` (a table, a list, text without punctuation) cannot fit
    one chunk anyway, so it is split at line breaks and then at whitespace into pieces of about
    `piece_chars`: chunks then end at line/word boundaries, and tokenizing the pieces in a batch
    runs in parallel instead of one huge single-threaded call.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in _SENTENCE_SEP.finditer(text):
        sep_start, sep_end = match.span(match.lastgroup or 0)
        if sep_start > pos:
            spans.append((pos, sep_start))
        pos = max(pos, sep_end)
    if pos < len(text):
        spans.append((pos, len(text)))
    out: list[tuple[int, int]] = []
    for start, end in spans:
        span = _strip_span(text, start, end)
        if span is None:
            continue
        if long_chars is None or span[1] - span[0] <= long_chars:
            out.append(span)
            continue
        for line in _LINE.finditer(text, span[0], span[1]):
            line_span = _strip_span(text, *line.span())
            if line_span is None:
                continue
            if line_span[1] - line_span[0] <= long_chars:
                out.append(line_span)
            else:
                out.extend(_word_pieces(text, *line_span, piece_chars))
    return out


def _word_pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Split [start, end) at whitespace into pieces of about `size` chars (a longer single word
    stays whole; the token-level cutter deals with it)."""
    pieces: list[tuple[int, int]] = []
    piece_start = piece_end = start
    for word in _WORD_END.finditer(text, start, end):
        if word.end() - piece_start > size and piece_end > piece_start:
            pieces.append((piece_start, piece_end))
            piece_start = word.start()
        piece_end = word.end()
    if piece_end > piece_start:
        pieces.append((piece_start, piece_end))
    return pieces


def _backend_of(tokenizer: Any) -> Any:
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


def _word_additive(backend: Any) -> bool:
    """True when cutting text between pre-tokenizer words cannot change the token count."""
    from tokenizers import models, pre_tokenizers

    pre = backend.pre_tokenizer
    return isinstance(backend.model, models.WordPiece) and isinstance(
        pre, pre_tokenizers.BertPreTokenizer | pre_tokenizers.Whitespace | pre_tokenizers.WhitespaceSplit
    )


def max_seq_length(model_path: str, tokenizer: Any = None) -> int | None:
    """The model's input limit in tokens (special tokens included), from sentence-transformers'
    config when the model is a local folder, else from the tokenizer's `model_max_length`."""
    config = Path(model_path) / "sentence_bert_config.json"
    if config.is_file():
        try:
            value = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
            if isinstance(value, int) and value > 0:
                return value
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s: %s", config, exc)
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1_000_000:
        return limit
    return None


class Chunker:
    """Splits documents into `Chunk`s of at most `chunk_tokens` tokens of the embedding model and
    at most `max_chars` characters (0: no character cap)."""

    def __init__(
        self,
        tokenizer: Any,
        chunk_tokens: int = 200,
        overlap: int = 32,
        max_model_tokens: int | None = None,
        max_chars: int = Settings.chunk_max_chars,
    ) -> None:
        if max_chars < 0:
            raise ValueError(f"max_chars must be 0 (no cap) or more, got {max_chars}")
        if chunk_tokens < 1:
            raise ValueError(f"chunk_tokens must be at least 1, got {chunk_tokens}")
        if not 0 <= overlap < chunk_tokens:
            raise ValueError(f"overlap must be in [0, chunk_tokens={chunk_tokens}), got {overlap}")
        if max_model_tokens is not None and chunk_tokens > max_model_tokens:
            log.warning(
                "chunk_tokens %d is over the model's %d-token input limit; using %d",
                chunk_tokens,
                max_model_tokens,
                max_model_tokens,
            )
            chunk_tokens = max(1, max_model_tokens)
            if overlap >= chunk_tokens:
                overlap = chunk_tokens // 4
                log.warning("overlap reduced to %d tokens to stay below chunk_tokens", overlap)
        self.tokenizer = tokenizer
        self.chunk_tokens = chunk_tokens
        self.overlap = overlap
        self.max_model_tokens = max_model_tokens
        self.max_chars = max_chars
        self._backend = _backend_of(tokenizer)
        self._additive = _word_additive(self._backend)
        # A sentence of over 6 chars per budget token surely exceeds a chunk (English: ~4.5/token).
        self._long_chars = max(512, 6 * chunk_tokens)
        self._piece_chars = max(48, chunk_tokens // 2)

    @classmethod
    def for_model(
        cls,
        model_name_or_path: str,
        chunk_tokens: int,
        overlap: int,
        max_chars: int = Settings.chunk_max_chars,
    ) -> Chunker:
        """The chunker for an embedding model: its tokenizer, and its input limit minus the special
        tokens the model adds ([CLS] and [SEP] for BERT-style models)."""
        from transformers import AutoTokenizer

        path = resolve_embedding_model(model_name_or_path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError(f"{model_name_or_path}: no fast tokenizer available; chunking needs one")
        limit = max_seq_length(path, tokenizer)
        max_tokens = None
        if limit is not None:
            max_tokens = limit - tokenizer.num_special_tokens_to_add(pair=False)
        return cls(tokenizer, chunk_tokens, overlap, max_model_tokens=max_tokens, max_chars=max_chars)

    def count_tokens(self, text: str) -> int:
        """Tokens the embedding model sees for `text`, special tokens excluded."""
        return len(self._backend.encode(text, add_special_tokens=False))

    def chunk(self, doc: Document) -> list[Chunk]:
        """Chunks of one document, in order, with exact char spans into `doc.text`."""
        text = "\n\n".join(doc.pages)
        page_starts: list[int] = []
        offset = 0
        for page in doc.pages:
            page_starts.append(offset)
            offset += len(page) + 2
        spans = [
            (seg_start + s, seg_start + e)
            for seg_start, seg_end in self._segments(doc, page_starts, len(text))
            for s, e in self._token_spans(text[seg_start:seg_end])
        ]
        spans = self._cap_chars(text, spans)
        chunks = []
        for i, (start, end) in enumerate(spans):
            first = last = None
            if doc.paged:
                first = bisect_right(page_starts, start)
                last = bisect_right(page_starts, end - 1)
            chunks.append(
                Chunk(
                    id=f"{doc.doc_id}:{i:05d}",
                    doc_id=doc.doc_id,
                    source=doc.source,
                    title=doc.title,
                    text=text[start:end],
                    page_start=first,
                    page_end=last,
                    char_start=start,
                    char_end=end,
                )
            )
        return chunks

    def _segments(self, doc: Document, page_starts: list[int], total: int) -> list[tuple[int, int]]:
        """Char ranges chunked independently: one per page for paged documents, so a hit cites the
        page it came from; a page under a quarter of a chunk joins the next (a title page, a
        caption) rather than becoming a scrap, and only then does a chunk span pages."""
        if not doc.paged or len(doc.pages) < 2:
            return [(0, total)]
        floor = max(1, self.chunk_tokens // 4)
        segments: list[tuple[int, int]] = []
        seg_start, seg_tokens = 0, 0
        for i, page in enumerate(doc.pages):
            seg_tokens += self.count_tokens(page)
            end = page_starts[i] + len(page)
            if seg_tokens >= floor or i == len(doc.pages) - 1:
                segments.append((seg_start, end))
                seg_start, seg_tokens = end + 2, 0
        return segments

    # --- token space ---------------------------------------------------------------------------

    def _token_spans(self, text: str) -> list[tuple[int, int]]:
        """Char spans of chunks, stripped of surrounding whitespace, in order."""
        sentences = sentence_spans(text, self._long_chars, self._piece_chars)
        if not sentences:
            return []
        doc = _TokenSpace(text, sentences, self._backend)
        if doc.n_tokens == 0:
            return []
        result: list[tuple[int, int]] = []
        start = prev_end = 0
        while True:
            budget = self.chunk_tokens
            while True:
                start, end = self._choose(doc, start, prev_end, budget)
                span = _strip_span(text, doc.char_start(start), doc.char_end(end - 1))
                if span is None or self._additive:
                    break
                # Counts of cut text may differ from its slice of the document (BPE, SentencePiece):
                # measure the chunk itself and retry with a smaller budget until it fits.
                excess = self.count_tokens(text[span[0] : span[1]]) - self.chunk_tokens
                if excess <= 0:
                    break
                budget -= excess
                if budget < 1:
                    log.warning("chunk at char %d needs a forced split to fit the token budget", span[0])
                    result.extend(self._split_to_fit(text, *span))
                    span = None
                    break
            if span is not None:
                result.append(span)
            if end >= doc.n_tokens:
                return result
            start, prev_end = self._next_start(doc, start, end), end

    def _choose(self, doc: _TokenSpace, start: int, prev_end: int, budget: int) -> tuple[int, int]:
        """The token range [start, end) of the next chunk: end > prev_end (progress) and
        end - start <= budget; `start` moves forward only when the overlap leaves no room."""
        cum, total = doc.cum, doc.n_tokens
        if start + budget <= prev_end:  # only when retrying with a smaller budget
            start = doc.first_cut_from(prev_end - budget // 2, prev_end)
        limit = start + budget
        if limit >= total:
            return start, total
        boundary = cum[bisect_right(cum, limit) - 1]
        if boundary > prev_end:
            return start, boundary
        # No sentence ends in reach: the sentence at prev_end is too long to follow the overlap.
        # If it fits alone, shorten the overlap; else cut it between words.
        sent_end = cum[doc.sentence_of(prev_end) + 1]
        if sent_end - prev_end <= budget:
            start = doc.first_cut_from(sent_end - budget, prev_end)
            return start, cum[bisect_right(cum, start + budget) - 1]
        return start, doc.best_cut(prev_end, limit)

    def _next_start(self, doc: _TokenSpace, start: int, end: int) -> int:
        """Where the chunk after [start, end) begins: its trailing whole sentences that total at
        most `overlap` tokens, else its last `overlap` tokens (from a word start)."""
        if self.overlap == 0:
            return end
        return doc.first_cut_from(max(end - self.overlap, start + 1), end)

    def _cap_chars(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Spans over `max_chars` cut into pieces that fit. A chunk that overlapped a cut one starts
        where the pieces end (no text twice), and every changed span is measured again in tokens:
        a cut inside a run can turn one [UNK] into several word pieces."""
        if self.max_chars <= 0 or all(e - s <= self.max_chars for s, e in spans):
            return spans
        out: list[tuple[int, int]] = []
        for start, end in spans:
            changed = bool(out) and start <= out[-1][0]
            if changed:
                span = _strip_span(text, out[-1][1], end)
                if span is None:
                    continue
                start, end = span
            if end - start <= self.max_chars and not changed:
                out.append((start, end))
                continue
            for s, e in _cut_chars(text, start, end, self.max_chars):
                if self.count_tokens(text[s:e]) > self.chunk_tokens:
                    out.extend(sorted(self._split_to_fit(text, s, e)))
                else:
                    out.append((s, e))
        return out

    def _split_to_fit(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Last resort for non-additive tokenizers: cut by the chunk's own token offsets."""
        pending = [(start, end)]
        out: list[tuple[int, int]] = []
        while pending:
            s, e = pending.pop()
            enc = self._backend.encode(text[s:e], add_special_tokens=False)
            if len(enc) <= self.chunk_tokens:
                out.append((s, e))
                continue
            offsets = enc.offsets
            cut = self.chunk_tokens
            left = _strip_span(text, s, s + offsets[cut - 1][1])
            right = _strip_span(text, s + offsets[cut][0], e)
            pending.extend(span for span in (right, left) if span)
        return out


class _TokenSpace:
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


def _cut_chars(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """[start, end) in pieces of at most `size` chars: cut after the last whitespace in the back
    half of each window, else (one unbroken run) right at `size`."""
    pieces: list[tuple[int, int]] = []
    while end - start > size:
        window = text[start : start + size]
        blank = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
        cut = start + (blank if blank >= max(1, size // 2) else size)
        piece = _strip_span(text, start, cut)
        if piece is not None:
            pieces.append(piece)
        start = cut
        while start < end and text[start].isspace():
            start += 1
    piece = _strip_span(text, start, end)
    if piece is not None:
        pieces.append(piece)
    return pieces


def _strip_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def chunk_documents(chunker: Chunker, docs: Iterable[Document]) -> list[Chunk]:
    """All chunks of several documents, in document order."""
    return [chunk for doc in docs for chunk in chunker.chunk(doc)]
