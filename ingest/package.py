"""Office files (.docx, .pptx) are zip packages of XML parts; check one before any parser opens it.

A zip can claim little on disk and unpack to gigabytes (a zip bomb), hold a hundred thousand parts,
or carry XML that expands entities (billion laughs) or reads other files (external entities). All
of that is visible cheaply: part count and unpacked sizes are in the zip's directory, and a DTD
must come before an XML part's first element. Office's packaging standard (ECMA-376 part 2, OPC)
forbids DTDs in package XML, so a part that declares one is refused outright. `zipfile` never
inflates a part past the size the directory states, so the size check bounds what parsing reads.
Embedded files (an embedded workbook, a nested zip) are never opened, and the notes say so.
"""

from __future__ import annotations

import io
import zipfile

from ingest.errors import LoadError
from ingest.formats import MB, ReadLimits

#: Bytes of each XML part read to find a DTD: its prolog (XML declaration, comments, DOCTYPE).
_PROLOG_BYTES = 8192


def check_package(data: bytes, name: str, kind: str, limits: ReadLimits) -> list[str]:
    """Refuse a package over `max_zip_members` parts or `max_unzipped_mb` unpacked, or with a DTD
    in any XML part; return notes on embedded files left unread. `kind` is ".docx" or ".pptx"."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        parts = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise LoadError(name, f"not a readable {kind} file: not a zip package ({exc})") from None
    members = limits.max_zip_members
    if 0 < members < len(parts):
        raise LoadError(
            name,
            f"refused: the package has {len(parts):,} parts, over the limit of {members:,} "
            f"(limit max_zip_members={members})",
        )
    unpacked = sum(p.file_size for p in parts)
    cap = limits.max_unzipped_mb
    if cap > 0 and unpacked > cap * MB:
        biggest = max(parts, key=lambda p: p.file_size)
        raise LoadError(
            name,
            f"refused: the package would unpack to {unpacked / MB:,.0f} MB ({biggest.filename}: "
            f"{biggest.file_size / MB:,.0f} MB), over the {cap:g} MB limit (limit max_unzipped_mb={cap:g})",
        )
    for part in parts:
        if part.filename.lower().endswith((".xml", ".rels")) and _declares_dtd(package, part, name):
            raise LoadError(
                name,
                f"refused: part {part.filename} declares a DTD (<!DOCTYPE>), which Office files never "
                "do; it could expand entities (billion laughs) or read other files (external entities)",
            )
    embedded = [p.filename for p in parts if "/embeddings/" in f"/{p.filename.lower()}"]
    if embedded:
        shown = ", ".join(embedded[:3]) + (f" and {len(embedded) - 3} more" if len(embedded) > 3 else "")
        return [f"{len(embedded)} embedded file(s) not read: {shown}"]
    return []


def _declares_dtd(package: zipfile.ZipFile, part: zipfile.ZipInfo, name: str) -> bool:
    try:
        with package.open(part) as handle:
            head = handle.read(_PROLOG_BYTES)
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError) as exc:
        raise LoadError(name, f"not a readable Office file: part {part.filename}: {exc}") from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:4].count(0) >= 2:  # UTF-16 XML
        encoding = "utf-16-be" if head.startswith(b"\xfe\xff") or head[:1] == b"\x00" else "utf-16-le"
        head = head.decode(encoding, errors="ignore").encode("utf-8")
    return b"<!DOCTYPE" in head.upper()
