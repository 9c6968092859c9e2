"""The plain search command cold, with the reranker policy's default, next to `--no-rerank`, and the
first stage next to the plain script with the same threads.

    python -m bench.rerank_cli [--index DIR] [--repeats 3] [--with-model]

Each `python -m search "q"` runs in a fresh process, offline (HF_HUB_OFFLINE=1), interleaved with
its `--no-rerank` twin. Without --with-model the hub cache is empty (no reranker can load: the
policy must say so without importing torch); with it, a random-weight model of ms-marco-MiniLM-L6-v2's
shape sits in a fake hub cache under the default id, so the command reranks on ONNX Runtime.
Figures: median wall and CPU seconds (children), the ratio, the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT

QUERY = "how much battery storage did the grid operator add"
COMMIT = "0" * 40


def fake_cache(hub: Path, model: Path, repo_id: str = "cross-encoder/ms-marco-MiniLM-L6-v2") -> None:
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    shutil.copytree(model, repo / "snapshots" / COMMIT, dirs_exist_ok=True)


def cold(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of `python -m search ARGS` in a fresh process, and its output."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0, t0 = usage.ru_utime + usage.ru_stime, time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "search", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"python -m search {' '.join(args)} failed: {proc.stderr[-1500:]}")
    return wall, usage.ru_utime + usage.ru_stime - c0, proc.stdout


def cli_side_by_side(index: Path, env: dict[str, str], repeats: int) -> None:
    runs: dict[str, list[tuple[float, float]]] = {"default": [], "--no-rerank": []}
    base = [QUERY, "--index", str(index)]
    cold([*base, "--no-rerank"], env)  # byte-code caches written
    out = ""
    for i in range(repeats):
        order = ["default", "--no-rerank"] if i % 2 == 0 else ["--no-rerank", "default"]
        for name in order:
            wall, cpu, text = cold(base + ([] if name == "default" else ["--no-rerank"]), env)
            runs[name].append((wall, cpu))
            out = text if name == "default" else out
    line = next((x for x in out.splitlines() if x.startswith("reranker:")), "")
    print(f"  {line[:300]}")
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()
    }
    for name, (wall, cpu) in med.items():
        print(f'  python -m search "q" {name:<12} wall {wall:.2f} s  cpu {cpu:.2f} s')
    ratio = med["default"][0] / med["--no-rerank"][0]
    print(
        f"  ratio default / --no-rerank: wall {ratio:.2f}, "
        f"cpu {med['default'][1] / med['--no-rerank'][1]:.2f}"
        f"  (load average {os.getloadavg()[0]:.1f})"
    )


def decision_ms(env: dict[str, str]) -> float:
    """The auto policy's decision offline with nothing cached, in a fresh process (imports excluded)."""
    code = (
        "import time; from search.settings import Settings; from search.rerank.load import load_reranker;"
        "t = time.perf_counter(); load_reranker(Settings()); print((time.perf_counter() - t) * 1000)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def first_stage_vs_plain(index: Path) -> None:
    from dataclasses import replace

    from bench.latency import side_by_side
    from search.pipeline import Searcher
    from search.settings import Settings

    settings = replace(Settings.from_env(), index_dir=index)
    searcher = Searcher.open(settings, with_reranker=False)
    queries = [q["query"] for q in json.loads((ROOT / "data" / "sample_queries.json").read_text("utf-8"))]
    sbs = side_by_side(searcher, queries, settings)
    print(
        f"  first stage, product vs plain script, {len(queries)} sample queries, "
        f"threads {sbs['plain_threads']}:"
    )
    print(
        f"  p50 wall {sbs['product_ms']['p50']:.2f} ms vs {sbs['plain_ms']['p50']:.2f} ms "
        f"(ratio {sbs['ratio_p50']:.2f}); "
        f"p50 cpu {sbs['product_cpu_ms']['p50']:.2f} ms vs {sbs['plain_cpu_ms']['p50']:.2f} ms "
        f"(ratio {sbs['cpu_ratio_p50']:.2f}); load average {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, default=None, help="an index of data/sample (default: built)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-plain", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or Path(tmp) / "index"
        env = {
            k: v for k, v in os.environ.items() if k != "ZEROENTROPY_API_KEY" and not k.startswith("SEARCH_")
        }
        env.update(HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(Path(tmp) / "hub"), PYTHONPATH=str(ROOT))
        if "SEARCH_CACHE_DIR" in os.environ:
            env["SEARCH_CACHE_DIR"] = os.environ["SEARCH_CACHE_DIR"]
        if args.index is None:
            print("building an index of data/sample ...", flush=True)
            subprocess.run(
                [sys.executable, "-m", "ingest", str(ROOT / "data" / "sample"), "--index", str(index)],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        print(f"offline, nothing cached: the auto policy decides in {decision_ms(env):.1f} ms")
        print("offline, nothing cached (no reranker can load):")
        cli_side_by_side(index, env, args.repeats)
        from bench.cross_encoder_speed import build_minilm_cross_encoder

        fake_cache(Path(tmp) / "hub", build_minilm_cross_encoder(Path(tmp) / "model"))
        cold([QUERY, "--index", str(index)], env)  # the one-off ONNX export, not timed
        print("ms-marco-MiniLM-L6-v2's shape in the hub cache (random weights; ONNX Runtime on CPU):")
        cli_side_by_side(index, env, args.repeats)
        if not args.skip_plain:
            first_stage_vs_plain(index)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
