"""DOCX: unstructured's ``partition_docx`` (Heading N styles → titles with levels, lists, tables).

The package is checked for zip bombs and XML entity declarations first (``_ooxml``). When
unstructured fails on an unusual file, a plain python-docx walk over paragraphs and tables is used.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from ingest.model import Block, IngestError

from . import _ooxml
from ._common import elements_to_blocks, rows_to_text, strip_bullet

_HEADING_RE = re.compile(r"^(?:heading|titre)\s*(\d)$", re.IGNORECASE)


def parse(path: Path, data: bytes) -> list[Block]:
    _ooxml.check_package(path, data, "docx")
    from ._unstructured import partition_docx

    try:
        elements = partition_docx(file=io.BytesIO(data), include_page_breaks=False, languages=[""])
    except IngestError:
        raise
    except Exception:  # noqa: BLE001 - unstructured trips on some files python-docx can still read
        return _parse_with_python_docx(path, data)
    blocks = elements_to_blocks(elements)
    # Pages of a .docx are a rendering artefact; the contract wants None for formats without pages.
    for block in blocks:
        block.page = None
    return blocks


def _parse_with_python_docx(path: Path, data: bytes) -> list[Block]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        raise IngestError(path, f"corrupt or unreadable docx file ({type(exc).__name__})") from None
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [[cell.text for cell in row.cells] for row in item.rows]
            blocks.append(Block(text=rows_to_text(rows), kind="table"))
            continue
        if not isinstance(item, Paragraph) or not item.text.strip():
            continue
        style = (item.style.name if item.style is not None else "") or ""
        match = _HEADING_RE.match(style)
        if match:
            blocks.append(Block(text=item.text, kind="title", level=int(match.group(1))))
        elif style == "Title":
            blocks.append(Block(text=item.text, kind="title", level=1))
        elif style.startswith("List") or item._p.pPr is not None and item._p.pPr.numPr is not None:
            blocks.append(Block(text=strip_bullet(item.text), kind="list_item"))
        else:
            blocks.append(Block(text=item.text, kind="text"))
    return blocks
