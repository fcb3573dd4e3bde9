"""Sample PDFs: a handbook module's plain text typeset as a real, multi-page PDF, for the sample corpus.

``render_handbook(source, out)`` reads the text with the text parser's rules (``ingest.parsers.text``: a short
line above a paragraph is a heading, the first one the level-1 title; bullet lines and short-line lists are
list items) and lays its blocks out on A4 pages as a printed handbook would:

- headings in Helvetica Bold, level 1 at 20 pt and level 2 at 14 pt over an 11 pt body, so that
  ``ingest.parsers.pdf`` finds them by their size, with their levels; list items behind a bullet;
- a level-2 heading that follows body text starts a new page (each section on its own page);
- a running header (the sidecar's ``source``, else its title) and a footer "Page N sur M" on every page,
  which the PDF parser drops as running lines;
- the document properties (title, author, language) from the sidecar beside ``out`` and a fixed creation
  date (the sidecar's date, else 2000-01-01): the same text and sidecar give the same bytes, so the
  ingested content hash does not change from one setup to the next.

The file is written only when its bytes change. Run ``kmh synth-handbook SOURCE.txt OUT.pdf`` (``make setup``
does, for each text under ``corpus-src/handbooks/``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.model import Block, IngestError

PAGE_FORMAT = "A4"
MARGIN_MM = 22.0
HEADING_PT = {1: 20.0, 2: 14.0}  # deeper levels use the level-2 size
BODY_PT = 11.0
RUNNING_PT = 8.0
BULLET = "\u2022"
ITEM_LINE_MM = 5.5
FALLBACK_DATE = date(2000, 1, 1)
MIN_ROOM_MM = 45.0  # a heading needs this much room below it, else it goes to the next page

if TYPE_CHECKING:
    from fpdf import FPDF


class SynthPdfError(RuntimeError):
    """The sample PDF could not be made (an unreadable or empty source, a bad sidecar)."""


@dataclass(frozen=True)
class Properties:
    """What the PDF says about itself: its document properties and its running header."""

    title: str
    author: str
    header: str
    language: str
    created: datetime


def properties_for(out: Path, blocks: list[Block]) -> Properties:
    """The properties of ``out`` from its sidecar (``NAME.meta.yaml`` beside it), else from the text."""
    from ingest.metadata import read_sidecar

    try:
        meta = read_sidecar(out) or {}
    except IngestError as exc:
        raise SynthPdfError(f"{exc.path}: {exc.reason}") from None
    first_title = next((b.text for b in blocks if b.kind == "title"), out.stem)
    title = meta.get("title") or first_title
    published = meta.get("published") or FALLBACK_DATE
    source = meta.get("source") or ""
    return Properties(
        title=title,
        author=source.split(",")[0].strip() if source else "",
        header=source or title,
        language=meta.get("language") or "fr",
        created=datetime(published.year, published.month, published.day, tzinfo=timezone.utc),
    )


def read_blocks(source: Path) -> list[Block]:
    """The blocks of a plain-text module, as the text parser reads them."""
    from ingest.parsers import text

    try:
        data = source.read_bytes()
    except OSError as exc:
        raise SynthPdfError(f"{source}: cannot read ({exc.strerror or exc})") from None
    try:
        blocks = text.parse(source, data)
    except IngestError as exc:
        raise SynthPdfError(f"{source}: {exc.reason}") from None
    if not any(b.kind != "title" for b in blocks):
        raise SynthPdfError(f"{source}: no text to typeset")
    return blocks


def typeset(blocks: list[Block], props: Properties) -> bytes:
    """The PDF of ``blocks``: headings by size, a section per page, running header and numbered footer."""
    from fpdf import FPDF

    class _Handbook(FPDF):
        def header(self) -> None:
            self.set_y(10)
            self.set_font("Helvetica", "", RUNNING_PT)
            self.set_text_color(110)
            self.cell(0, 5, props.header, align="R")
            self.set_draw_color(170)
            self.line(self.l_margin, 16, self.w - self.r_margin, 16)
            self.set_text_color(0)
            self.set_y(self.t_margin)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("Helvetica", "", RUNNING_PT)
            self.set_text_color(110)
            self.cell(0, 5, f"Page {self.page_no()} sur {{nb}}", align="C")
            self.set_text_color(0)

    pdf = _Handbook(format=PAGE_FORMAT, unit="mm")
    pdf.core_fonts_encoding = "windows-1252"  # curly apostrophes, "œ", bullets and dashes in the core fonts
    pdf.set_margins(MARGIN_MM, 24, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.set_title(props.title)
    if props.author:
        pdf.set_author(props.author)
    pdf.set_lang(props.language)
    pdf.set_creator("KMH Search sample corpus (kmh synth-handbook)")
    pdf.set_producer("fpdf2")
    pdf.set_creation_date(props.created)
    width = pdf.w - 2 * MARGIN_MM

    pdf.add_page()
    page_has_body = False
    previous = None
    for block in blocks:
        if block.kind == "title":
            level = min(block.level or 1, 2)
            if pdf.page_no() and (
                (level >= 2 and page_has_body) or pdf.get_y() > pdf.h - pdf.b_margin - MIN_ROOM_MM
            ):
                pdf.add_page()
                page_has_body = False
            elif previous is not None:
                pdf.ln(6 if previous.kind != "title" else 2)
            pdf.set_font("Helvetica", "B", HEADING_PT[level])
            pdf.multi_cell(width, HEADING_PT[level] * 0.5, block.text, align="L")
            pdf.ln(2)
        elif block.kind == "list_item":
            pdf.ln(1.5)
            pdf.set_font("Helvetica", "", BODY_PT)
            _list_item(pdf, block.text, MARGIN_MM + 3, width - 3)
            page_has_body = True
        else:
            pdf.ln(3)
            pdf.set_font("Helvetica", "", BODY_PT)
            pdf.multi_cell(width, 5.5, block.text, align="J")
            page_has_body = True
        previous = block
    return bytes(pdf.output())


def _list_item(pdf: FPDF, text: str, x: float, width: float) -> None:
    """One list item: the bullet on its first line, the wrapped lines indented under its text (a hanging indent,
    which the PDF parser reads as the same item)."""
    from fpdf.enums import XPos, YPos

    prefix = BULLET + "  "
    indent = pdf.get_string_width(prefix)
    lines: list[str] = []
    for word in text.split():
        if lines and pdf.get_string_width(f"{lines[-1]} {word}") <= width - indent:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    for index, line in enumerate(lines):
        pdf.set_x(x if index == 0 else x + indent)
        pdf.cell(width if index == 0 else width - indent, ITEM_LINE_MM, (prefix if index == 0 else "") + line,
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_handbook(source: Path, out: Path, *, force: bool = False) -> bool:
    """Typeset ``source`` into ``out``; True when the file was (re)written, False when it already held these
    bytes (then only its time is touched, so ``make`` sees it up to date)."""
    blocks = read_blocks(source)
    data = typeset(blocks, properties_for(out, blocks))
    if not force and out.is_file() and out.read_bytes() == data:
        os.utime(out)
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return True
