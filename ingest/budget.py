"""What one ingest may spend: new chunks and seconds, each with the setting that sets it, so a file
cut or refused at a limit is reported with a reason naming that setting.

The command line gets `max_ingest_chunks` and no time limit (big corpora are its job); an upload in
the app gets `max_upload_chunks` and `max_upload_seconds`, lower, since strangers send them. Past
the time budget the upload is *cut*: what was embedded so far goes in (a file embedded in part
keeps its first passages, with a note), the files not reached are listed with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from search.settings import Settings


@dataclass(frozen=True)
class Budget:
    """Limits for one ingest run (0: none). `started` is when the run's clock began."""

    chunks: int = 0
    seconds: float = 0.0
    chunks_setting: str = "max_ingest_chunks"
    seconds_setting: str = "max_upload_seconds"
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def for_cli(cls, settings: Settings) -> Budget:
        return cls(chunks=settings.max_ingest_chunks)

    @classmethod
    def for_upload(cls, settings: Settings) -> Budget:
        """An app upload: the upload limits, and never more chunks than any ingest may embed."""
        chunks, name = settings.max_upload_chunks, "max_upload_chunks"
        if settings.max_ingest_chunks and not 0 < chunks <= settings.max_ingest_chunks:
            chunks, name = settings.max_ingest_chunks, "max_ingest_chunks"
        return cls(chunks=chunks, seconds=settings.max_upload_seconds, chunks_setting=name)

    def over_time(self) -> bool:
        return self.seconds > 0 and time.monotonic() - self.started > self.seconds

    def chunk_refusal(self, chunks: int, before: int) -> str | None:
        """The reason a file of `chunks` is refused when `before` chunks are already in, or None."""
        if 0 < self.chunks < before + chunks:
            return (
                f"refused: its {chunks:,} chunks would take this ingest past {self.chunks:,} "
                f"chunks (limit {self.chunks_setting}={self.chunks})"
            )
        return None

    def time_reason(self) -> str:
        return (
            f"not indexed: the upload ran out of time before reaching it "
            f"(limit {self.seconds_setting}={self.seconds:g} s)"
        )

    def cut_note(self, kept: int, total: int) -> str:
        return (
            f"cut: only its first {kept:,} of {total:,} passages were indexed before the upload ran "
            f"out of time (limit {self.seconds_setting}={self.seconds:g} s)"
        )


def cut_rows(sizes: Sequence[int], rows: int) -> list[int]:
    """How many chunks of each file (chunk counts `sizes`, in embedding order) the first `rows`
    embedded vectors cover: whole files, then the first passages of the file being embedded when
    time ran out, then 0 for the files not reached."""
    kept, left = [], max(0, rows)
    for size in sizes:
        kept.append(min(size, left))
        left -= kept[-1]
    return kept
