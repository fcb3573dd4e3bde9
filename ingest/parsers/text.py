"""Plain text (mostly web pages saved as text): paragraphs, heading heuristics, lists, boilerplate.

* Paragraphs are separated by blank lines; hard-wrapped lines of a paragraph are joined.
* A single-line paragraph of at most 8 words, without final punctuation and followed by more
  content, is a title ("Dates", "Objectifs", "Public cible"). The first such line before any
  narrative text may be longer (a page headline, up to 30 words) and becomes the level-1 title;
  other titles are then level 2 (level 1 when the page has no headline). A line holding a year
  right under a title ("Dates" / "Du 1er au 2 décembre 2021") is content, not a title.
* Lines starting with a bullet ("•", "-", "*", ...) or a number ("1.", "2)") are list items; a
  wrapped continuation line starting in lower case joins its item, an indented paragraph under an
  item ("1. Politiques et réformes" / "    Cette deuxième session ...") is a text block after it.
  A paragraph made only of several short lines (an audience list, tags) is one list item per line.
* Boilerplate lines are dropped (``boilerplate.is_boilerplate_line``). A section stop ("A lire
  aussi", "Articles similaires", "Laissez un commentaire") in the last 40% of the page ends the
  page; earlier, only the stop line and the short link lines under it are dropped.
* Consecutive identical paragraphs (the headline repeated as the first paragraph) are kept once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.model import Block

from . import boilerplate
from ._common import BULLET_RE, NUMBERED_RE, clean_line, decode_text, strip_bullet

TITLE_MAX_WORDS = 8
HEADLINE_MAX_WORDS = 30
LIST_LINE_MAX_WORDS = 10
STOP_TAIL_FRACTION = 0.6  # a section stop after this fraction of the text ends the page
_FINAL_PUNCT = tuple(".!?;:,…")
_YEAR_RE = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


@dataclass
class _Line:
    indent: int
    text: str


@dataclass
class _Para:
    lines: list[_Line] = field(default_factory=list)
    offset: int = 0  # character offset of the paragraph in the text

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


def parse(path: Path, data: bytes) -> list[Block]:
    return parse_text(decode_text(path, data))


def parse_text(text: str) -> list[Block]:
    paragraphs = _split_paragraphs(text)
    paragraphs = _apply_section_stops(paragraphs, total=max(len(text), 1))
    paragraphs = _drop_boilerplate(paragraphs)
    paragraphs = _dedupe(paragraphs)
    return _classify(paragraphs)


# ---------------------------------------------------------------------------------------------


def _split_paragraphs(text: str) -> list[_Para]:
    paragraphs: list[_Para] = []
    current = _Para()
    offset = 0
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        content = clean_line(raw)
        if not content:
            if current.lines:
                paragraphs.append(current)
            current = _Para(offset=offset + len(raw) + 1)
        else:
            expanded = raw.expandtabs(4).replace("\u00a0", " ")
            indent = len(expanded) - len(expanded.lstrip())
            if boilerplate.is_section_stop(content):
                # a stop line is always a paragraph of its own
                if current.lines:
                    paragraphs.append(current)
                paragraphs.append(_Para([_Line(indent, content)], offset))
                current = _Para(offset=offset + len(raw) + 1)
            else:
                if not current.lines:
                    current.offset = offset
                current.lines.append(_Line(indent, content))
        offset += len(raw) + 1
    if current.lines:
        paragraphs.append(current)
    return paragraphs


def _is_link_like(para: _Para) -> bool:
    return all(len(line.text.split()) <= 20 and not line.text.endswith(".") for line in para.lines)


def _apply_section_stops(paragraphs: list[_Para], total: int) -> list[_Para]:
    out: list[_Para] = []
    i = 0
    while i < len(paragraphs):
        para = paragraphs[i]
        if len(para.lines) == 1 and boilerplate.is_section_stop(para.lines[0].text):
            if para.offset >= STOP_TAIL_FRACTION * total:
                break  # related articles / comments until the end of the page
            i += 1
            while i < len(paragraphs) and _is_link_like(paragraphs[i]) and not boilerplate.is_section_stop(
                paragraphs[i].text
            ):
                i += 1
            continue
        out.append(para)
        i += 1
    return out


def _drop_boilerplate(paragraphs: list[_Para]) -> list[_Para]:
    out = []
    for para in paragraphs:
        lines = [
            line
            for line in para.lines
            # a bulleted "• Accueil" is content; the one-word chrome rules apply to bare lines
            if not boilerplate.is_boilerplate_line(line.text, web=True, exact=not _is_list_line(line.text))
        ]
        if lines:
            out.append(_Para(lines, para.offset))
    return out


def _dedupe(paragraphs: list[_Para]) -> list[_Para]:
    out: list[_Para] = []
    for para in paragraphs:
        if out and boilerplate.norm_key(out[-1].text) == boilerplate.norm_key(para.text):
            continue
        out.append(para)
    return out


# ---------------------------------------------------------------------------------------------


def _is_list_line(text: str) -> bool:
    return bool(BULLET_RE.match(text) or NUMBERED_RE.match(text))


def _title_like(text: str, max_words: int) -> bool:
    words = text.split()
    if not words or len(words) > max_words or text.endswith(_FINAL_PUNCT):
        return False
    if _is_list_line(text) or not any(ch.isalpha() for ch in text):
        return False
    first = next((ch for ch in text if ch.isalnum()), "")
    return not first.islower()


def _short_lines_list(para: _Para) -> bool:
    """Several short lines with no sentence punctuation: an enumeration without bullets."""
    if len(para.lines) < 2:
        return False
    for line in para.lines:
        text = line.text
        if len(text.split()) > LIST_LINE_MAX_WORDS or text.endswith(tuple(".;,:")):
            return False
        first = next((ch for ch in text if ch.isalnum()), "")
        if first.islower():
            return False
    return True


def _classify(paragraphs: list[_Para]) -> list[Block]:
    blocks: list[Block] = []
    headline_index: int | None = None
    seen_text = False  # narrative text seen (the headline must come before it)
    any_title = False  # a title among ``blocks`` (kept as a flag: scanning them for each paragraph is quadratic)
    for i, para in enumerate(paragraphs):
        has_next = i + 1 < len(paragraphs)
        lines = para.lines
        if any(_is_list_line(line.text) for line in lines):
            new = _list_blocks(lines)
            blocks.extend(new)
            seen_text = seen_text or any(b.kind == "text" for b in new)
            continue
        if len(lines) == 1:
            text = lines[0].text
            prev_is_title = bool(blocks) and blocks[-1].kind == "title"
            if has_next and _title_like(text, TITLE_MAX_WORDS) and not (prev_is_title and _YEAR_RE.search(text)):
                if headline_index is None and not seen_text and not blocks and len(text.split()) >= 3:
                    headline_index = len(blocks)
                blocks.append(Block(text=text, kind="title"))
                any_title = True
                continue
            no_title_yet = not any_title
            if has_next and no_title_yet and not seen_text and _title_like(text, HEADLINE_MAX_WORDS):
                headline_index = len(blocks)
                blocks.append(Block(text=text, kind="title"))
                any_title = True
                continue
            blocks.append(Block(text=text, kind="text"))
            seen_text = True
            continue
        if _short_lines_list(para):
            blocks.extend(Block(text=line.text, kind="list_item") for line in lines)
            continue
        blocks.append(Block(text=para.text, kind="text"))
        seen_text = True
    # levels: the headline is level 1 and section titles level 2; without a headline all are level 1
    for index, block in enumerate(blocks):
        if block.kind == "title":
            block.level = 1 if headline_index is None or index == headline_index else 2
    return blocks


def _list_blocks(lines: list[_Line]) -> list[Block]:
    blocks: list[Block] = []
    item: Block | None = None
    item_parts: list[str] = []  # the lines of ``item``, joined once it is complete (not one concatenation per line)
    item_indent = 0
    text_lines: list[str] = []

    def flush_text() -> None:
        if text_lines:
            blocks.append(Block(text=" ".join(text_lines), kind="text"))
            text_lines.clear()

    def close_item() -> None:
        if item is not None and len(item_parts) > 1:
            item.text = " ".join(item_parts)

    for line in lines:
        text = line.text
        if _is_list_line(text):
            flush_text()
            close_item()
            item = Block(text=strip_bullet(text), kind="list_item")
            item_parts = [item.text]
            item_indent = line.indent
            blocks.append(item)
            continue
        first = next((ch for ch in text if ch.isalnum()), "")
        if (
            item is not None
            and not text_lines
            and line.indent >= item_indent
            and first.islower()
            and not item_parts[-1].endswith(tuple(".!?:;"))
        ):
            item_parts.append(text)  # wrapped item
            continue
        if text_lines and first.islower():
            text_lines.append(text)  # wrapped text
            continue
        if text_lines and not text_lines[-1].endswith(tuple(".!?:;")) and line.indent > item_indent:
            text_lines.append(text)
            continue
        flush_text()
        text_lines.append(text)
        if line.indent <= item_indent:
            close_item()
            item = None
    flush_text()
    close_item()
    return blocks
