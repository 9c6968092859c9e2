"""Presenting evaluation results: markdown tables, CSV, JSON and a bar chart (no computation here
beyond choosing the default fusion from measured numbers).

Tables have one row per data set and one column per system, one table per metric, so a reader sees
at a glance what reranking adds to each first stage and where fusion helps or hurts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.atomic import write_atomic
from search.evaluate.runner import RERANK_SUFFIX, S_HYBRID, S_MINMAX, S_TUNED, DatasetReport
from search.metrics import HEADLINE
from search.models import FusionParams
from search.tuning import RULE

METRIC_TITLES = {"ndcg@10": "NDCG@10", "recall@100": "Recall@100", "mrr@10": "MRR@10"}
LATENCY_ROWS = ("embed", "bm25", "dense", "fusion", "rerank")
#: Stage columns say what the stage does, apart from the systems' end-to-end totals ("BM25 (total)").
STAGE_NAMES = {
    "embed": "embed query",
    "bm25": "BM25 lookup",
    "dense": "dense lookup",
    "fusion": "fusion",
    "rerank": "rerank",
}
LATENCY_NOTE = (
    "Stages are timed one by one; a system's total adds the stages it needs "
    "(Dense = embed query + dense lookup; Hybrid = all four; +rerank adds the rerank)."
)


def system_columns(reports: Sequence[DatasetReport]) -> list[str]:
    """Every system any data set reports, in the reports' order."""
    return list(dict.fromkeys(s for r in reports for s in r.systems))


def column_title(system: str, reports: Sequence[DatasetReport]) -> str:
    """ "Hybrid" reads "Hybrid (default)" when a tuned column stands beside it."""
    tuned = any(S_TUNED in r.systems for r in reports)
    if tuned and system in (S_HYBRID, S_HYBRID + RERANK_SUFFIX):
        return system.replace(S_HYBRID, "Hybrid (default)", 1)
    if system == S_MINMAX:
        return "Hybrid (min-max 0.6, former default)"
    return system


def metric_table(reports: Sequence[DatasetReport], metric: str = HEADLINE, digits: int = 3) -> str:
    """Markdown table: data sets x systems, the best first-stage and best overall value in bold."""
    columns = system_columns(reports)
    head = ["data set", "queries", *(column_title(c, reports) for c in columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for r in reports:
        values = {c: r.score(c, metric) for c in columns}
        best = max((v for v in values.values() if v is not None), default=None)
        cells = []
        for c in columns:
            v = values[c]
            text = "–" if v is None else f"{v:.{digits}f}"
            cells.append(f"**{text}**" if v is not None and best is not None and v >= best - 1e-12 else text)
        lines.append("| " + " | ".join([f"{r.name} ({r.split})", str(r.n_queries), *cells]) + " |")
    return "\n".join(lines)


def latency_table(reports: Sequence[DatasetReport]) -> str:
    """Markdown table of per-stage latency per data set: p50 / p95 in milliseconds."""
    stages = [s for s in LATENCY_ROWS if any(s in r.latency_ms for r in reports)]
    systems = [s for s in system_columns(reports) if any(s in r.latency_ms for r in reports)]
    cols = stages + systems
    head = ["data set", *(f"{STAGE_NAMES[c]} (stage)" for c in stages), *(f"{c} (total)" for c in systems)]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(cols)) + "|"]
    for r in reports:
        cells = []
        for c in cols:
            lat = r.latency_ms.get(c)
            cells.append("–" if lat is None else f"{lat['p50']:.1f} / {lat['p95']:.1f}")
        lines.append("| " + " | ".join([r.name, *cells]) + " |")
    return "\n".join(lines)


def tuning_lines(reports: Sequence[DatasetReport]) -> list[str]:
    """One line per tuned data set: chosen parameters, on what, and the held-out estimate."""
    out = []
    for r in reports:
        t = r.tuning
        if t is None:
            continue
        res = t.result
        cv = "n/a" if res.cv_score is None else f"{res.cv_score:.3f}"
        out.append(
            f"- {r.name}: {res.params.describe()} — tuned on {res.n_queries} {t.split} queries, "
            f"NDCG@10 there: chosen {res.score:.3f} (grid best {res.best_score:.3f}), "
            f"default {res.baseline_score:.3f}, BM25 {res.bm25_score:.3f}, dense {res.dense_score:.3f}; "
            f"{res.folds}-fold held-out {cv}. "
            f"Evaluated on {r.n_queries} other {r.split} queries."
        )
    if out:
        rules = sorted({r.tuning.result.rule for r in reports if r.tuning}) or [RULE]
        out.append(f"\nRule: {'; '.join(rules)}.")
    return out


