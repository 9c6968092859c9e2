"""The page behind a PDF hit: which hits have one, and the page as an image with the passage marked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath

from search.models import FUSED, RERANKED, Chunk
from webapp.page_image import render_page
from webapp.service import SearchService


@dataclass
class PageView:
    """A rendered page (or None), a line about it, and a link to open the file at that page."""

    image: Path | None
    note: str
    link: str = ""


def page_choices(service: SearchService, session: str | None) -> list[tuple[str, str]]:
    """(label, chunk id) of the PDF hits of the session's last result, both columns, in order."""
    last = service.last_result(session)
    if last is None:
        return []
    _, result = last
    seen: dict[str, str] = {}
    for stage in (FUSED, RERANKED):
        for hit in result.stages.get(stage, []):
            column = "reranked" if stage == RERANKED else "hybrid"
            if _has_page_image(hit.chunk) and hit.chunk.id not in seen:
                seen[hit.chunk.id] = f"{column} #{hit.rank(stage)}: {hit.chunk.citation()}"
    return [(label, chunk_id) for chunk_id, label in seen.items()]


def page_view(service: SearchService, session: str | None, chunk_id: str | None) -> PageView:
    """The cited page of a PDF hit as an image, its passage marked, with a link to the file at
    that page where the file may be served; or a line saying why there is no image."""
    last = service.last_result(session)
    hits = {h.chunk.id: h for hits in last[1].stages.values() for h in hits} if last else {}
    if not chunk_id or chunk_id not in hits:
        return PageView(None, "Search, then choose a PDF result to see its page.")
    scope, chunk = last[0], hits[chunk_id].chunk
    if not _has_page_image(chunk):
        return PageView(None, f"{chunk.file_name} has no pages to show.")
    path, public = service.source_file(session, scope, chunk.source)
    if path is None:
        return PageView(None, f"{chunk.file_name} is not on this server any more.")
    s = service.settings
    image = render_page(
        path,
        chunk.page_start,
        cache_dir=Path(s.page_cache_dir),
        passage=chunk.text,
        scale=s.page_image_scale,
    )
    if not image.ok:
        return PageView(None, f"{chunk.citation()}: the page cannot be shown ({image.reason}).")
    note = f"{chunk.citation()} — page {image.page} of {image.pages}"
    note += ", the passage marked." if image.highlighted else " (the passage could not be located on it)."
    link = f"/gradio_api/file={path.resolve()}#page={image.page}" if public else ""
    return PageView(image.path, note, link)


def _has_page_image(chunk: Chunk) -> bool:
    """A PDF page (scanned or not) can be drawn; a slide's "page" is only a number."""
    return chunk.page_start is not None and PurePath(chunk.source).suffix.lower() == ".pdf"
