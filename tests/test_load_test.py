"""The load-test script only targets this machine and computes its figures right."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "load_test", Path(__file__).parents[1] / "bench" / "load_test.py"
)
assert _spec and _spec.loader
load_test = importlib.util.module_from_spec(_spec)
sys.modules["load_test"] = load_test  # dataclasses look their module up
_spec.loader.exec_module(load_test)


@pytest.mark.parametrize(
    "url", ["http://example.com:7860", "http://10.0.0.5:7860", "http://127.0.0.1.evil.net", "file:///etc"]
)
def test_only_local_urls_are_accepted(url: str) -> None:
    with pytest.raises(SystemExit):
        load_test.parse_args(["--url", url])


def test_local_urls_are_accepted() -> None:
    for url in ("http://127.0.0.1:7871", "http://localhost:7860/"):
        assert load_test.parse_args(["--url", url, "--seconds", "1"]).url == url


def test_percentiles_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [load_test.percentile(values, q) for q in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert load_test.percentile([7.0], 99) == 7.0


def test_generated_upload_files(tmp_path: Path) -> None:
    ordinary = load_test.make_files(tmp_path, 2, 10_000, "ordinary")
    hostile = load_test.make_files(tmp_path, 1, 10_000, "hostile")
    assert len(ordinary) == 2 and all(p.stat().st_size >= 10_000 for p in ordinary)
    assert hostile[0].suffix == ".md" and hostile[0].read_text().startswith("# x     ")


def test_query_mix_includes_the_sample_judged_examples() -> None:
    """The default mix makes the server compute NDCG (judged queries), as visitors clicking the
    examples do; "plain" keeps the old unjudged list."""
    import json

    examples = [e["query"] for e in json.loads(load_test.SAMPLE_QUERIES.read_text(encoding="utf-8"))]
    assert load_test.parse_args(["--seconds", "1"]).queries == "mixed"
    assert load_test.query_mix("judged") == examples and examples
    assert set(load_test.query_mix("mixed")) == set(examples) | set(load_test.QUERIES)
    assert not set(load_test.query_mix("plain")) & set(examples)


def test_flood_upload_and_the_probe_options(tmp_path: Path) -> None:
    (flood,) = load_test.make_files(tmp_path, 1, load_test.DEFAULT_BYTES["flood"], "flood")
    assert flood.suffix == ".md" and flood.read_text() == "[" * 100_000
    args = load_test.parse_args(
        ["--ingest-kind", "flood", "--ingest-files", "1", "--clients", "0", "--probe", "3"]
    )
    assert (args.ingest_kind, args.probe, args.probe_delay, args.clients) == ("flood", 3, 5.0, 0)