def render_markdown(reports: Sequence[DatasetReport], title: str = "Retrieval evaluation") -> str:
    """Everything a person reads: one table per metric, latencies, tuning choices, notes."""
    metrics = list(dict.fromkeys(m for r in reports for m in r.metrics))
    parts = [f"# {title}", ""]
    fusions = sorted({r.fusion.describe() for r in reports})
    rerankers = sorted({r.reranker for r in reports if r.reranker})
    parts.append(
        f"Hybrid{' (default)' if any(r.tuning for r in reports) else ''}: {', '.join(fusions)}. "
        f"Reranker: {', '.join(rerankers) or 'none'}. Ranked in the unit of the judgments: a judged "
        "page or passage, or a document judged as a whole at its best chunk."
    )
    for metric in metrics:
        parts += ["", f"## {METRIC_TITLES.get(metric, metric)}", "", metric_table(reports, metric)]
    parts += ["", "## Latency per query (p50 / p95, ms)", "", latency_table(reports), "", LATENCY_NOTE]
    tuned = tuning_lines(reports)
    if tuned:
        parts += ["", "## Tuned fusion", "", *tuned]
    rec = recommend_default(reports)
    if rec is not None:
        parts += ["", "## Fixed fusion across data sets", "", rec.render()]
    notes = [f"- {r.name}: {n}" for r in reports for n in r.notes]
    if notes:
        parts += ["", "## Notes", "", *notes]
    return "\n".join(parts) + "\n"


def to_json(reports: Sequence[DatasetReport], extra: dict[str, Any] | None = None) -> str:
    rec = recommend_default(reports)
    data = {
        **(extra or {}),
        "datasets": [r.to_dict() for r in reports],
        "recommended_default": rec.to_dict() if rec else None,
    }
    return json.dumps(data, indent=1, ensure_ascii=False)


