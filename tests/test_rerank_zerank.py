"""ZerankReranker against the tiny random-weight stand-in: exact prompt ids, the exact score
formula (checked against full logits), batching, order, truncation and progress."""

from __future__ import annotations

import importlib.util
import math
import random
from pathlib import Path

import pytest
import torch

from search.rerank.zerank import ZerankReranker, plan_batches, yes_logits

SUFFIX = "<|im_end|>\n<|im_start|>assistant\n"
SUFFIX_IDS = [151645, 198, 151644, 77091, 198]
YES_ID = 9454

QUERY = "how do I reset the router?"
DOCS = [
    "Unplug it.",
    "To reset the router, hold the button on the back for ten seconds until the lights blink.",
    "",
    "  Leading spaces and\n\ntwo newlines.\n",
    "Routers route packets. " * 12,
    "Le routeur se réinitialise avec le bouton. 路由器 リセット 123456",
    "yes Yes YES",
]


def expected_text(query: str, document: str) -> str:
    return f"<|im_start|>system\n{query}<|im_end|>\n<|im_start|>user\n{document}{SUFFIX}"


@pytest.fixture(scope="module")
def reranker(tiny_zerank_path: Path) -> ZerankReranker:
    return ZerankReranker.from_pretrained(str(tiny_zerank_path), device="cpu", local_files_only=True)


def reference_scores(rr: ZerankReranker, query: str, documents: list[str]) -> list[float]:
    """The formula written out the slow, obvious way: one unpadded pair at a time, full logits."""
    out = []
    with torch.no_grad():
        for doc in documents:
            ids = rr.tokenizer(expected_text(query, doc), add_special_tokens=False, return_tensors="pt")
            logits = rr.model(input_ids=ids["input_ids"]).logits
            out.append(1 / (1 + math.exp(-logits[0, -1, YES_ID].item() / 5)))
    return out


def test_expected_text_matches_the_doc() -> None:
    assert expected_text("Q", "D") == (
        "<|im_start|>system\nQ<|im_end|>\n<|im_start|>user\nD<|im_end|>\n<|im_start|>assistant\n"
    )


def test_chat_template_renders_the_documented_prompt(reranker: ZerankReranker) -> None:
    for doc in DOCS:
        messages = [{"role": "system", "content": QUERY}, {"role": "user", "content": doc}]
        text = reranker.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert text == expected_text(QUERY, doc)
        assert "<think>" not in text


def test_yes_token_is_9454(reranker: ZerankReranker) -> None:
    assert reranker.yes_id == YES_ID
    assert reranker.tokenizer.encode("Yes", add_special_tokens=False) == [YES_ID]
    assert reranker.tokenizer.encode("yes", add_special_tokens=False) == [9693]


def test_prompt_ids_equal_tokenized_expected_string(reranker: ZerankReranker) -> None:
    sequences, warnings = reranker.build_inputs(QUERY, DOCS)
    assert warnings == []
    for doc, ids in zip(DOCS, sequences, strict=True):
        expected = reranker.tokenizer(expected_text(QUERY, doc), add_special_tokens=False)["input_ids"]
        assert ids == expected
        assert ids[:3] == [151644, 8948, 198]  # <|im_start|>system\n
        assert ids[-5:] == SUFFIX_IDS


@pytest.fixture(scope="module")
def reference(reranker: ZerankReranker) -> list[float]:
    return reference_scores(reranker, QUERY, DOCS)


@pytest.mark.parametrize("budget", [1, 40, 100, 300, 16384])
def test_scores_equal_reference_for_any_budget(
    reranker: ZerankReranker, reference: list[float], budget: int
) -> None:
    reranker.token_budget = budget
    try:
        got = reranker.score(QUERY, DOCS).scores
    finally:
        reranker.token_budget = 16384
    ref = reference
    assert got == pytest.approx(ref, abs=1e-5)
    assert max(ref) - min(ref) > 0.05  # random weights still separate the documents


def test_budget_controls_batching() -> None:
    lengths = [30, 80, 10, 80, 55, 30]
    assert all(len(b) == 1 for b in plan_batches(lengths, 1))
    assert plan_batches(lengths, 10_000) == [[1, 3, 4, 0, 5, 2]]  # one batch, longest first
    for budget in (80, 160, 200):
        batches = plan_batches(lengths, budget)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        for b in batches:
            assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= budget


