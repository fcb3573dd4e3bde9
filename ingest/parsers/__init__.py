"""File parsers: bytes of one file → ordered ``Block``s, and ``parse_file`` → ``ParsedDocument``.

Formats: pdf, docx, pptx, html, md, txt. Each format module exposes
``parse(path: Path, data: bytes) -> list[Block]`` and raises ``IngestError`` on bad input.

``sniff`` decides the format from the content (PDF header, OOXML zip parts, HTML tags), using the
extension only to tell Markdown from plain text. ``parse_file`` adds the checks every file goes
through (size limit, empty file, unsupported type, no text extracted), whitespace normalisation
and the metadata (sidecar ``NAME.meta.yaml`` first, then inferred from the file's own properties and its text).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ingest.model import Block, IngestError, ParsedDocument

from ._offline import set_opt_outs

set_opt_outs()  # before anything imports unstructured (its import pings an analytics endpoint)

from ._common import decode_text, normalize_blocks  # noqa: E402

if TYPE_CHECKING:
    from .ocr import OcrOptions

FORMATS = ("pdf", "docx", "pptx", "html", "md", "txt")
MIME_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "html": "text/html",
    "md": "text/markdown",
    "txt": "text/plain",
}
EXTENSIONS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
}
SUPPORTED_EXTENSIONS = frozenset(EXTENSIONS)

_HTML_START_RE = re.compile(r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html)\b", re.IGNORECASE | re.DOTALL)
_HTML_TAG_RE = re.compile(r"<(html|head|body)\b[^>]*>", re.IGNORECASE)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Signatures of common files that are not documents, to say what a misnamed file really is.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "an executable program"),
    (b"MZ", "a Windows executable"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio file"),
    (b"fLaC", "a FLAC audio file"),
    (b"{\\rtf", "an RTF document"),
)


def _ext_label(path: Path) -> str:
    return path.suffix.lower() or "(no extension)"


def _content_kind(data: bytes) -> str | None:
    """What ``data`` is when its signature is a common non-document type ("a PNG image"), else None."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] in (b"WAVE", b"AVI ", b"WEBP"):
        return {b"WAVE": "a WAV audio file", b"AVI ": "an AVI video", b"WEBP": "a WebP image"}[data[8:12]]
    if data[4:8] == b"ftyp":
        return "an MP4/MOV video or audio file"
    return None


def sniff(path: Path | str, data: bytes) -> str:
    """The format of ``data`` ("pdf", "docx", "pptx", "html", "md", "txt"), judged by content.

    Raises IngestError for unsupported types and for binary content in a text file.
    """
    path = Path(path)
    ext = path.suffix.lower()
    declared = EXTENSIONS.get(ext)
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        from ._ooxml import open_zip

        what = declared if declared in ("docx", "pptx") else "zip"
        try:
            with open_zip(path, data, what) as zf:
                names = set(zf.namelist())
        except IngestError:
            if declared in ("docx", "pptx"):
                raise
            raise IngestError(path, f"unsupported file type {_ext_label(path)}") from None
        if "word/document.xml" in names:
            return "docx"
        if "ppt/presentation.xml" in names:
            return "pptx"
        raise IngestError(path, f"unsupported file type {_ext_label(path)}")
    if data.startswith(_OLE_MAGIC):
        if declared in ("docx", "pptx"):
            raise IngestError(path, f"encrypted or legacy Office file, not a {ext} package")
        raise IngestError(path, f"unsupported file type {_ext_label(path)}")
    if declared in ("pdf", "docx", "pptx") and (kind := _content_kind(data)):
        label = "PDF" if declared == "pdf" else declared
        raise IngestError(path, f"not a {label} file: the content is {kind}")
    if declared == "pdf":
        raise IngestError(path, "corrupt or truncated PDF (no %PDF- header)")
    if declared in ("docx", "pptx"):
        raise IngestError(path, f"corrupt or truncated {declared} file (not a zip package)")
    if declared is None:
        # Unknown extension: only a document that says it is HTML is accepted.
        head = data[:2048].decode("utf-8", errors="ignore")
        if _HTML_START_RE.match(head):
            return "html"
        raise IngestError(path, f"unsupported file type {_ext_label(path)}")
    if declared == "html":
        # the charset may be declared in the page: only refuse obvious binary here
        if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise IngestError(path, "binary content, not text")
        return "html"
    text = decode_text(path, data)  # raises "binary content, not text"
    head = text[:2048]
    if _HTML_START_RE.match(head) or (declared == "txt" and len(_HTML_TAG_RE.findall(head)) >= 2):
        return "html"
    return declared


