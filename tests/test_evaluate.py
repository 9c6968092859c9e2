"""Evaluation end to end on a small BEIR set built here (known answers): the CLI's tables and files,
metrics equal to an independent computation, reranking with an oracle, tuning kept apart from the
evaluated queries, and the app's mark → save → reload → evaluate → tune → apply round trip."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.beir import prepare_beir_index
from search import judgments
from search.backends import open_backend
from search.evaluate.__main__ import main
from search.evaluate.index import apply_fusion, evaluate_index, tune_index
from search.evaluate.report import metric_table, recommend_default, render_markdown
from search.evaluate.runner import (
    S_ADAPTIVE,
    S_BM25,
    S_DENSE,
    S_HYBRID,
    S_MINMAX,
    S_TUNED,
    evaluate_searcher,
    reranked,
)
from search.fusion_config import load_fusion
from search.metrics import doc_ranking, evaluate_run, run_from_ranking
from search.models import FusionParams
from search.pipeline import Searcher
from search.rerank.base import RerankResult
from search.settings import Settings

# (doc id, title, text); the relevant document of each topic carries the query's rare words.
TOPICS = {
    "volcano": (
        "Volcanic eruptions",
        "Magma rises through the crust and erupts as lava from a volcano crater.",
    ),
    "tides": (
        "Ocean tides",
        "The moon's gravity pulls the oceans and causes high and low tides twice a day.",
    ),
    "bees": ("Honey bees", "Honey bees collect nectar and pollen and make honey in wax combs in the hive."),
    "chess": ("Chess openings", "The Sicilian defence is a chess opening answering the king's pawn move."),
    "bread": ("Baking bread", "Yeast ferments the dough so sourdough bread rises before baking in an oven."),
    "comets": ("Comets", "A comet is an icy body whose tail of gas and dust points away from the sun."),
    "violin": ("Violin making", "Luthiers carve spruce tops and maple backs to build a violin and its bow."),
    "coffee": ("Coffee roasting", "Roasting green coffee beans turns them brown and develops their aroma."),
    "glacier": ("Glaciers", "A glacier is a slow river of ice that carves valleys as it flows downhill."),
    "penguin": ("Penguins", "Emperor penguins huddle together to survive the Antarctic winter on the ice."),
    "rust": ("Rust and corrosion", "Iron reacts with oxygen and water to form rust, a reddish oxide."),
    "origami": ("Origami", "Origami is the art of folding a single square sheet of paper into a crane."),
}
FILLER = (
    "This page is part of a general knowledge collection with short articles on many subjects. "
    "Each article gives a brief overview for curious readers and students. "
)
QUERIES = {
    "volcano": "how does lava erupt from a volcano",
    "tides": "why are there tides in the ocean",
    "bees": "how do bees make honey",
    "chess": "what is the sicilian defence in chess",
    "bread": "why does sourdough bread rise",
    "comets": "why does a comet have a tail",
    "violin": "what wood is a violin made of",
    "coffee": "what happens when coffee beans are roasted",
    "glacier": "how does a glacier carve a valley",
    "penguin": "how do emperor penguins survive winter",
    "rust": "what makes iron rust",
    "origami": "how to fold a paper crane",
}
TEST_TOPICS = ["volcano", "tides", "bees", "chess", "bread", "comets", "violin", "coffee"]
DEV_TOPICS = ["glacier", "penguin", "rust", "origami"]


def write_beir(folder: Path) -> Path:
    """12 relevant documents (one, `long-volcano`, several chunks long with its answer at the end),
    24 distractors sharing only generic words, 12 queries: 8 test (one also in dev), 4 dev."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = []
    for topic, (title, text) in TOPICS.items():
        doc_id = "long-volcano" if topic == "volcano" else f"rel-{topic}"
        body = (FILLER * 12 + text) if topic == "volcano" else text
        docs.append({"_id": doc_id, "title": title, "text": body})
        for j in range(2):
            docs.append(
                {
                    "_id": f"noise-{topic}-{j}",
                    "title": f"Notes {topic} {j}",
                    "text": FILLER + f"Item {j} of the list; see the index for more articles.",
                }
            )
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    queries = [{"_id": f"q-{t}", "text": q} for t, q in QUERIES.items()]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels").mkdir(exist_ok=True)

    def qrels(topics: Sequence[str]) -> str:
        rows = [f"q-{t}\t{'long-volcano' if t == 'volcano' else f'rel-{t}'}\t1" for t in topics]
        return "query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n"

    (folder / "qrels" / "test.tsv").write_text(
        qrels([*TEST_TOPICS, "glacier"]) + "q-tides\tnoise-tides-0\t0\n"
    )
    (folder / "qrels" / "dev.tsv").write_text(qrels(DEV_TOPICS))
    return folder


