"""Make the files the format tests read: Word, PowerPoint and web pages with the libraries other
producers use, pictures of text for OCR, and hostile packages and images, all small on disk.

The hostile files are built from the zip and PNG formats directly, so each one is exactly the
attack it names (a part declaring gigabytes, 50,000 slides, a 2.5-gigapixel canvas) and costs
the test little to write.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

FIXTURES = Path(__file__).parent / "fixtures" / "formats"


def make_docx(path: Path, blocks: list[tuple[str, str | list[list[str]]]], title: str = "") -> Path:
    """A .docx from (kind, content) blocks: ("h1".."h3", text), ("p", text), ("table", rows)."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for kind, content in blocks:
        if kind == "table":
            rows = content
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        elif kind.startswith("h"):
            document.add_heading(str(content), level=int(kind[1]))
        else:
            document.add_paragraph(str(content))
    document.sections[0].header.paragraphs[0].text = "RUNNING HEADER TEXT"
    document.save(str(path))
    return path


def make_pptx(path: Path, slides: list[tuple[str, str, str]]) -> Path:
    """A .pptx with one (title, body, notes) per slide, on the "Title and Content" layout."""
    from pptx import Presentation

    deck = Presentation()
    for title, body, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    deck.save(str(path))
    return path


def text_image(lines: list[str], width: int = 1100) -> Image.Image:
    """Black text on white, like a clean scan at about 150 dpi: 28-pixel type, 56-pixel lines."""
    font = ImageFont.load_default(size=28)
    image = Image.new("RGB", (width, 60 + 56 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 30 + 56 * i), line, fill="black", font=font)
    return image


def make_scan_pdf(path: Path, pages: list[str | list[str]]) -> Path:
    """A PDF with a text page for each str and an image-only (scanned) page for each list of lines.
    Pages are 190 x 60 mm, so a scan renders small and OCR stays quick."""
    pdf = FPDF(unit="mm", format=(190, 60))
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=10)
    for page in pages:
        pdf.add_page()
        if isinstance(page, str):
            pdf.set_xy(10, 10)
            pdf.multi_cell(170, 5, page)
        else:
            pdf.image(text_image(page), x=0, y=0, w=190)
    pdf.output(str(path))
    return path


# --- hostile files ----------------------------------------------------------------------------


def docx_parts(document_xml: str) -> dict[str, bytes]:
    return {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            b'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            b'"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
            b'.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            b'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            b'Target="word/document.xml"/></Relationships>'
        ),
        "word/document.xml": document_xml.encode(),
    }


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def word_xml(body: str, doctype: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<w:document xmlns:w="{W_NS}"><w:body>'
        f"<w:p><w:r><w:t>{body}</w:t></w:r></w:p></w:body></w:document>"
    )


def write_zip(path: Path, parts: dict[str, bytes], extra: int = 0) -> Path:
    """A zip of `parts`, plus `extra` empty parts (a package of thousands of members)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
        for i in range(extra):
            package.writestr(f"customXml/item{i}.bin", b"")
    return path


def docx_with_doctype(path: Path, doctype: str, body: str) -> Path:
    """A .docx whose main part declares a DTD: billion laughs, or an external entity."""
    return write_zip(path, docx_parts(word_xml(body, doctype)))


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + "]>"
)
EXTERNAL_ENTITY = '<!DOCTYPE doc [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


def docx_zip_bomb(path: Path, gigabytes: float) -> Path:
    """A valid .docx plus one part that inflates to `gigabytes` of zeros (a few MB on disk)."""
    parts = docx_parts(word_xml("The harbour report."))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        for name, data in parts.items():
            package.writestr(name, data)
        with package.open("word/media/bomb.bin", "w", force_zip64=True) as bomb:
            block = bytes(1 << 24)
            for _ in range(int(gigabytes * 1024 / 16)):
                bomb.write(block)
    return path


def docx_with_nested_zip(path: Path) -> Path:
    """A .docx embedding a zip that itself holds a 1 GB part (never opened by the loader)."""
    inner = io.BytesIO()
    with (
        zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as nested,
        nested.open("inner.bin", "w", force_zip64=True) as part,
    ):
        for _ in range(64):
            part.write(bytes(1 << 24))
    parts = docx_parts(word_xml("The nested package report."))
    parts["word/embeddings/nested.zip"] = inner.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    return path


def pptx_with_slides(path: Path, slides: int) -> Path:
    """A deck with `slides` slides built part by part (python-pptx would take minutes for 50,000)."""
    p_ns = "http://schemas.openxmlformats.org/presentationml/2006/main"
    r_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ids = "".join(f'<p:sldId id="{256 + i}" r:id="rId{i + 1}"/>' for i in range(slides))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            "ppt/presentation.xml",
            f'<p:presentation xmlns:p="{p_ns}" xmlns:r="{r_ns}">'
            f"<p:sldIdLst>{ids}</p:sldIdLst></p:presentation>",
        )
        for i in range(slides):
            package.writestr(f"ppt/slides/slide{i + 1}.xml", f'<p:sld xmlns:p="{p_ns}"/>')
    return path


def png_header_only(path: Path, width: int, height: int, rows: int = 1) -> Path:
    """A PNG declaring `width` x `height` grey pixels with only `rows` rows of data: a
    decompression bomb by its header (a few KB on disk, gigabytes once decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes((width + 1) * rows), 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path
