"""Junk text (mostly punctuation, one repeated token) is refused or left out; real text of every
kind (prose, code, tables, numbers, CJK, the sample corpus, BEIR corpora) is never touched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.junk import drop_junk, file_junk_reason, junk_reason
from ingest.load import MB
from ingest.pipeline import file_sources, run_ingest
from search.backends import open_writer
from search.models import Chunk
from search.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BEIR = ROOT.parent / "shared" / "data" / "beir"  # the shared data beside the checkout

REAL = {
    "prose": "The grid operator added 3.2 GW of battery storage in 2024, mostly in Texas and California.",
    "python": (
        "def merge(a: list[int], b: list[int]) -> list[int]:\n    out = []\n    i = j = 0\n"
        "    while i < len(a) and j < len(b):\n        if a[i] <= b[j]:\n"
        "            out.append(a[i]); i += 1\n"
        "        else:\n            out.append(b[j]); j += 1\n    return out + a[i:] + b[j:]\n"
    ),
    "javascript": "const f = (x) => { if (!x) { return []; } "
    "return x.map((y) => ({ id: y.id, v: [y.a, y.b] })); };",
    "markdown table": "| year | revenue | margin |\n|---|---:|---:|\n| 2021 | 1.2 | 3 % |\n"
    "| 2022 | 1.9 | 4 % |\n| 2023 | 2.4 | 6 % |\n",
    "numbers": "0.12 3.45 6.78 9.01 2.34 5.67 8.90 1.23 4.56 7.89 0.98 7.65 4.32 1.09 8.76 5.43 2.10 9.87",
    "cjk": "検索エンジンは文書を索引し、問い合わせに最も関連する文書を順位付けして返します。"
    "混合検索は語彙の一致と意味の近さを組み合わせます。",
    "chinese": "混合检索结合了关键词匹配和语义相似度，然后由重排序模型对候选结果重新打分。",
    "russian": "Гибридный поиск сочетает BM25 и плотные векторы, а затем переранжирует кандидатов моделью.",
    "latex": r"The loss is $\mathcal{L} = -\sum_i y_i \log \hat{y}_i + \lambda \lVert w \rVert_2^2$"
    r" for $i \in [1, n]$.",
    "json": '{"name": "sample", "version": 3, "tags": ["search", "bm25"], '
    '"limits": {"mb": 50, "chunks": 2000}}',
    "url list": "https://example.org/a/b?c=1 https://example.org/docs/search.html https://example.com/x/y/z",
    "short line": "[[[ ok ]]]",
}

JUNK = {
    "brackets": "[" * 200,
    "dashes and spaces": "- - - - = = = = * * * * " * 20,
    "one word": "buy " * 100,
    "one word, punctuated": "spam, spam. SPAM! " * 40,
    "one character": "a" * 500,
    "emoji": "🙂" * 100,
}


@pytest.mark.parametrize("kind", list(REAL))
def test_real_text_is_kept(kind: str) -> None:
    assert junk_reason(REAL[kind]) is None


@pytest.mark.parametrize("kind", list(JUNK))
def test_junk_is_named(kind: str) -> None:
    reason = junk_reason(JUNK[kind])
    assert reason is not None
    expected = "punctuation" if kind in {"brackets", "dashes and spaces", "emoji"} else "repeated"
    assert expected in reason


def test_a_file_reason_names_the_setting() -> None:
    reason = file_junk_reason("[" * 100_000)
    assert reason is not None and "junk_filter" in reason and "0% letters or digits" in reason
    assert file_junk_reason(REAL["prose"] * 50) is None


def _chunk(i: int, text: str) -> Chunk:
    return Chunk(id=f"d:{i:05d}", doc_id="d", source="d.md", title="d", text=text)


def test_junk_chunks_are_dropped_and_ids_kept() -> None:
    chunks = [_chunk(0, REAL["prose"]), _chunk(1, "[" * 200), _chunk(2, REAL["python"])]
    kept, dropped = drop_junk(chunks)
    assert dropped == 1 and [c.id for c in kept] == ["d:00000", "d:00002"]


def test_sample_corpus_loses_nothing() -> None:
    from ingest.load import load_file

    texts = [p for p in (ROOT / "data" / "sample").rglob("*") if p.suffix in {".md", ".txt"}]
    assert len(texts) >= 20
    for path in texts:
        text = "\n".join(load_file(path, max_bytes=MB).pages)
        assert junk_reason(text) is None, path
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        assert all(junk_reason(p) is None for p in paragraphs), path


@pytest.mark.parametrize("name", ["scifact", "cosqa", "nfcorpus"])
def test_beir_corpora_lose_nothing(name: str) -> None:
    """Every document of the shared BEIR corpora (science abstracts, code with its docstring,
    medical text) is kept."""
    path = BEIR / name / "corpus.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is not on this machine")
    flagged, count = [], 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            count += 1
            if junk_reason(f"{doc.get('title', '')}\n{doc['text']}") is not None:
                flagged.append(doc["_id"])
    assert count > 1000 and flagged == []


class FakeEmbedder:
    """Unit vectors from a seeded generator: the pipeline's bookkeeping without a model."""

    dim = 8

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        self.texts += list(texts)
        vectors = np.random.default_rng(len(self.texts)).normal(size=(len(texts), self.dim))
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_the_pipeline_refuses_a_flood_and_cuts_junk_out_of_a_real_file(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "flood.md").write_text("[" * 100_000, encoding="utf-8")
    prose = " ".join(f"Sentence {i} tells how the harbour lantern number {i} was lit." for i in range(120))
    (docs / "mixed.md").write_text(f"# Harbour\n\n{prose}\n\n{'[' * 3000}\n\n{prose}", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", isolate_loading=False)
    fake = FakeEmbedder()
    report = run_ingest(
        file_sources([docs], MB)[0], open_writer(settings), settings, embedder=fake, show_progress=False
    )
    assert [Path(a).name for a in report.added] == ["mixed.md"]
    ((name, reason),) = report.skipped
    assert Path(name).name == "flood.md" and "junk_filter" in reason and "punctuation" in reason
    ((source, note),) = report.warnings
    assert Path(source).name == "mixed.md" and "mostly punctuation" in note and "junk_filter" in note
    assert fake.texts and all(junk_reason(t) is None for t in fake.texts)  # no junk was embedded
    assert sum("[" * 50 in t for t in fake.texts) <= 4  # only chunks where prose meets the run

    off = Settings(index_dir=tmp_path / "index-off", isolate_loading=False, junk_filter=False)
    fake_off = FakeEmbedder()
    report_off = run_ingest(
        file_sources([docs], MB)[0], open_writer(off), off, embedder=fake_off, show_progress=False
    )
    assert (
        sorted(Path(a).name for a in report_off.added) == ["flood.md", "mixed.md"] and not report_off.warnings
    )
    assert report_off.new_chunks > report.new_chunks + 500  # the flood's ~595 chunks went in
