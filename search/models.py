"""The one data model shared by ingest, search, evaluation and the app.

A `Chunk` is what gets indexed; a `Hit` is a chunk as one query saw it, carrying its score and
1-based rank in every stage that returned it, so any view can compare stages without recomputing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

#: Stage names, in pipeline order. `reranked` is absent from a result when reranking did not run.
BM25 = "bm25"
DENSE = "dense"
FUSED = "fused"
RERANKED = "reranked"


class FusionMode(str, Enum):
    """How the BM25 and dense lists are combined (see `FusionParams`)."""

    RRF = "rrf"
    WEIGHTED = "weighted"
    ADAPTIVE = "adaptive"

    def __str__(self) -> str:
        return self.value


class Normalization(str, Enum):
    """How weighted fusion puts the two lists' scores on one scale."""

    MINMAX = "minmax"
    DBSF = "dbsf"

    def __str__(self) -> str:
        return self.value


class Scope(str, Enum):
    """Which collection an app search reads: the main index or the session's own uploads."""

    MAIN = "main"
    MINE = "mine"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class IndexRef:
    """Which index a searcher reads (`path`) and where the state that goes with it lives (`state`:
    its judgments and tuned fusion). They are the same folder, except for a session's private view of
    a read-only shared index, whose marks and tuning stay in the session's folder. `name` is what
    reports call it."""

    path: Path
    state: Path
    name: str

    @classmethod
    def at(cls, path: Path | str, name: str | None = None) -> IndexRef:
        """An index that keeps its own state."""
        folder = Path(path)
        return cls(folder, folder, name or folder.name or str(folder))

    def with_state(self, state: Path, name: str | None = None) -> IndexRef:
        """The same index, its judgments and fusion kept in `state`."""
        return IndexRef(self.path, Path(state), name or self.name)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A contiguous piece of one document, small enough for the embedding model to see whole."""

    id: str
    doc_id: str
    source: str
    title: str
    text: str
    page_start: int | None = None
    page_end: int | None = None
    char_start: int = 0
    char_end: int = 0
    #: The heading path a passage sits under ("3 Dredging programme"), for files with headings but
    #: no pages (.docx); empty otherwise.
    section: str = ""

    @property
    def file_name(self) -> str:
        return PurePath(self.source).name or self.source

    @property
    def pages(self) -> str:
        """`p. 3`, `pp. 3–4` (`slide 3`, `slides 3–4` for a deck), or empty without pages."""
        if self.page_start is None:
            return ""
        one, many = page_unit(self.source)
        if self.page_end is None or self.page_end == self.page_start:
            return f"{one} {self.page_start}"
        return f"{many} {self.page_start}–{self.page_end}"

    def citation(self) -> str:
        """`report.pdf, pp. 3–4`, `deck.pptx, slide 3`, `report.docx, § 3 Dredging programme`."""
        if self.pages:
            return f"{self.file_name}, {self.pages}"
        return f"{self.file_name}, § {self.section}" if self.section else self.file_name

    def indexed_text(self) -> str:
        """What BM25 and the embedding model see: the title (clipped) with the text, as BEIR's
        title + text does for whole documents, so a chunk keeps the context its heading gives."""
        return f"{self.title[:120]}\n{self.text}" if self.title else self.text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


#: What a "page" of a paged source is called in citations, by file suffix (default: a page).
_PAGE_UNITS = {".pptx": ("slide", "slides")}


def page_unit(source: str) -> tuple[str, str]:
    """("p.", "pp.") for PDFs and scans, ("slide", "slides") for slide decks."""
    return _PAGE_UNITS.get(PurePath(source).suffix.lower(), ("p.", "pp."))


@dataclass(slots=True)
class Hit:
    """A chunk as returned for one query: its score and 1-based rank in each stage that returned it."""

    chunk: Chunk
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)

    def rank(self, stage: str) -> int | None:
        return self.ranks.get(stage)

    def score(self, stage: str) -> float | None:
        return self.scores.get(stage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk": self.chunk.to_dict(),
            "citation": self.chunk.citation(),
            "scores": dict(self.scores),
            "ranks": dict(self.ranks),
        }


@dataclass(frozen=True, slots=True)
class FusionParams:
    """How the BM25 and dense lists are combined; stored with an index, so it is data, not code.

    mode "rrf": score = sum over lists of w / (k + rank), ranks 1-based (Cormack et al. 2009), with
    w = 1 - alpha for BM25 and alpha for dense when `weighted_rrf` is on, else 1 for both.
    mode "weighted": score = (1 - alpha) * norm(bm25) + alpha * norm(dense), norm being min-max or
    distribution-based (mean ± 3 std, as Qdrant's DBSF); absent from a list counts as 0.
    mode "adaptive" (`search.adaptive`): weighted min-max, its dense weight alpha scaled per query
    by the share of the query the embedding model read (1 for any query up to 254 word pieces).
    alpha is always the dense weight: 0 is BM25 alone, 1 dense alone.
    """

    mode: FusionMode = FusionMode.RRF
    k: int = 60
    alpha: float = 0.5
    normalization: Normalization = Normalization.MINMAX
    weighted_rrf: bool = False
    source: str = "default"

    def describe(self) -> str:
        if self.mode == "rrf":
            w = f", dense weight {self.alpha:.2f}" if self.weighted_rrf else ""
            return f"RRF k={self.k}{w}"
        if self.mode == "adaptive":
            return f"adaptive, dense weight {self.alpha:.2f} × share of the query the embedder read"
        return f"weighted {self.normalization}, dense weight {self.alpha:.2f}"

    def __post_init__(self) -> None:
        # stored JSON and UI values arrive as strings: unknown ones fail here, naming the field
        object.__setattr__(self, "mode", _enum(FusionMode, self.mode, "fusion mode"))
        object.__setattr__(
            self, "normalization", _enum(Normalization, self.normalization, "fusion normalization")
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mode"], data["normalization"] = self.mode.value, self.normalization.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FusionParams:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _enum(kind: type[Enum], value: Any, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        choices = " | ".join(str(m.value) for m in kind)  # type: ignore[attr-defined]
        raise ValueError(f"unknown {what} {value!r} (expected {choices})") from None


@dataclass(frozen=True, slots=True)
class RerankAttempt:
    """One candidate the reranker policy passed over: what it is, why not, and the setting that fixes it."""

    candidate: str
    reason: str
    fix: str


@dataclass(frozen=True, slots=True)
class RerankerStatus:
    """What the UI and CLI say about the reranker: which, where, and why not when it is off.

    `choice` is the policy's one line ("zerank-1 on cuda", "none: ..."), `attempts` the candidates it
    passed over before settling; both empty when the `reranker` setting named a backend explicitly."""

    name: str
    backend: str
    device: str = ""
    loaded: bool = False
    reason: str = ""
    choice: str = ""
    attempts: tuple[RerankAttempt, ...] = ()

    def line(self) -> str:
        if self.choice:
            return self.choice
        if self.loaded:
            return f"{self.name} ({self.backend}, {self.device})"
        return f"reranking unavailable: {self.reason}" if self.reason else "reranking off"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MatchQuality:
    """How well anything matched a query (`search.match`): "none" (no query word in any document and
    no passage close in meaning), "weak" (one retriever found something) or "good"; `message` is
    what app, CLI and API say above the list (empty when good)."""

    level: str
    message: str = ""
    top_similarity: float | None = None
    lexical: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SearchResult:
    """Every stage of one query, so a caller can show what each stage did and what reranking changed."""

    query: str
    stages: dict[str, list[Hit]]
    timings_ms: dict[str, float]
    fusion: FusionParams
    reranker: RerankerStatus | None = None
    warnings: list[str] = field(default_factory=list)
    fusion_note: str = ""  # which fusion ran on this query and why ("dense weight 0.19: long query, ...")
    match: MatchQuality | None = None

    @property
    def final(self) -> list[Hit]:
        """The list a user should read: reranked when reranking ran, else fused."""
        return self.stages.get(RERANKED) or self.stages.get(FUSED, [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "stages": {name: [h.to_dict() for h in hits] for name, hits in self.stages.items()},
            "timings_ms": dict(self.timings_ms),
            "fusion": self.fusion.to_dict(),
            "reranker": self.reranker.to_dict() if self.reranker else None,
            "warnings": list(self.warnings),
            "fusion_note": self.fusion_note,
            "match": self.match.to_dict() if self.match else None,
        }
