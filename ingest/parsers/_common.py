"""Helpers shared by the format parsers: text normalisation, decoding, unstructured element mapping."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Iterable

from ingest.model import Block, IngestError

# Every Unicode space separator (NBSP, narrow NBSP, thin space, ...) becomes a plain space.
_SPACES_RE = re.compile(r"[^\S\n]+")
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})

BULLET_CHARS = "•●○◦▪▫■□►▸▶‣⁃∙·➢➤✓✔❖◆◇-–—*+\uf0b7\uf0a7\uf076\uf0d8"
BULLET_RE = re.compile(rf"^\s*[{re.escape(BULLET_CHARS)}]\s+")
# "1. ", "12) ", "a) ", "iv) ": not "M. Diallo" (Monsieur) nor "C. Groccia" (an initial).
NUMBERED_RE = re.compile(r"^\s*(?:\(?\d{1,3}[.)]|\(?[a-z]\)|\(?[ivxIVX]{1,4}\))\s+(?=\S)")


def clean_line(text: str) -> str:
    """One logical line: NFC, ligatures undone, invisible/control characters dropped, spaces collapsed."""
    text = unicodedata.normalize("NFC", text).translate(_LIGATURES)
    text = _INVISIBLE_RE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL_RE.sub(" ", text)
    return _SPACES_RE.sub(" ", text).strip()


def normalize_block_text(text: str, kind: str) -> str:
    """Whitespace normalisation of a block: tables keep one row per line, everything else is one line."""
    text = unicodedata.normalize("NFC", text).translate(_LIGATURES)
    text = _INVISIBLE_RE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if kind == "table":
        rows = [clean_line(row) for row in text.split("\n")]
        return "\n".join(row for row in rows if row)
    return clean_line(text.replace("\n", " "))


def normalize_blocks(blocks: Iterable[Block]) -> list[Block]:
    """Normalise whitespace, clamp heading levels, drop blocks left without visible text."""
    out: list[Block] = []
    for block in blocks:
        text = normalize_block_text(block.text or "", block.kind)
        if not text or not any(ch.isalnum() for ch in text):
            continue
        level = min(max(int(block.level or 1), 1), 6)
        out.append(Block(text=text, kind=block.kind, page=block.page, level=level, ocr=block.ocr))
    return out


def join_lines(lines: list[str]) -> str:
    """The lines of a paragraph as one line, hyphenated words rejoined; joined once (not one concatenation per line)."""
    parts: list[str] = []
    for line in lines:
        last = parts[-1] if parts else ""
        if len(parts) <= 1 and not last:  # nothing written yet
            parts = [line]
        elif last.endswith("-") and len(last) > 1 and last[-2].isalpha() and line[:1].islower():
            parts[-1] = last[:-1] + line  # "réinté-" + "gration"
        else:
            parts.append(line)
    return " ".join(parts)


def strip_bullet(text: str) -> str:
    """A list item's text without its bullet character (numbers such as "1." are kept)."""
    return BULLET_RE.sub("", text, count=1).strip()


def is_list_line(text: str) -> bool:
    return bool(BULLET_RE.match(text) or NUMBERED_RE.match(text))


def word_count(text: str) -> int:
    return len(text.split())


# ---------------------------------------------------------------------------------------------
# text decoding
# ---------------------------------------------------------------------------------------------


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f") or 0x7F <= ord(ch) < 0xA0)
    return bad / len(text)


def decode_text(path: Path, data: bytes) -> str:
    """Decode a text file (UTF-8, with or without BOM; UTF-16 with BOM); refuse binary content."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise IngestError(path, "binary content, not text") from None
        if _control_ratio(text) > 0.01:
            raise IngestError(path, "binary content, not text")
        return text
    if b"\x00" in data:
        raise IngestError(path, "binary content, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Legacy single-byte text (cp1252/latin-1) is told apart from binary, but still refused.
        legacy = data.decode("cp1252", errors="replace")
        if _control_ratio(legacy) < 0.005 and legacy.count("\ufffd") < max(3, len(legacy) // 1000):
            raise IngestError(
                path, f"text is not valid UTF-8 (invalid byte at offset {exc.start}; re-save it as UTF-8)"
            ) from None
        raise IngestError(path, "binary content, not text") from None
    if _control_ratio(text) > 0.01:
        raise IngestError(path, "binary content, not text")
    return text


# ---------------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------------


def rows_to_text(rows: Iterable[Iterable[str]]) -> str:
    """A table as text: one row per line, cells separated by " | ", empty rows dropped."""
    lines = []
    for row in rows:
        cells = [clean_line(cell) for cell in row]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def html_table_to_text(table_html: str) -> str:
    """``<table>`` markup (as unstructured's ``text_as_html``) → rows text."""
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(table_html, create_parent="div")
    except Exception:  # noqa: BLE001 - malformed markup: caller falls back to flat text
        return ""
    return table_element_to_text(root)


def table_element_to_text(root) -> str:
    rows = []
    for tr in root.iter("tr"):
        rows.append([" ".join(cell.itertext()) for cell in tr if cell.tag in ("td", "th")])
    return rows_to_text(rows)


# ---------------------------------------------------------------------------------------------
# unstructured elements → blocks
# ---------------------------------------------------------------------------------------------

_SKIP_CATEGORIES = {"PageBreak", "Image", "Figure", "PageNumber", "Header", "Footer"}


def elements_to_blocks(elements, *, keep_pages: bool = False) -> list[Block]:
    """Map unstructured elements (Title/NarrativeText/ListItem/Table/...) onto blocks."""
    blocks: list[Block] = []
    for el in elements:
        category = getattr(el, "category", "")
        if category in _SKIP_CATEGORIES:
            continue
        text = el.text or ""
        md = el.metadata
        page = md.page_number if keep_pages else None
        if category == "Title":
            depth = md.category_depth if md.category_depth is not None else 0
            blocks.append(Block(text=text, kind="title", page=page, level=depth + 1))
        elif category == "ListItem":
            blocks.append(Block(text=strip_bullet(text), kind="list_item", page=page))
        elif category == "Table":
            table_text = html_table_to_text(md.text_as_html) if md.text_as_html else ""
            blocks.append(Block(text=table_text or text, kind="table", page=page))
        else:
            blocks.append(Block(text=text, kind="text", page=page))
    return blocks