class OracleReranker:
    """Scores a chunk 1 when its title is that of the query's relevant document, else 0; records
    every (query, text) pair it sees so a test can check nothing is scored twice."""

    name = "oracle"
    backend = "test"
    device = "cpu"

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.answer = {QUERIES[t]: TOPICS[t][0] for t in TOPICS}

    def score(self, query: str, documents: Sequence[str], progress: object = None) -> RerankResult:
        self.seen += [(query, d) for d in documents]
        title = self.answer.get(query.lower())
        return RerankResult([1.0 if d.split("\n", 1)[0] == title else 0.0 for d in documents])


@pytest.fixture(scope="module")
def beir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beir(tmp_path_factory.mktemp("beir") / "tiny")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(chunk_tokens=64, chunk_overlap=8, reranker="none", max_query_chars=100_000)


@pytest.fixture(scope="module")
def index_settings(beir: Path, settings: Settings, embedder, tmp_path_factory) -> Settings:
    return prepare_beir_index(
        beir, settings, tmp_path_factory.mktemp("cache"), embedder=embedder, show_progress=False
    )


def searcher_for(s: Settings, embedder, reranker=None) -> Searcher:
    return Searcher(open_backend(s), embedder, s, reranker, None, fusion=FusionParams())


def test_long_document_is_several_chunks(index_settings: Settings) -> None:
    chunks = [c for c in open_backend(index_settings).all_chunks() if c.doc_id == "long-volcano"]
    assert len(chunks) >= 3


