"""PPTX: one page per slide; the slide title is a level-1 title, body paragraphs are text or list items.

unstructured's ``partition_pptx`` classifies short bullet lines as titles, which is wrong for slides,
so slides are walked with python-pptx directly: shapes in reading order (top to bottom, left to
right, groups flattened), tables as rows, speaker notes as text at the end of the slide.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

from ingest.model import Block, IngestError

from . import _ooxml
from ._common import is_list_line, rows_to_text, strip_bullet

_TITLE_TYPES = {"TITLE", "CENTER_TITLE", "VERTICAL_TITLE"}
_SUBTITLE_TYPES = {"SUBTITLE"}
_SKIP_PLACEHOLDERS = {"DATE", "FOOTER", "SLIDE_NUMBER", "HEADER"}
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"


def _open(path: Path, data: bytes):
    _ooxml.check_package(path, data, "pptx")
    import pptx

    try:
        return pptx.Presentation(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        raise IngestError(path, f"corrupt or unreadable pptx file ({type(exc).__name__})") from None


def slide_count(path: Path, data: bytes) -> int:
    """Slides listed in ``ppt/presentation.xml`` (those python-pptx iterates), without loading the slides."""
    from lxml import etree

    _ooxml.check_package(path, data, "pptx")
    with _ooxml.open_zip(path, data, "pptx") as zf:
        try:
            xml = zf.read("ppt/presentation.xml")
        except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError):
            raise IngestError(path, "corrupt or unreadable pptx file (no readable ppt/presentation.xml)") from None
    try:
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        raise IngestError(path, "corrupt or unreadable pptx file (ppt/presentation.xml is not valid XML)") from None
    return len(root.findall(f"{_P}sldIdLst/{_P}sldId"))


def parse(path: Path, data: bytes) -> list[Block]:
    presentation = _open(path, data)
    blocks: list[Block] = []
    for number, slide in enumerate(presentation.slides, start=1):
        blocks.extend(_slide_blocks(slide, number))
    return blocks


def _placeholder_type(shape) -> str | None:
    if not getattr(shape, "is_placeholder", False):
        return None
    try:
        return shape.placeholder_format.type.name if shape.placeholder_format.type is not None else None
    except (AttributeError, ValueError):
        return None


def _iter_shapes(shapes):
    """Shapes in reading order, group shapes flattened."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    def key(shape):
        return ((shape.top or 0) // 10000, shape.left or 0)  # ~1 mm rows, then left to right

    for shape in sorted(shapes, key=key):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _iter_shapes(shape.shapes)
        else:
            yield shape


def _slide_blocks(slide, number: int) -> list[Block]:
    blocks: list[Block] = []
    title_shape = slide.shapes.title
    if title_shape is not None and title_shape.has_text_frame and title_shape.text_frame.text.strip():
        blocks.append(Block(text=title_shape.text_frame.text, kind="title", page=number, level=1))
    for shape in _iter_shapes(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        ph_type = _placeholder_type(shape)
        if ph_type in _SKIP_PLACEHOLDERS:
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            blocks.append(Block(text=rows_to_text(rows), kind="table", page=number))
            continue
        if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
            continue
        if ph_type in _TITLE_TYPES:  # a second title placeholder
            blocks.append(Block(text=shape.text_frame.text, kind="title", page=number, level=1))
            continue
        if ph_type in _SUBTITLE_TYPES:
            blocks.append(Block(text=shape.text_frame.text, kind="title", page=number, level=2))
            continue
        paragraphs = [(p, p.text) for p in shape.text_frame.paragraphs if p.text.strip()]
        # Layout-bulleted body placeholder: several paragraphs are bullet points, a single one is text.
        body_list = ph_type in {"BODY", "OBJECT"} and len(paragraphs) > 1
        for paragraph, text in paragraphs:
            bulleted = _has_bullet(paragraph, body_list)
            if bulleted or is_list_line(text):
                blocks.append(Block(text=strip_bullet(text), kind="list_item", page=number))
            else:
                blocks.append(Block(text=text, kind="text", page=number))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            blocks.append(Block(text=notes.text, kind="text", page=number))
    return blocks


def _has_bullet(paragraph, body_list: bool) -> bool:
    """Explicit bullets/numbering, else whether the layout bullets this body placeholder's paragraphs."""
    ppr = paragraph._p.pPr
    if ppr is not None:
        for child in ppr:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag in ("buChar", "buAutoNum", "buBlip"):
                return True
            if tag == "buNone":
                return False
    return body_list