def test_yes_logits_match_full_logits_with_padding(reranker: ZerankReranker) -> None:
    sequences, _ = reranker.build_inputs(QUERY, DOCS)
    got = yes_logits(reranker.model, sequences, yes_id=YES_ID, pad_id=reranker.pad_id, token_budget=10_000)
    with torch.no_grad():
        ref = [reranker.model(input_ids=torch.tensor([s])).logits[0, -1, YES_ID].item() for s in sequences]
    assert got == pytest.approx(ref, abs=1e-4)


def test_output_order_is_input_order(reranker: ZerankReranker) -> None:
    base = dict(zip(DOCS, reranker.score(QUERY, DOCS).scores, strict=True))
    rng = random.Random(7)
    for _ in range(3):
        shuffled = DOCS[:]
        rng.shuffle(shuffled)
        reranker.token_budget = rng.choice([1, 64, 512])
        try:
            scores = reranker.score(QUERY, shuffled).scores
        finally:
            reranker.token_budget = 16384
        assert scores == pytest.approx([base[d] for d in shuffled], abs=1e-5)


def test_long_query_and_documents_are_truncated_keeping_the_template(tiny_zerank_path: Path) -> None:
    rr = ZerankReranker.from_pretrained(
        str(tiny_zerank_path), device="cpu", local_files_only=True, max_query_chars=300, max_tokens=64
    )
    long_query = "1 2 3 " * 200  # 1,200 chars, one token per digit and space
    docs = ["word " * 500, "short doc", "\n\n" + "x" * 5000]
    sequences, warnings = rr.build_inputs(long_query, docs)
    assert any("query clipped to 300 characters" in w for w in warnings)
    assert any("query truncated to 32 tokens" in w for w in warnings)
    assert any("2 of 3 documents truncated" in w for w in warnings)
    user_ids = [151645, 198, 151644, 872]  # <|im_end|>\n<|im_start|>user (its \n may merge with the doc's)
    for ids in sequences:
        assert len(ids) <= 64
        assert ids[:3] == [151644, 8948, 198]
        assert ids[-5:] == SUFFIX_IDS
        starts = [i for i in range(len(ids) - 3) if ids[i : i + 4] == user_ids]
        assert len(starts) == 1
        assert starts[0] - 3 == 32  # the query kept exactly max_tokens // 2 tokens
    result = rr.score(long_query, docs)
    assert len(result.scores) == 3 and all(0.0 < s < 1.0 for s in result.scores)
    assert result.warnings == warnings
    assert rr.score("short", ["short doc"]).warnings == []


def test_progress_reaches_total(reranker: ZerankReranker) -> None:
    calls: list[tuple[int, int]] = []
    reranker.token_budget = 64
    try:
        reranker.score(QUERY, DOCS, progress=lambda done, total: calls.append((done, total)))
    finally:
        reranker.token_budget = 16384
    assert len(calls) > 1
    assert calls[-1] == (len(DOCS), len(DOCS))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_empty_document_list(reranker: ZerankReranker) -> None:
    assert reranker.score(QUERY, []).scores == []


def test_attributes(reranker: ZerankReranker, tiny_zerank_path: Path) -> None:
    assert (reranker.name, reranker.backend, reranker.device) == (str(tiny_zerank_path), "zerank", "cpu")
    assert type(reranker.model).__name__ == "Qwen3ForCausalLM"
    assert reranker.model.dtype == torch.float32


def test_speed_bench_runs_tiny_on_cpu(capsys: pytest.CaptureFixture[str], reranker: ZerankReranker) -> None:
    path = Path(__file__).resolve().parents[1] / "bench" / "zerank_speed.py"
    spec = importlib.util.spec_from_file_location("zerank_speed", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    tok = reranker.tokenizer
    for name, text in [("system", "system"), ("user", "user"), ("assistant", "assistant"), ("newline", "\n")]:
        assert tok.convert_tokens_to_ids(tok.tokenize(text)) == [bench.TEMPLATE_IDS[name]]
    bench.main(["--config", "tiny", "--dtype", "fp32", "--chunks", "12", "--tokens", "40", "--repeats", "2"])
    out = capsys.readouterr().out
    assert "median s" in out and "tokens/s" in out