def test_cli_prints_tables_writes_files_and_metrics_match_an_independent_computation(
    beir: Path,
    settings: Settings,
    embedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("search.embedding.make_embedder", lambda *a, **k: embedder)
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = [
        "--beir",
        str(beir),
        "--reranker",
        "none",
        "--out",
        str(out),
        "--cache",
        str(cache),
        "--chunk-tokens",
        "64",
        "--chunk-overlap",
        "8",
        "--tune-on",
        "nosuch,dev",
        "--no-grid",
        "-q",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    for title in ("## NDCG@10", "## Recall@100", "## MRR@10", "## Latency", "## Tuned fusion"):
        assert title in text
    header = next(line for line in text.splitlines() if line.startswith("| data set | queries"))
    # the default is adaptive; the former default (min-max 0.6) stands beside it for comparison
    assert header == (
        "| data set | queries | BM25 | Dense | Hybrid (default) | Hybrid (min-max 0.6, former default) "
        "| Hybrid (tuned) |"
    )
    assert "| tiny (test) | 8 |" in text  # glacier is a dev query: left out of the test split
    assert "1 queries of dev also in test: left out of the evaluation" in text

    data = json.loads((out / "results.json").read_text())
    (ds,) = data["datasets"]
    assert ds["split"] == "test" and ds["n_queries"] == 8
    assert set(ds["per_query"][S_BM25]) == {f"q-{t}" for t in TEST_TOPICS}
    tuning = ds["tuning"]
    assert tuning["split"] == "dev" and tuning["n_queries"] == 4
    assert not set(tuning["query_ids"]) & set(ds["per_query"][S_BM25])
    # four dev queries are too few to choose a fusion: nothing is recommended, nothing stored
    assert tuning["refusal"].startswith("only 4 judged queries")
    assert FusionParams.from_dict(tuning["params"]).source == "default"
    index_dir = next(p for p in cache.iterdir() if p.is_dir())
    assert not (index_dir / "fusion.json").exists()

    # the BM25 column, recomputed from the backend alone, with ranx
    s = replace(settings, index_dir=index_dir)
    backend = open_backend(s)
    doc_of = {c.id: c.doc_id for c in backend.all_chunks()}
    queries, qrels = judgments.load(index_dir, "test")
    queries = {q: t for q, t in queries.items() if q in ds["per_query"][S_BM25]}
    qrels = {q: qrels[q] for q in queries}
    run = {
        q: run_from_ranking(doc_ranking(backend.lexical_search(t, 100), doc_of)) for q, t in queries.items()
    }
    expected = evaluate_run(qrels, run)
    for metric, value in expected.items():
        assert ds["scores"][S_BM25][metric] == pytest.approx(value, abs=1e-9)
    assert ds["scores"][S_BM25]["ndcg@10"] > 0.8  # the answers share rare words with the queries
    for system in (S_BM25, S_DENSE, S_HYBRID, S_TUNED):
        per_q = ds["per_query"][system]
        assert ds["scores"][system]["ndcg@10"] == pytest.approx(sum(per_q.values()) / len(per_q))
        assert 0.0 <= ds["scores"][system]["recall@100"] <= 1.0

    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0] == "dataset,split,queries,system,metric,value,fusion"
    assert len(rows) == 1 + 5 * 3  # BM25, Dense, Hybrid (adaptive default), former default, tuned
    assert any(r.startswith("tiny,test,8,BM25,ndcg@10,") for r in rows)
    assert (out / "ndcg10.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "bm25" in (out / "latency.csv").read_text()

    # preparing again reuses the cached index: same folder, same version, nothing re-embedded
    version = (index_dir / "CURRENT").read_text()
    again = prepare_beir_index(beir, s, cache, embedder=embedder, show_progress=False)
    assert Path(again.index_dir) == index_dir
    assert (index_dir / "CURRENT").read_text() == version
    assert [p.name for p in cache.iterdir() if p.is_dir()] == [index_dir.name]


def test_oracle_reranker_improves_every_list_and_scores_each_chunk_once(
    index_settings: Settings, embedder
) -> None:
    oracle = OracleReranker()
    searcher = searcher_for(index_settings, embedder, oracle)
    queries, qrels = judgments.load(Path(index_settings.index_dir), "test")
    report = evaluate_searcher(searcher, queries, qrels, name="tiny", split="test", show_progress=False)
    assert S_MINMAX in report.systems and reranked(S_MINMAX) not in report.systems  # compared, not reranked
    assert [s for s in report.systems if s not in (S_MINMAX, S_ADAPTIVE)] == [
        S_BM25,
        S_DENSE,
        S_HYBRID,
        reranked(S_BM25),
        reranked(S_DENSE),
        reranked(S_HYBRID),
    ]
    for system in (S_BM25, S_DENSE, S_HYBRID):
        before, after = report.score(system), report.score(reranked(system))
        assert after >= before - 1e-12
        # the oracle puts the answer first whenever the first stage found it
        assert after == pytest.approx(report.score(system, "recall@100"))
    assert report.score(reranked(S_HYBRID)) == pytest.approx(1.0)
    union = 0  # one reranker score per (query, chunk): the union of the three lists, no more
    for text in queries.values():
        lists, _ = searcher.retrieve(text, 100)
        union += len({c for ranked in lists.values() for c, _ in ranked})
    assert len(oracle.seen) == union
    assert report.latency_ms["rerank"]["p50"] >= 0.0 and "Hybrid+rerank" in report.latency_ms
    table = metric_table([report])
    assert "| tiny (test) | 9 |" in table and "**1.000**" in table  # the test split here includes glacier


def test_tuning_split_overlapping_the_evaluated_queries_is_refused(
    index_settings: Settings, embedder
) -> None:
    searcher = searcher_for(index_settings, embedder)
    queries, qrels = judgments.load(Path(index_settings.index_dir), "test")
    with pytest.raises(AssertionError, match="share 1 queries"):
        evaluate_searcher(
            searcher,
            queries,
            qrels,
            name="tiny",
            split="test",
            rerank=False,
            tune_queries={"q-tides": QUERIES["tides"]},
            tune_qrels={"q-tides": {"rel-tides": 1}},
            show_progress=False,
        )


def test_app_round_trip_mark_save_reload_evaluate_tune_apply(index_settings: Settings, embedder) -> None:
    index_dir = Path(index_settings.index_dir)
    for topic in ("bees", "comets", "rust"):
        judgments.mark(index_dir, QUERIES[topic].upper(), f"rel-{topic}", 1)
    judgments.mark(index_dir, QUERIES["bees"], "noise-bees-0", 0)
    judgments.mark(index_dir, QUERIES["chess"], "rel-chess", 1)
    judgments.mark(index_dir, QUERIES["chess"], "rel-chess", None)  # unmarked again
    assert judgments.relevant_docs(index_dir, QUERIES["bees"]) == {"rel-bees": 1, "noise-bees-0": 0}

    oracle = OracleReranker()
    searcher = searcher_for(index_settings, embedder, oracle)
    seen: list[tuple[str, int, int]] = []
    report = evaluate_index(
        searcher,
        "user",
        rerank_systems=(S_HYBRID,),
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    assert report.split == "user" and report.n_queries == 3
    assert [s for s in report.systems if s not in (S_MINMAX, S_ADAPTIVE)] == [
        S_BM25,
        S_DENSE,
        S_HYBRID,
        reranked(S_HYBRID),
    ]
    assert len(oracle.seen) <= 3 * 100  # only the hybrid top 100 of each query was reranked
    assert report.score(reranked(S_HYBRID)) >= report.score(S_HYBRID)
    assert report.score(reranked(S_HYBRID)) == pytest.approx(1.0)
    assert seen and seen[-1][1] == seen[-1][2]
    assert "## NDCG@10" in render_markdown([report])

    outcome = tune_index(searcher, "user")
    assert outcome.n_queries == 3 and outcome.folds == 3 and outcome.after is not None
    # three judged queries cannot choose a fusion: tuning says so and keeps the current one
    assert outcome.refusal.startswith("only 3 judged queries") and outcome.params == searcher.fusion
    assert outcome.summary().startswith("no recommendation: only 3 judged queries")
    chosen = FusionParams(mode="weighted", alpha=0.3, source="chosen by hand")
    apply_fusion(searcher, chosen)
    assert searcher.fusion == chosen
    assert load_fusion(index_dir, index_settings) == chosen
    (index_dir / "fusion.json").unlink()


def test_default_recommendation_minimises_the_worst_shortfall(index_settings: Settings, embedder) -> None:
    searcher = searcher_for(index_settings, embedder)
    queries, qrels = judgments.load(Path(index_settings.index_dir), "test")
    a = evaluate_searcher(
        searcher, queries, qrels, name="a", split="test", rerank=False, fixed_grid=True, show_progress=False
    )
    b = evaluate_searcher(
        searcher,
        dict(list(queries.items())[:4]),
        qrels,
        name="b",
        split="test",
        rerank=False,
        fixed_grid=True,
        show_progress=False,
    )
    rec = recommend_default([a, b])
    assert rec is not None
    worst = [w for _, w, _ in rec.ranking]
    assert rec.worst_regret == min(worst)
    assert all(not (p.weighted_rrf and p.alpha in (0.0, 1.0)) for p, _, _ in rec.ranking)
    best_single_a = max(a.score(S_BM25), a.score(S_DENSE))
    assert rec.best_single["a"] == pytest.approx(best_single_a)


def test_smoke_tiny_zerank_reranks_through_the_evaluation(
    index_settings: Settings, embedder, tiny_zerank_path: Path
) -> None:
    from search.rerank.load import load_reranker

    s = replace(
        index_settings, reranker="zerank", reranker_model=str(tiny_zerank_path), reranker_device="cpu"
    )
    reranker, status = load_reranker(s)
    assert reranker is not None, status.reason
    searcher = Searcher(open_backend(s), embedder, s, reranker, status, fusion=FusionParams())
    queries, qrels = judgments.load(Path(s.index_dir), "test")
    report = evaluate_searcher(
        searcher,
        dict(list(queries.items())[:2]),
        qrels,
        name="tiny",
        split="test",
        rerank_depth=10,
        show_progress=False,
    )
    assert reranked(S_HYBRID) in report.systems and "tiny_zerank" in report.reranker
    assert all(0.0 <= report.score(s_) <= 1.0 for s_ in report.systems)


def test_an_empty_query_scores_zero_instead_of_failing(index_settings: Settings, embedder) -> None:
    searcher = searcher_for(index_settings, embedder)
    queries = {"q-bees": QUERIES["bees"], "q-empty": "   "}
    qrels = {"q-bees": {"rel-bees": 1}, "q-empty": {"rel-bees": 1}}
    report = evaluate_searcher(
        searcher, queries, qrels, name="t", split="x", rerank=False, show_progress=False
    )
    assert report.n_queries == 2 and report.per_query[S_BM25]["q-empty"] == 0.0
    assert report.per_query[S_BM25]["q-bees"] == pytest.approx(1.0)
