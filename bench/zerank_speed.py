"""How fast does zerank-1 rerank 100 chunks? Times the app's own scoring core (`yes_logits`) on a
random-weight model with zerank-1's exact Qwen3-4B shape, so no download is needed.

    python bench/zerank_speed.py                                  # GPU, bf16, 100 chunks × ~250 tokens
    python bench/zerank_speed.py --config tiny --dtype fp32       # CPU smoke test

Random weights change nothing about speed: the work per token is the same as the real checkpoint's.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

try:
    from search.rerank.zerank import plan_batches, resolve_device, yes_logits
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from search.rerank.zerank import plan_batches, resolve_device, yes_logits

CONFIGS: dict[str, dict[str, Any]] = {
    # zeroentropy/zerank-1 (Qwen3-4B)
    "qwen3-4b": dict(
        hidden_size=2560,
        num_hidden_layers=36,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        intermediate_size=9728,
        vocab_size=151936,
        tie_word_embeddings=True,
        rope_theta=1000000.0,
        max_position_embeddings=40960,
        rms_norm_eps=1e-6,
    ),
    # the test suite's stand-in (tests/tiny_zerank.py)
    "tiny": dict(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        intermediate_size=128,
        vocab_size=151936,
        tie_word_embeddings=True,
        rope_theta=1000000.0,
        max_position_embeddings=4096,
        rms_norm_eps=1e-6,
    ),
}
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}

#: Qwen token ids of the zerank prompt: <|im_start|>system\n{q}<|im_end|>\n<|im_start|>user\n{d}...
TEMPLATE_IDS = {
    "im_start": 151644,
    "im_end": 151645,
    "newline": 198,
    "system": 8948,
    "user": 872,
    "assistant": 77091,
}
YES_ID = 9454
PAD_ID = 151643  # <|endoftext|>
FIRST_SPECIAL_ID = 151643
QUERY_TOKENS = 16


def build_model(config_name: str, dtype: torch.dtype, device: str, attn: str) -> torch.nn.Module:
    """Random-weight Qwen3ForCausalLM created directly on `device` in `dtype` (no CPU copy)."""
    from transformers import AutoModelForCausalLM, Qwen3Config

    config = Qwen3Config(**CONFIGS[config_name])
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attn)
    return model.eval()


def synthetic_pairs(chunks: int, tokens: int, seed: int) -> list[list[int]]:
    """`chunks` prompts of about `tokens` ids each (±10 %, so batches need padding): random
    ordinary-vocabulary ids for query and document, wrapped in the chat template's ids."""
    rng = random.Random(seed)
    t = TEMPLATE_IDS
    head = [t["im_start"], t["system"], t["newline"]]
    middle = [t["im_end"], t["newline"], t["im_start"], t["user"], t["newline"]]
    tail = [t["im_end"], t["newline"], t["im_start"], t["assistant"], t["newline"]]
    fixed = len(head) + len(middle) + len(tail) + QUERY_TOKENS
    query = [rng.randrange(FIRST_SPECIAL_ID) for _ in range(QUERY_TOKENS)]
    out = []
    for _ in range(chunks):
        n_doc = max(1, round(tokens * rng.uniform(0.9, 1.1)) - fixed)
        doc = [rng.randrange(FIRST_SPECIAL_ID) for _ in range(n_doc)]
        out.append(head + query + middle + doc + tail)
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", choices=sorted(CONFIGS), default="qwen3-4b")
    parser.add_argument("--chunks", type=int, default=100)
    parser.add_argument(
        "--tokens", type=int, default=250, help="approximate tokens per (query, chunk) prompt"
    )
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--budget", type=int, default=16384, help="max padded tokens per batch")
    parser.add_argument("--device", default="auto", help="auto | cuda | cpu")
    parser.add_argument("--attn", default="sdpa", help="attention implementation (sdpa | eager | ...)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    dtype = DTYPES[args.dtype]
    cuda = device.startswith("cuda")
    if not cuda and args.config != "tiny":
        print(
            f"warning: {args.config} on {device} is very slow; use --config tiny for a smoke test", flush=True
        )
    torch.manual_seed(args.seed)

    start = time.perf_counter()
    model = build_model(args.config, dtype, device, args.attn)
    if cuda:
        torch.cuda.synchronize()
    load_s = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    weights_gib = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**30

    sequences = synthetic_pairs(args.chunks, args.tokens, args.seed)
    total_tokens = sum(len(s) for s in sequences)
    n_batches = len(plan_batches([len(s) for s in sequences], args.budget))

    def run() -> list[float]:
        return yes_logits(model, sequences, yes_id=YES_ID, pad_id=PAD_ID, token_budget=args.budget)

    for _ in range(args.warmup):
        logits = run()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        logits = run()  # returns Python floats, so the device has finished
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)

    median = statistics.median(times)
    p95 = float(np.percentile(times, 95))
    per_100 = 100 / args.chunks
    peak_gib = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    where = torch.cuda.get_device_name() if cuda else "cpu"
    finite = sum(np.isfinite(logits))

    print(
        f"zerank speed: config={args.config} ({params / 1e9:.2f} B params), device={where}, "
        f"dtype={args.dtype}, attn={args.attn}, torch {torch.__version__}"
    )
    print(
        f"{args.chunks} chunks, {total_tokens:,} tokens (~{total_tokens / args.chunks:.0f}/chunk), "
        f"token budget {args.budget} -> {n_batches} batches, model built in {load_s:.1f} s, "
        f"{args.repeats} timed runs after {args.warmup} warm-up, {finite}/{len(logits)} finite logits, "
        f"weights {weights_gib:.2f} GiB"
    )
    header = f"{'median s':>10} {'p95 s':>10} {'s/100 chunks':>13} {'tokens/s':>12} {'peak GPU GiB':>13}"
    print(header)
    print("-" * len(header))
    print(
        f"{median:>10.3f} {p95:>10.3f} {median * per_100:>13.3f} {total_tokens / median:>12,.0f} "
        f"{peak_gib:>13.2f}"
    )
    return {"median_s": median, "p95_s": p95, "tokens_per_s": total_tokens / median, "peak_gib": peak_gib}


if __name__ == "__main__":
    main()
