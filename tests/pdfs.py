"""Make small real PDFs for tests and sample data (fpdf2, core Helvetica font).

`make_pdf` puts each given string on exactly one physical page, so tests can rely on
"string i is page i + 1"; text that would not fit is shrunk, and if it still does not fit at the
smallest size a `ValueError` says so instead of silently spilling onto an extra page.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fpdf import FPDF

_FONT_SIZES = (11, 10, 9, 8, 7, 6)
_MARGIN_MM = 15
#: A fixed date so the same inputs give byte-identical files (stable content hashes).
_FIXED_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

#: Typographic characters the core fonts lack, mapped to close latin-1 equivalents.
_LATIN1_SUBSTITUTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u2022": "*",
        "\u00a0": " ",
        "\u2009": " ",
        "\u200b": "",
        "\ufeff": "",
        "\t": "    ",
    }
)


def to_latin1(text: str) -> str:
    """What the core Helvetica font can draw: typographic substitutes, then '?' for the rest."""
    return text.translate(_LATIN1_SUBSTITUTES).encode("latin-1", "replace").decode("latin-1")


def _new_pdf(title: str | None) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM)
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_creator("tests/pdfs.py")
    if title is not None:
        pdf.set_title(to_latin1(title))
    return pdf


def make_pdf(
    path: Path,
    pages: list[str],
    *,
    title: str | None = None,
    encrypt_password: str | None = None,
) -> Path:
    """Write a PDF with one physical page per string in `pages` (empty string: a blank page).

    `encrypt_password` encrypts the file (RC4, no extra packages needed) with that user password;
    "" makes a PDF that is encrypted but opens without a password, as many "protected" PDFs do.
    """
    if not pages:
        raise ValueError("make_pdf needs at least one page")
    pdf = _new_pdf(title)
    if encrypt_password is not None:
        pdf.set_encryption(owner_password=f"owner-{encrypt_password}", user_password=encrypt_password)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    height = pdf.h - pdf.t_margin - pdf.b_margin
    for number, text in enumerate(pages, start=1):
        pdf.add_page()
        text = to_latin1(text)
        if not text.strip():
            continue
        for size in _FONT_SIZES:
            pdf.set_font("Helvetica", size=size)
            line_height = size * 0.5  # mm; ~1.4 x the point size
            lines = _wrap(pdf, text, width, max_lines=int(height // line_height))
            if lines is not None:
                break
        else:
            raise ValueError(f"page {number} text ({len(text)} chars) does not fit on one PDF page")
        # One text operation per line: much faster than multi_cell, and extracts line by line.
        baseline = pdf.t_margin + line_height * 0.75
        for i, line in enumerate(lines):
            if line:
                pdf.text(pdf.l_margin, baseline + i * line_height, line)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _wrap(pdf: FPDF, text: str, width: float, max_lines: int) -> list[str] | None:
    """Greedy word wrap by the current font's metrics; None when it needs over `max_lines`."""
    space = pdf.get_string_width(" ")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line: list[str] = []
        line_width = 0.0
        for word in paragraph.split(" "):
            word_width = pdf.get_string_width(word)
            while word_width > width:  # a word longer than a line: break it by characters
                cut = max(1, int(len(word) * width / word_width))
                if line:
                    lines.append(" ".join(line))
                    line, line_width = [], 0.0
                lines.append(word[:cut])
                word = word[cut:]
                word_width = pdf.get_string_width(word)
            if line and line_width + space + word_width > width:
                lines.append(" ".join(line))
                line, line_width = [], 0.0
                if len(lines) > max_lines:
                    return None
            line_width += (space if line else 0.0) + word_width
            line.append(word)
        lines.append(" ".join(line).rstrip())
        if len(lines) > max_lines:
            return None
    return lines


def make_image_only_pdf(path: Path, *, pages: int = 1) -> Path:
    """A PDF with drawn shapes and no text at all, like a scan without OCR."""
    pdf = _new_pdf(None)
    for _ in range(pages):
        pdf.add_page()
        pdf.set_fill_color(40, 90, 160)
        pdf.rect(30, 40, 150, 100, style="F")
        pdf.set_draw_color(0, 0, 0)
        pdf.line(30, 160, 180, 200)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def bomb_pdf(path: Path, inflated: int, *, image: bool = False) -> Path:
    """One page whose content stream (or, with `image`, an image on it) is `inflated` bytes that
    deflate about 1000:1, and no font (so text extraction never decodes it)."""
    import zlib

    data = zlib.compress(b" " * inflated, 9)
    head = b"/Length %d /Filter /FlateDecode" % len(data)
    if image:
        side = int(inflated**0.5)
        head += b" /Type /XObject /Subtype /Image /Width %d /Height %d" % (side, side)
        head += b" /ColorSpace /DeviceGray /BitsPerComponent 8"
        page, draw = (
            b"/Contents 5 0 R /Resources << /XObject << /Im1 4 0 R >> >>",
            b"q 100 0 0 100 0 0 cm /Im1 Do Q",
        )
    else:
        page, draw = b"/Contents 4 0 R", b"BT ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] %s >>" % page,
        b"<< %s >>\nstream\n%s\nendstream" % (head, data),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(draw), draw),
    ]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(bytes(out))
    return path
