"""First-stage lists of the shared BEIR sets, retrieved once and stored, for fusion experiments.

    python -m bench.fusion_lists --beir ../shared/data/beir/scifact [--beir ...] [--cache .eval-cache]

For each set's cached index (built by `python -m search.evaluate`, same cache folder and settings),
every judged query of the test split and of the tuning split (dev, else train) is retrieved once
through the product's own code (`Searcher.check_query`, `IndexBackend.lexical_search` /
`vector_search`): BM25 top-100 with the index's stop words, BM25 top-100 with bm25s's "en_plus"
list (NLTK's 179 words; the index's BM25 rebuilt in memory from the stored chunks, same k1, b and
stemmer), dense top-100, and the query's length in word pieces. Also the top cosine of nonsense
and stop-word-only queries (for the no-match threshold). Written to `<out>/<set>.json`; `bench.fusion_eval`
then scores any fusion of them in seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STOPWORD_QUERIES = ("the", "were did", "what is the", "how many were there", "of and to in", "is it")


def nonsense_queries(n: int = 40, seed: int = 0) -> list[str]:
    """Letter strings no collection contains ("zzqxv" and the like), one to three of them."""
    rng = random.Random(seed)
    out = ["zzqxv"]
    while len(out) < n:
        words = [
            "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9)))
            for _ in range(rng.randint(1, 3))
        ]
        out.append(" ".join(words))
    return out


def dump(folder: Path, cache: Path, out: Path, candidates: int) -> Path:
    from ingest.beir import cache_key
    from search import judgments
    from search.backends import open_backend
    from search.backends.local.lexical import LexicalIndex
    from search.embedding import make_embedder
    from search.evaluate.beir import tuning_split
    from search.metrics import positive_qrels
    from search.settings import Settings

    settings = Settings.from_env()
    index_dir = cache / cache_key(folder, settings)
    s = replace(settings, index_dir=index_dir)
    backend = open_backend(s)
    embedder = make_embedder(s)
    chunks = backend.all_chunks()
    bm = backend.manifest["bm25"]
    plus = LexicalIndex.build(
        [c.indexed_text() for c in chunks], k1=bm["k1"], b=bm["b"], stemmer=bm["stemmer"], stopwords="en_plus"
    )
    test_q, test_rels = judgments.load(index_dir, judgments.resolve_split(index_dir, "test") or "test")
    tune_name = tuning_split(index_dir, ("dev", "train"))
    tune_q, tune_rels = judgments.load(index_dir, tune_name) if tune_name else ({}, {})
    test_j, tune_j = positive_qrels(test_rels), positive_qrels(tune_rels)
    splits = {
        "test": {q: t for q, t in test_q.items() if q in test_j and q not in tune_q},
        "tune": {q: t for q, t in tune_q.items() if q in tune_j},
    }
    data: dict = {"name": folder.name, "tune_split": tune_name, "qrels": {}, "queries": {}, "doc_of": {}}
    seen: set[str] = set()
    for split, queries in splits.items():
        for qid, text in queries.items():
            query = " ".join(str(text).split())
            vec = embedder.embed_query(query)
            lists = {
                "bm25": backend.lexical_search(query, candidates),
                "dense": backend.vector_search(vec, candidates),
                "bm25_plus": [(chunks[i].id, sc) for i, sc in plus.search(query, candidates)],
            }
            data["queries"][qid] = {
                "split": split,
                "wordpieces": embedder.count_tokens(query),
                "max_tokens": embedder.max_tokens,
                **{k: [[c, round(float(v), 6)] for c, v in lst] for k, lst in lists.items()},
            }
            data["qrels"][qid] = (test_j if split == "test" else tune_j)[qid]
            seen.update(c for lst in lists.values() for c, _ in lst)
    data["doc_of"] = {c.id: c.doc_id for c in backend.get_chunks(sorted(seen))}
    probes = {}
    for kind, queries in (("nonsense", nonsense_queries()), ("stopwords", STOPWORD_QUERIES)):
        rows = []
        for q in queries:
            dense = backend.vector_search(embedder.embed_query(q), 10)
            rows.append({"q": q, "bm25": len(backend.lexical_search(q, 10)), "top_cos": dense[0][1]})
        probes[kind] = rows
    data["probes"] = probes
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{folder.name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--beir", type=Path, action="append", required=True)
    p.add_argument("--cache", type=Path, default=Path(".eval-cache"))
    p.add_argument("--out", type=Path, default=Path("bench/out/fusion-lists"))
    p.add_argument("--candidates", type=int, default=100)
    args = p.parse_args()
    for folder in args.beir:
        print("wrote", dump(folder, args.cache, args.out, args.candidates), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
