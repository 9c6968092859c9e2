"""zerank-1 run locally with plain transformers, scored exactly as upstream (docs/zerank.md).

The model is a `Qwen3ForCausalLM`; the score of a (query, document) pair is sigmoid(logit("Yes") / 5)
at the last real token of the chat prompt `system = query, user = document`. We never use remote
code or sentence-transformers' CrossEncoder for it (both silently score wrongly), and we never build
the 151,936-wide logits: the final hidden state dotted with the "Yes" row of `lm_head` is the same
number at a fraction of the memory.

The batching/scoring core (`yes_logits`) takes a model and pre-tokenised sequences so the speed
benchmark (bench/zerank_speed.py) times the very code the app runs.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Sequence
from typing import Any

import torch

from search.rerank.base import Progress, RerankResult, clip_pair
from search.rerank.batches import plan_batches
from search.rerank.devices import gpu_dtype, resolve_device

logger = logging.getLogger(__name__)

YES_TOKEN = "Yes"  # capital Y: id 9454 in the Qwen vocabulary ("yes" is Qwen3-Reranker's token)
LOGIT_SCALE = 5.0  # score = sigmoid(logit / 5): keeps the 0–1 score from saturating
MIN_MAX_TOKENS = 32  # below this the template plus half the budget for the query cannot fit

# Private-use characters: pass through any chat template unchanged and never occur in real text.
_QUERY_SENTINEL = "\ue000zerank-query\ue000"
_DOC_SENTINEL = "\ue001zerank-document\ue001"


def dtype_for(device: str) -> torch.dtype:
    """On GPU the dtype it computes natively (bf16, else fp16 with an overflow check in `score`);
    fp32 on CPU (bf16 matmuls are slow on most CPUs)."""
    return gpu_dtype(torch) if device.startswith("cuda") else torch.float32


@torch.inference_mode()
def yes_logits(
    model: Any,
    sequences: Sequence[Sequence[int]],
    *,
    yes_id: int,
    pad_id: int,
    token_budget: int,
    progress: Progress | None = None,
) -> list[float]:
    """Raw "Yes" logit at the last real token of each sequence, in input order.

    Right-pads each length-sorted batch and reads position `attention_mask.sum(1) - 1`; runs the
    decoder only (`model.model`, whose output is already final-normed) and dots that one hidden
    vector with row `yes_id` of `lm_head.weight`, in fp32.
    """
    total = len(sequences)
    if total == 0:
        return []
    decoder = model.model
    yes_row = model.get_output_embeddings().weight[yes_id].float()
    device = yes_row.device
    out = [0.0] * total
    done = 0
    for batch in plan_batches([len(s) for s in sequences], token_budget):
        width = max(len(sequences[i]) for i in batch)
        rows = [list(sequences[i]) + [pad_id] * (width - len(sequences[i])) for i in batch]
        masks = [[1] * len(sequences[i]) + [0] * (width - len(sequences[i])) for i in batch]
        input_ids = torch.tensor(rows, dtype=torch.long).to(device, non_blocking=True)
        attention_mask = torch.tensor(masks, dtype=torch.long).to(device, non_blocking=True)
        hidden = decoder(
            input_ids=input_ids, attention_mask=attention_mask, use_cache=False
        ).last_hidden_state
        last = attention_mask.sum(dim=1) - 1
        final = hidden[torch.arange(len(batch), device=device), last]
        logits = (final.float() @ yes_row).tolist()
        for i, value in zip(batch, logits, strict=True):
            out[i] = value
        done += len(batch)
        if progress is not None:
            progress(done, total)
    return out


def logit_to_score(logit: float) -> float:
    """zerank's published score: sigmoid(logit / 5), in a form that cannot overflow."""
    x = logit / LOGIT_SCALE
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class ZerankReranker:
    """zerank-1 (or zerank-1-small, or any checkpoint of that recipe) loaded once and reused.

    `score()` returns what it had to cut (query clipped or truncated, documents truncated) with
    the scores, one line each, for the caller to show.
    """

    backend = "zerank"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str,
        max_query_chars: int = 2000,
        max_doc_chars: int = 10000,
        max_tokens: int = 1024,
        token_budget: int = 16384,
    ) -> None:
        if max_tokens < MIN_MAX_TOKENS:
            raise ValueError(f"rerank_max_tokens must be at least {MIN_MAX_TOKENS}, got {max_tokens}")
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("zerank needs a fast (Rust) tokenizer for offset mapping")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.device = str(model.get_output_embeddings().weight.device.type)
        self.max_query_chars = max_query_chars
        self.max_doc_chars = max_doc_chars
        self.max_tokens = max_tokens
        self.token_budget = token_budget
        self.yes_id: int = tokenizer.encode(YES_TOKEN, add_special_tokens=False)[0]
        pad = tokenizer.pad_token_id
        self.pad_id: int = pad if pad is not None else (tokenizer.eos_token_id or 0)
        self._pieces = self._template_pieces()

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        *,
        revision: str = "",
        device: str = "auto",
        local_files_only: bool = False,
        **limits: int,
    ) -> ZerankReranker:
        """Load model and tokenizer (hub id or local directory) with transformers, no remote code.

        `limits` are the keyword limits of `__init__` (max_query_chars, max_doc_chars, max_tokens,
        token_budget).
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = resolve_device(device)
        common: dict[str, Any] = {"revision": revision or None, "local_files_only": local_files_only}
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=False, **common)
        load_kwargs: dict[str, Any] = {"dtype": dtype_for(device), "trust_remote_code": False, **common}
        if importlib.util.find_spec("accelerate") is not None:
            load_kwargs["device_map"] = device  # load straight onto the device, no CPU copy
        model = AutoModelForCausalLM.from_pretrained(name_or_path, **load_kwargs)
        if model.config.model_type != "qwen3":
            kind = model.config.model_type
            logger.warning("%s is a %s model, not qwen3: zerank scoring may not apply", name_or_path, kind)
        model = model.to(device).eval()
        logger.info("loaded %s on %s (%s)", name_or_path, device, model.dtype)
        return cls(model, tokenizer, name=name_or_path, **limits)

    def _template_pieces(self) -> tuple[str, str, str]:
        """The chat template's text around the query and the document, found once with sentinels.

        Knowing where query and document sit lets truncation cut only their tokens, never the
        template's closing `<|im_end|>\\n<|im_start|>assistant\\n`. Checked against a real render,
        so a template that rewrites its content is refused rather than silently mis-scored.
        """
        text = self._render(_QUERY_SENTINEL, _DOC_SENTINEL)
        if text.count(_QUERY_SENTINEL) != 1 or text.count(_DOC_SENTINEL) != 1:
            raise ValueError("unsupported chat template: query and document must each appear once")
        head, rest = text.split(_QUERY_SENTINEL)
        middle, tail = rest.split(_DOC_SENTINEL)
        if not middle:
            raise ValueError("unsupported chat template: query must come before the document")
        query, doc = "  What is it?\n", "\n\nA document.\n "
        if self._render(query, doc) != head + query + middle + doc + tail:
            raise ValueError("unsupported chat template: it does not place message content verbatim")
        return head, middle, tail

    def _render(self, query: str, document: str) -> str:
        messages = [{"role": "system", "content": query}, {"role": "user", "content": document}]
        # No enable_thinking argument: forcing it False adds a think block zerank never saw.
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def build_inputs(self, query: str, documents: Sequence[str]) -> tuple[list[list[int]], list[str]]:
        """Token ids of each (query, document) prompt, clipped and truncated, plus warnings.

        Characters first (query to max_query_chars, document to max_doc_chars), then tokens: the
        query keeps at most max_tokens // 2 (the same cut for every document, so scores stay
        comparable) and each document is cut from its end so the prompt fits max_tokens.
        """
        query, docs, warnings = clip_pair(query, documents, self.max_query_chars, self.max_doc_chars)
        if not docs:
            return [], warnings
        head, middle, tail = self._pieces
        texts = [head + query + middle + d + tail for d in docs]
        enc = self.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        q_start = len(head)
        q_end = q_start + len(query)
        d_start = q_end + len(middle)
        query_cap = self.max_tokens // 2
        query_cut = docs_cut = 0
        sequences: list[list[int]] = []
        for ids, offsets, doc in zip(enc["input_ids"], enc["offset_mapping"], docs, strict=True):
            d_end = d_start + len(doc)
            q_idx = [i for i, (s, e) in enumerate(offsets) if s >= q_start and e <= q_end and e > s]
            if len(q_idx) > query_cap:
                query_cut = len(q_idx) - query_cap
                drop = set(q_idx[query_cap:])
                keep = [i for i in range(len(ids)) if i not in drop]
                ids = [ids[i] for i in keep]
                offsets = [offsets[i] for i in keep]
            if len(ids) > self.max_tokens:
                d_idx = [i for i, (s, e) in enumerate(offsets) if s >= d_start and e <= d_end and e > s]
                over = len(ids) - self.max_tokens
                if d_idx:
                    cut = min(over, len(d_idx))
                    first, last = d_idx[-cut], d_idx[-1]
                    ids = ids[:first] + ids[last + 1 :]
                    docs_cut += 1
            sequences.append(ids)
        if query_cut:
            warnings.append(f"query truncated to {query_cap} tokens for reranking")
        if docs_cut:
            warnings.append(f"{docs_cut} of {len(docs)} documents truncated to {self.max_tokens} tokens")
        return sequences, warnings

    def _logits(self, sequences: list[list[int]], progress: Progress | None) -> list[float]:
        return yes_logits(
            self.model,
            sequences,
            yes_id=self.yes_id,
            pad_id=self.pad_id,
            token_budget=self.token_budget,
            progress=progress,
        )

    def score(self, query: str, documents: Sequence[str], progress: Progress | None = None) -> RerankResult:
        """Scores in [0, 1] in input order plus what had to be cut. Callers share it through
        `TimedReranker`, whose model lock also covers the one-off switch from fp16 to fp32."""
        sequences, warnings = self.build_inputs(query, documents)
        logits = self._logits(sequences, progress)
        if self.model.dtype == torch.float16 and not all(math.isfinite(x) for x in logits):
            # fp16 (a GPU without bf16) overflowed somewhere: fp32 from now on, at twice the memory
            logger.warning("zerank: non-finite logits in fp16; switching %s to fp32", self.name)
            self.model = self.model.float()
            logits = self._logits(sequences, progress)
        for line in warnings:
            logger.info("rerank: %s", line)
        return RerankResult([logit_to_score(x) for x in logits], warnings)
