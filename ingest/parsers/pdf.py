"""PDF: page by page with pdfminer.six (layout and font sizes), pypdf for encryption and page count.

unstructured's ``partition_pdf`` cannot be imported without its ``[pdf]`` extra (pi_heif,
unstructured_inference, ...), which this project does not install, so the "fast" strategy is done
here directly: pdfminer text lines carry their font size and font name, which gives headings:

* the body size is the most common character size of the document;
* a line at least 15% larger than the body is a heading; distinct heading sizes give levels
  (largest = 1); a short bold line at body size is a heading one level below the smallest size;
* with no size or bold contrast at all, a lone short title-like line above a paragraph is a title.

Lines repeated at the top/bottom of most pages (running headers, footers) and bare page numbers are
dropped; paragraphs are rejoined (hyphenation at line ends undone); bullet lines become list items.
Pages where pdfminer finds no text are retried with pypdfium2. Page numbers are exact and 1-based.

A page without a usable text layer (a scan, or a broken font encoding) is read by OCR (``ingest.parsers.ocr``); the
other pages keep pdfminer's text, so a mixed PDF keeps its page numbers.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ingest.model import Block, IngestError

from . import boilerplate
from ._common import BULLET_CHARS, BULLET_RE, NUMBERED_RE, clean_line, join_lines as _join_lines, strip_bullet
from .ocr import OcrOptions, garbage_reason, has_marks, image_coverage, ocr_pages, tesseract_path

HEADING_RATIO = 1.15
TITLE_MAX_WORDS = 25
EOF_WINDOW = 4096
SCAN_MAX_WORDS = 10  # a page with fewer words in its text layer may be a scan (with a stamp or a page number)
_PAGE_NUMBER_RE = re.compile(r"^(page|p\.)?\s*\d{1,4}(\s*(/|of|sur|de)\s*\d{1,4})?$", re.IGNORECASE)
_BOLD_RE = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_FINAL_PUNCT = tuple(".!?;:,…")


@dataclass
class _Line:
    text: str
    size: float
    bold: bool
    top: float  # distance from the top of the page, as a fraction of its height
    box: int  # index of the text box on the page
    x0: float = 0.0
    x1: float = 0.0
    y0: float = 0.0  # bottom, PDF coordinates (grow upwards)
    y1: float = 0.0  # top


def _continues(prev: _Line | None, line: _Line) -> bool:
    """Whether ``line`` goes on the paragraph ending with ``prev`` (next line, same column, same font)."""
    if prev is None:
        return False
    if prev.box == line.box:
        return True
    height = max(prev.y1 - prev.y0, line.y1 - line.y0, 1.0)
    gap = prev.y0 - line.y1
    overlap = min(prev.x1, line.x1) - max(prev.x0, line.x0)
    return -0.2 * height <= gap <= 0.7 * height and overlap > 0 and abs(prev.size - line.size) < 0.75


# ---------------------------------------------------------------------------------------------
# opening, encryption, corruption
# ---------------------------------------------------------------------------------------------


def _reader(path: Path, data: bytes):
    """A pypdf reader after the encryption and truncation checks."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if b"%%EOF" not in data[-EOF_WINDOW:]:
        raise IngestError(path, "corrupt or truncated PDF (no end-of-file marker)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (PyPdfError, NotImplementedError, ValueError, KeyError) as exc:
                raise IngestError(path, f"encrypted PDF ({exc})") from None
            if not opened:
                raise IngestError(path, "encrypted PDF (a password is required)")
        _ = len(reader.pages)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on broken files
        raise IngestError(path, f"corrupt or truncated PDF ({type(exc).__name__})") from None
    return reader


def page_count(path: Path, data: bytes) -> int:
    return len(_reader(path, data).pages)


# ---------------------------------------------------------------------------------------------
# extraction
# ---------------------------------------------------------------------------------------------


def parse(path: Path, data: bytes, ocr: OcrOptions | None = None, notes: list[str] | None = None) -> list[Block]:
    """The blocks of a PDF, page by page; pages without a usable text layer are read by OCR (``ingest.parsers.ocr``).

    ``notes`` receives one line per page left out (OCR too poor, or not available); a PDF left without any text
    because of them is refused as a scan whose OCR failed."""
    options = ocr or OcrOptions()
    notes = notes if notes is not None else []
    reader = _reader(path, data)
    n_pages = len(reader.pages)
    pages = _extract_lines(path, data)
    if len(pages) < n_pages:
        pages.extend([] for _ in range(n_pages - len(pages)))
    fallback: dict[int, list[Block]] = {}
    scanned: list[int] = []  # pages to read by OCR
    garbage: dict[int, str] = {}
    pdf = None
    try:
        for number, lines in enumerate(pages, start=1):
            if not lines:
                if pdf is None:
                    pdf = _pdfium(data)
                fallback[number] = _pdfium_page_blocks(pdf, number) if pdf is not None else []
            text = "\n".join(line.text for line in lines) or "\n".join(b.text for b in fallback.get(number, []))
            reason = garbage_reason(text)
            if reason is not None:
                garbage[number] = reason
                scanned.append(number)
            elif len(text.split()) < SCAN_MAX_WORDS:
                if pdf is None:
                    pdf = _pdfium(data)
                if pdf is not None and _looks_scanned(pdf, number, bool(text.strip())):
                    scanned.append(number)
    finally:
        if pdf is not None:
            pdf.close()
    for number in scanned:
        pages[number - 1] = []
        fallback.pop(number, None)
    read = _ocr(path, data, scanned, options, notes, have_text=any(pages) or any(fallback.values()))
    pages = _drop_running_lines(pages)
    body_size, heading_sizes, has_bold = _font_profile(pages)
    blocks: list[Block] = []
    for number, lines in enumerate(pages, start=1):
        if number in read:
            blocks.extend(read[number])
        elif lines:
            blocks.extend(_page_blocks(lines, number, body_size, heading_sizes, has_bold))
        else:
            blocks.extend(fallback.get(number, []))
    blocks = boilerplate.drop_boilerplate_blocks(blocks, web=False)
    if scanned and not any(b.text.strip() for b in blocks):
        what = "a scanned PDF" if not garbage else "a PDF whose text layer is unreadable"
        raise IngestError(path, f"{what}, and its OCR failed: " + "; ".join(n.removesuffix(", not indexed")
                                                                             for n in notes))
    return blocks


def _pdfium(data: bytes):
    """The PDF opened with pypdfium2, or None when it cannot open it (pdfminer's text is all there is)."""
    try:
        import pypdfium2

        return pypdfium2.PdfDocument(data)
    except Exception:  # noqa: BLE001 - pdfium refuses some files pdfminer reads
        return None


def _looks_scanned(pdf, number: int, has_text: bool) -> bool:
    """A page with (almost) no text layer that draws something: without text at all, any image or vector path; with a
    few words (a stamp, a page number), an image covering half the page."""
    try:
        if not has_text:
            return has_marks(pdf, number)
        return image_coverage(pdf, number) >= 0.5
    except Exception:  # noqa: BLE001 - a page pdfium cannot read keeps what pdfminer found
        return False


def _ocr(path: Path, data: bytes, numbers: list[int], options: OcrOptions, notes: list[str], *, have_text: bool
         ) -> dict[int, list[Block]]:
    """The OCR blocks of ``numbers`` (pages whose reading is good enough); the others are noted in ``notes``. Without
    tesseract (or with OCR off) a PDF that has other text keeps it, and its scanned pages are noted."""
    if not numbers:
        return {}
    unavailable = None
    if not options.enabled:
        unavailable = "OCR is off (KMH_OCR)"
    elif tesseract_path() is None:
        unavailable = "tesseract is not installed (make setup installs it)"
    if unavailable is not None:
        if not have_text:
            raise IngestError(path, f"a scanned PDF (no text layer), and it cannot be read: {unavailable}")
        notes.extend(f"page {n}: no usable text layer and {unavailable}, not indexed" for n in numbers)
        return {}
    read: dict[int, list[Block]] = {}
    for page in ocr_pages(path, data, numbers, options):
        poor = page.poor_reason(options)
        if poor is not None:
            notes.append(poor)
        else:
            read[page.number] = page.blocks
    return read


def _extract_lines(path: Path, data: bytes) -> list[list[_Line]]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTChar, LTFigure, LTTextBox, LTTextLine
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    def boxes(container):
        for obj in container:
            if isinstance(obj, LTTextBox):
                yield obj
            elif isinstance(obj, LTFigure):
                yield from boxes(obj)

    pages: list[list[_Line]] = []
    try:
        for page in extract_pages(io.BytesIO(data), password="", laparams=LAParams(all_texts=True)):
            height = max(page.height, 1.0)
            lines: list[_Line] = []
            for box_index, box in enumerate(boxes(page)):
                for line in box:
                    if not isinstance(line, LTTextLine):
                        continue
                    text = clean_line(line.get_text())
                    if not text:
                        continue
                    chars = [c for c in line if isinstance(c, LTChar) and c.get_text().strip()]
                    if chars:
                        size = statistics.median(round(c.size * 2) / 2 for c in chars)
                        bold = sum(1 for c in chars if _BOLD_RE.search(c.fontname or "")) > len(chars) / 2
                    else:
                        size, bold = 0.0, False
                    lines.append(
                        _Line(
                            text, size, bold, (page.y1 - line.y1) / height, box_index,
                            line.x0, line.x1, line.y0, line.y1,
                        )
                    )
            pages.append(lines)
    except PDFPasswordIncorrect:
        raise IngestError(path, "encrypted PDF (a password is required)") from None
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds on broken files
        raise IngestError(path, f"corrupt or truncated PDF ({type(exc).__name__})") from None
    return pages


def _pdfium_page_blocks(pdf, number: int) -> list[Block]:
    """Plain text of one page with pypdfium2, for pages where pdfminer found nothing."""
    try:
        textpage = pdf[number - 1].get_textpage()
        text = textpage.get_text_range()
    except Exception:  # noqa: BLE001 - a page without text stays without text
        return []
    blocks = []
    for para in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        para = _join_lines([clean_line(x) for x in para.split("\n") if clean_line(x)])
        if para:
            blocks.append(Block(text=para, kind="text", page=number))
    return blocks


# ---------------------------------------------------------------------------------------------
# analysis
# ---------------------------------------------------------------------------------------------


def _line_key(text: str) -> str:
    return re.sub(r"\d+", "#", boilerplate.norm_key(text))


def _drop_running_lines(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Drop page numbers and running headers/footers (same line near the edge of most pages)."""
    edge = lambda line: line.top < 0.12 or line.top > 0.88  # noqa: E731
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_line_key(line.text) for line in lines if edge(line)})
    threshold = max(3, (len(pages) + 1) // 2)
    out = []
    for lines in pages:
        kept = []
        for line in lines:
            if edge(line) and (_PAGE_NUMBER_RE.match(line.text) or counts[_line_key(line.text)] >= threshold):
                continue
            kept.append(line)
        out.append(kept)
    return out


def _font_profile(pages: list[list[_Line]]) -> tuple[float, list[float], bool]:
    weights: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            if line.size > 0:
                weights[line.size] += len(line.text)
    if not weights:
        return 0.0, [], False
    body = weights.most_common(1)[0][0]
    heading_sizes = sorted(
        {line.size for lines in pages for line in lines if line.size >= body * HEADING_RATIO},
        reverse=True,
    )
    has_bold = any(line.bold and abs(line.size - body) < 0.75 for lines in pages for line in lines)
    return body, heading_sizes[:5], has_bold


def _is_heading_line(line: _Line, body: float, heading_sizes: list[float]) -> int | None:
    """Heading level of a line from its font, or None."""
    if body <= 0 or len(line.text.split()) > TITLE_MAX_WORDS:
        return None
    if line.size >= body * HEADING_RATIO:
        for index, size in enumerate(heading_sizes):
            if line.size >= size:
                return index + 1
        return len(heading_sizes) or 1
    if line.bold and abs(line.size - body) < 0.75 and len(line.text.split()) <= 12 and not line.text.endswith(_FINAL_PUNCT):
        return min(len(heading_sizes) + 1, 6)
    return None


def _is_bullet_only(text: str) -> bool:
    return len(text) <= 2 and all(ch in BULLET_CHARS or ch.isspace() for ch in text)


def _page_blocks(lines: list[_Line], number: int, body: float, heading_sizes: list[float], has_bold: bool) -> list[Block]:
    font_headings = bool(heading_sizes) or has_bold
    blocks: list[Block] = []
    current: list[str] = []
    current_kind = "text"
    current_level = 1
    pending_bullet = False
    prev: _Line | None = None
    item_x0 = 0.0  # left edge of the current list item's first line
    item_glyph = False  # the item's bullet was a separate glyph (its text is already indented)

    def flush() -> None:
        nonlocal current
        if current:
            text = _join_lines(current)
            if current_kind == "list_item":
                text = strip_bullet(text)
            blocks.append(Block(text=text, kind=current_kind, page=number, level=current_level))
        current = []

    for line in lines:
        text = line.text
        if _is_bullet_only(text):
            flush()
            pending_bullet = True
            prev = None
            continue
        level = _is_heading_line(line, body, heading_sizes)
        if level is not None and not pending_bullet:
            if current_kind == "title" and current_level == level and _continues(prev, line):
                current.append(text)  # a heading on two lines
            else:
                flush()
                current_kind, current_level, current = "title", level, [text]
            prev = line
            continue
        starts_item = pending_bullet or bool(BULLET_RE.match(text) or NUMBERED_RE.match(text))
        if starts_item:
            flush()
            current_kind, current_level, current = "list_item", 1, [text]
            item_x0, item_glyph = line.x0, pending_bullet
            pending_bullet = False
        elif current_kind == "list_item" and _continues(prev, line):
            # a wrapped item line is indented under the item text or starts in lower case;
            # otherwise the text after the list begins
            if text[:1].islower() or line.x0 > item_x0 + 1 or (item_glyph and abs(line.x0 - item_x0) <= 1):
                current.append(text)
            else:
                flush()
                current_kind, current_level, current = "text", 1, [text]
        elif current_kind == "title" or not _continues(prev, line):
            flush()
            current_kind, current_level, current = "text", 1, [text]
        else:
            current.append(text)
        prev = line
    flush()

    if not font_headings:
        _title_like_boxes(blocks)
    return blocks


def _title_like_boxes(blocks: list[Block]) -> None:
    """Without font contrast: a short title-like one-line block before a longer paragraph is a title."""
    for index, block in enumerate(blocks[:-1]):
        following = blocks[index + 1]
        words = block.text.split()
        if (
            block.kind == "text"
            and 0 < len(words) <= 8
            and not block.text.endswith(_FINAL_PUNCT)
            and not block.text[:1].islower()
            and any(ch.isalpha() for ch in block.text)
            and following.kind in ("text", "list_item")
            and len(following.text.split()) >= 12
        ):
            block.kind = "title"
            block.level = 1