def _parsers() -> dict[str, Callable[[Path, bytes], list[Block]]]:
    from . import docx, html, markdown, pdf, pptx, text

    return {
        "pdf": pdf.parse,
        "docx": docx.parse,
        "pptx": pptx.parse,
        "html": html.parse,
        "md": markdown.parse,
        "txt": text.parse,
    }


def parse_bytes(path: Path | str, data: bytes, fmt: str | None = None, *, ocr: OcrOptions | None = None,
                notes: list[str] | None = None) -> list[Block]:
    """Blocks of ``data`` (format sniffed unless given), normalised; may be empty.

    PDFs: pages without a usable text layer are read by OCR with ``ocr`` (default OcrOptions()); ``notes`` receives
    the pages left out."""
    path = Path(path)
    fmt = fmt or sniff(path, data)
    try:
        if fmt == "pdf":
            from . import pdf

            blocks = pdf.parse(path, data, ocr, notes)
        else:
            blocks = _parsers()[fmt](path, data)
    except IngestError:
        raise
    except MemoryError:
        raise IngestError(path, f"{fmt} file too complex to parse (out of memory)") from None
    except RecursionError:
        raise IngestError(path, f"{fmt} file too deeply nested to parse") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is this file's problem
        raise IngestError(path, f"could not parse {fmt} file ({type(exc).__name__}: {exc})") from None
    return normalize_blocks(blocks)


def parse_file(path: Path | str, *, max_bytes: int, max_pages: int | None = None, ocr: OcrOptions | None = None
               ) -> ParsedDocument:
    """Parse one file into a ``ParsedDocument`` (blocks never empty) or raise ``IngestError``.

    A PDF or PPTX with more than ``max_pages`` pages (slides) is refused before its text is extracted. PDF pages
    without a usable text layer are read by OCR (``ocr``: KMH_OCR_*); those left out are in the document's ``notes``.
    """
    from ingest.metadata import infer_meta, read_sidecar

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not path.is_file():
        raise IngestError(path, "not a regular file")
    if size == 0:
        raise IngestError(path, "empty file")
    if size > max_bytes:
        raise IngestError(
            path, f"file too large: {size} bytes, over the limit of {max_bytes} bytes ({max_bytes / 1048576:.1f} MB)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise IngestError(path, "empty file")
    if len(data) > max_bytes:
        raise IngestError(path, f"file too large: over the limit of {max_bytes} bytes")
    fmt = sniff(path, data)
    page_count = _page_count(path, data, fmt)
    if page_count is not None and max_pages is not None and page_count > max_pages:
        what = "slides" if fmt == "pptx" else "pages"
        raise IngestError(
            path, f"{fmt.upper()} has {page_count} {what}, over the limit of {max_pages} {what} (KMH_MAX_PAGES)"
        )
    notes: list[str] = []
    blocks = parse_bytes(path, data, fmt, ocr=ocr, notes=notes)
    if not any(b.text.strip() for b in blocks):
        raise IngestError(path, "no text could be extracted")
    from .properties import read_properties

    sidecar = read_sidecar(path)
    properties = read_properties(path, data, fmt)
    meta = infer_meta(blocks, sidecar, properties)
    meta.edition_of = (sidecar or {}).get("edition_of")
    return ParsedDocument(path=path, format=fmt, mime=MIME_TYPES[fmt], blocks=blocks, meta=meta, page_count=page_count,
                          properties=properties, notes=notes)


def _page_count(path: Path, data: bytes, fmt: str) -> int | None:
    """Pages of a PDF, slides of a PPTX (read from the document's structure, no text extracted); else None."""
    if fmt == "pdf":
        from . import pdf

        return pdf.page_count(path, data)
    if fmt == "pptx":
        from . import pptx

        return pptx.slide_count(path, data)
    return None


__all__ = ["EXTENSIONS", "FORMATS", "MIME_TYPES", "SUPPORTED_EXTENSIONS", "parse_bytes", "parse_file", "sniff"]