def to_csv(reports: Sequence[DatasetReport]) -> str:
    """Long format: one row per (data set, system, metric)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "split", "queries", "system", "metric", "value", "fusion"])
    for r in reports:
        for system in r.systems:
            params = r.tuning.result.params if system.startswith(S_TUNED) and r.tuning else r.fusion
            for metric, value in r.scores[system].items():
                w.writerow([r.name, r.split, r.n_queries, system, metric, f"{value:.6f}", params.describe()])
    return buf.getvalue()


def latency_csv(reports: Sequence[DatasetReport]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "stage", "p50_ms", "p95_ms", "mean_ms"])
    for r in reports:
        for stage, lat in r.latency_ms.items():
            w.writerow([r.name, stage, f"{lat['p50']:.3f}", f"{lat['p95']:.3f}", f"{lat['mean']:.3f}"])
    return buf.getvalue()


def bar_chart(reports: Sequence[DatasetReport], path: Path, metric: str = HEADLINE) -> Path:
    """Grouped bars: one group per data set, one bar per system (PNG, headless Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = system_columns(reports)
    n = max(1, len(columns))
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(min(16.0, 2.0 + 0.3 * len(reports) * n), 5.0), dpi=120)
    cmap = plt.get_cmap("tab10")
    bases = list(dict.fromkeys(c.removesuffix(RERANK_SUFFIX) for c in columns))
    for j, system in enumerate(columns):
        xs = [i + (j - (n - 1) / 2) * width for i in range(len(reports))]
        ys = [r.score(system, metric) or 0.0 for r in reports]
        # one colour per first stage; its reranked bar is the same colour, hatched
        color = cmap(bases.index(system.removesuffix(RERANK_SUFFIX)) % 10)
        hatch = "///" if system.endswith(RERANK_SUFFIX) else None
        bars = ax.bar(
            xs,
            ys,
            width,
            label=column_title(system, reports),
            color=color,
            hatch=hatch,
            edgecolor="white",
            linewidth=0.5,
        )
        ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    ax.set_xticks(range(len(reports)), [f"{r.name}\n({r.n_queries} q)" for r in reports])
    ax.set_ylabel(METRIC_TITLES.get(metric, metric))
    top = max((r.score(s, metric) or 0.0 for r in reports for s in columns), default=1.0)
    ax.set_ylim(0, min(1.0, top * 1.15 + 0.02) if top > 0 else 1.0)
    ax.set_title(f"{METRIC_TITLES.get(metric, metric)} per data set and system")
    ax.legend(fontsize=7, ncol=min(n, 4), loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def write_outputs(
    reports: Sequence[DatasetReport], out_dir: Path, extra: dict[str, Any] | None = None
) -> dict[str, Path]:
    """results.json, results.csv, latency.csv, results.md and ndcg10.png in `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "results.json",
        "csv": out / "results.csv",
        "latency_csv": out / "latency.csv",
        "markdown": out / "results.md",
        "png": out / "ndcg10.png",
    }
    write_atomic(paths["json"], to_json(reports, extra))
    write_atomic(paths["csv"], to_csv(reports))
    write_atomic(paths["latency_csv"], latency_csv(reports))
    write_atomic(paths["markdown"], render_markdown(reports))
    bar_chart(reports, paths["png"])
    return paths


@dataclass
class DefaultChoice:
    """The fixed fusion that loses least against the better single retriever over data sets."""

    params: FusionParams
    worst_regret: float  # max over data sets of (better single retriever - this fusion), NDCG@10
    mean_regret: float
    per_dataset: dict[str, float]  # this fusion's NDCG@10
    best_single: dict[str, float]
    ranking: list[tuple[FusionParams, float, float]]  # (params, worst regret, mean regret), best first

    def render(self, top: int = 6) -> str:
        lines = [
            f"Loses least across {len(self.per_dataset)} data sets: **{self.params.describe()}** "
            f"(worst shortfall vs the better single retriever {self.worst_regret:+.3f}, "
            f"mean {self.mean_regret:+.3f}; negative = better than both).",
            "",
            "| fusion | worst shortfall | mean shortfall |",
            "|---|---:|---:|",
        ]
        lines += [f"| {p.describe()} | {w:+.3f} | {m:+.3f} |" for p, w, m in self.ranking[:top]]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params.to_dict(),
            "describe": self.params.describe(),
            "worst_regret": self.worst_regret,
            "mean_regret": self.mean_regret,
            "per_dataset": self.per_dataset,
            "best_single": self.best_single,
            "ranking": [
                {"describe": p.describe(), "params": p.to_dict(), "worst_regret": w, "mean_regret": m}
                for p, w, m in self.ranking
            ],
        }


def recommend_default(reports: Sequence[DatasetReport]) -> DefaultChoice | None:
    """Among the fusions (single retrievers excluded) in every report's grid, the one whose largest
    shortfall against the better of BM25 and dense (same report, NDCG@10) is smallest; ties by mean
    shortfall. Needs at least two data sets with a fixed-configuration grid."""
    with_grid = [r for r in reports if r.fixed_grid]
    if len(with_grid) < 2:
        return None
    best_single = {r.name: max(r.score("BM25") or 0.0, r.score("Dense") or 0.0) for r in with_grid}
    tables = [{_key(p): (p, s) for p, s in r.fixed_grid} for r in with_grid]
    common = set(tables[0]).intersection(*tables[1:])
    ranking = []
    for key in common:
        if _single(tables[0][key][0]):
            continue
        regrets = [best_single[r.name] - t[key][1] for r, t in zip(with_grid, tables, strict=True)]
        ranking.append((tables[0][key][0], max(regrets), sum(regrets) / len(regrets)))
    if not ranking:
        return None
    ranking.sort(key=lambda x: (round(x[1], 9), round(x[2], 9)))
    params, worst, mean_r = ranking[0]
    per = {r.name: t[_key(params)][1] for r, t in zip(with_grid, tables, strict=True)}
    return DefaultChoice(params, worst, mean_r, per, best_single, ranking)


def _key(p: FusionParams) -> tuple:
    return (
        p.mode,
        p.k if p.mode == "rrf" else None,
        round(p.alpha, 6) if (p.mode != "rrf" or p.weighted_rrf) else None,
        p.normalization if p.mode == "weighted" else None,
        p.weighted_rrf if p.mode == "rrf" else None,
    )


def _single(p: FusionParams) -> bool:
    """A weight of 0 on one side: one retriever alone, not a fusion."""
    return (p.mode in ("weighted", "adaptive") or p.weighted_rrf) and p.alpha in (0.0, 1.0)
