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
from bisect import bisect_right
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ingest.load import Document
from ingest.sentences import cut_chars, sentence_spans, strip_span
from ingest.token_space import TokenSpace, backend_of, word_additive
from search.models import Chunk, page_unit
from search.settings import Settings, resolve_embedding_model

log = logging.getLogger(__name__)


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
        self._backend = backend_of(tokenizer)
        self._additive = word_additive(self._backend)
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
        section_starts = [start for start, _ in doc.sections]
        chunks = []
        for i, (start, end) in enumerate(spans):
            first = last = None
            if doc.paged:
                first = bisect_right(page_starts, start)
                last = bisect_right(page_starts, end - 1)
            in_section = bisect_right(section_starts, start) - 1
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
                    section=doc.sections[in_section][1] if in_section >= 0 else "",
                )
            )
        return chunks

    def _segments(self, doc: Document, page_starts: list[int], total: int) -> list[tuple[int, int]]:
        """Char ranges chunked independently: one per page for paged documents (per slide, per
        section of a document with headings), so a hit cites the page it came from. A PDF page
        under a quarter of a chunk joins the next (a title page, a caption) rather than becoming a
        scrap, and only then does a chunk span pages; slides and sections are units their author
        drew, so they are never joined."""
        text = "\n\n".join(doc.pages)
        if doc.paged and len(doc.pages) > 1:
            bounds = [(start, start + len(page)) for start, page in zip(page_starts, doc.pages, strict=True)]
        elif not doc.paged and doc.sections:
            starts = sorted({0, *(s for s, _ in doc.sections if 0 < s < total)})
            bounds = [(s, e - 2) for s, e in zip(starts, [*starts[1:], total + 2], strict=True)]
        else:
            return [(0, total)]
        if not doc.paged or page_unit(doc.source)[0] != "p.":
            return [(s, e) for s, e in bounds if text[s:e].strip()]
        floor = max(1, self.chunk_tokens // 4)
        segments: list[tuple[int, int]] = []
        seg_start, seg_tokens = 0, 0
        for i, (start, end) in enumerate(bounds):
            seg_tokens += self.count_tokens(text[start:end])
            if seg_tokens >= floor or i == len(bounds) - 1:
                segments.append((seg_start, end))
                seg_start, seg_tokens = end + 2, 0
        return segments

    # --- token space ---------------------------------------------------------------------------

    def _token_spans(self, text: str) -> list[tuple[int, int]]:
        """Char spans of chunks, stripped of surrounding whitespace, in order."""
        sentences = sentence_spans(text, self._long_chars, self._piece_chars)
        if not sentences:
            return []
        doc = TokenSpace(text, sentences, self._backend)
        if doc.n_tokens == 0:
            return []
        result: list[tuple[int, int]] = []
        start = prev_end = 0
        while True:
            budget = self.chunk_tokens
            while True:
                start, end = self._choose(doc, start, prev_end, budget)
                span = strip_span(text, doc.char_start(start), doc.char_end(end - 1))
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

    def _choose(self, doc: TokenSpace, start: int, prev_end: int, budget: int) -> tuple[int, int]:
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

    def _next_start(self, doc: TokenSpace, start: int, end: int) -> int:
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
                span = strip_span(text, out[-1][1], end)
                if span is None:
                    continue
                start, end = span
            if end - start <= self.max_chars and not changed:
                out.append((start, end))
                continue
            for s, e in cut_chars(text, start, end, self.max_chars):
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
            left = strip_span(text, s, s + offsets[cut - 1][1])
            right = strip_span(text, s + offsets[cut][0], e)
            pending.extend(span for span in (right, left) if span)
        return out


def chunk_documents(chunker: Chunker, docs: Iterable[Document]) -> list[Chunk]:
    """All chunks of several documents, in document order."""
    return [chunk for doc in docs for chunk in chunker.chunk(doc)]
