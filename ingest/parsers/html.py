"""HTML: page chrome removed from the DOM, then unstructured's ``partition_html`` for the elements.

Removed before partitioning (rules in ``boilerplate``): script/style/nav/aside/form/..., page-level
header and footer, ARIA landmarks for navigation/banner/contentinfo/complementary, hidden elements,
elements whose class/id names chrome (cookie banners, share bars, related posts, comments), and
every section-stop heading ("A lire aussi", "Articles similaires", "Laissez un commentaire", ...)
together with everything after it in its container. h1–h6 become titles of level 1–6.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
from lxml import etree

from ingest.model import Block, IngestError

from . import boilerplate
from ._common import clean_line, decode_text, elements_to_blocks, strip_bullet, table_element_to_text

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_KEEP_ALWAYS = {"html", "body", "main", "article"}
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_STOP_CANDIDATE_TAGS = set(_HEADINGS) | {"p", "div", "span", "strong", "b", "em", "section", "header", "dt", "summary"}


def decode_html(path: Path, data: bytes) -> str:
    """Decode with the declared charset when there is one, else as UTF-8 text."""
    match = _CHARSET_RE.search(data[:4096])
    if match and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        encoding = match.group(1).decode("ascii", "replace")
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            if b"\x00" in data:
                raise IngestError(path, "binary content, not text")
            try:
                return data.decode(encoding, errors="replace")
            except LookupError:
                pass
    return decode_text(path, data)


def parse_dom(path: Path, text: str):
    text = _XML_DECL_RE.sub("", text, count=1)
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
    try:
        return lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError):
        if not text.strip():
            return None
        raise IngestError(path, "unreadable HTML") from None


def parse(path: Path, data: bytes) -> list[Block]:
    root = parse_dom(path, decode_html(path, data))
    if root is None:
        return []
    return blocks_from_dom(root, flat=False)


def blocks_from_dom(root, *, flat: bool) -> list[Block]:
    """Clean ``root`` in place and turn it into blocks (also used by the Markdown parser)."""
    page_title = _page_title(root)
    body = root.find("body")
    if body is None:
        body = root
    clean_dom(body, flat=flat)
    blocks = _partition(body)
    blocks = boilerplate.drop_boilerplate_blocks(blocks, web=True)
    if page_title and not any(b.kind == "title" and b.level == 1 for b in blocks):
        blocks.insert(0, Block(text=page_title, kind="title", level=1))
    return blocks


def _page_title(root) -> str | None:
    node = root.find(".//head/title")
    if node is None:
        return None
    title = clean_line(node.text_content())
    # "Article title | Site name" / "Article title – Site"
    title = re.split(r"\s+[|–—]\s+|\s+-\s+", title)[0].strip()
    return title or None


# ---------------------------------------------------------------------------------------------
# cleaning
# ---------------------------------------------------------------------------------------------


def _drop(el) -> None:
    if el.getparent() is not None:
        el.drop_tree()  # keeps the element's tail text


def clean_dom(body, *, flat: bool) -> None:
    to_drop = []
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in boilerplate.DROP_TAGS:
            to_drop.append(el)
            continue
        if tag in boilerplate.PAGE_CHROME_TAGS and not any(
            a.tag in ("article", "main") for a in el.iterancestors()
        ):
            to_drop.append(el)
            continue
        if (el.get("role") or "").lower() in boilerplate.DROP_ROLES and tag not in _KEEP_ALWAYS:
            to_drop.append(el)
            continue
        if el.get("hidden") is not None or (el.get("aria-hidden") or "").lower() == "true":
            to_drop.append(el)
            continue
        if _HIDDEN_STYLE_RE.search(el.get("style") or ""):
            to_drop.append(el)
            continue
        if tag not in _KEEP_ALWAYS and boilerplate.is_boilerplate_container(
            f"{el.get('class') or ''} {el.get('id') or ''}"
        ):
            to_drop.append(el)
    for el in to_drop:
        # an ancestor may already be gone; dropping a detached subtree is harmless
        _drop(el)
    _drop_section_stops(body, flat=flat)


def _text(el) -> str:
    return clean_line(el.text_content())


_SHORT_TEXT_SCAN = 4096  # raw characters read at most to tell whether an element's text is short


def _short_text(el, limit: int = 60) -> str | None:
    """The element's cleaned text when it is at most ``limit`` characters, else None.

    Reads at most ``_SHORT_TEXT_SCAN`` raw characters, so asking it of every element costs time linear in the page,
    where ``text_content()`` of every element costs its size times its depth."""
    parts, size = [], 0
    for piece in el.itertext():
        parts.append(piece[: _SHORT_TEXT_SCAN + 1 - size])
        size += len(piece)
        if size > _SHORT_TEXT_SCAN:
            return None
    text = clean_line("".join(parts))
    return text if len(text) <= limit else None


def _heading_rank(el) -> int | None:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    return int(tag[1]) if tag in _HEADINGS else None


def _drop_section_stops(body, *, flat: bool) -> None:
    """Drop each section-stop heading with what follows it in its container (flat: up to the next heading of the
    same or a higher rank). One pass in document order: what a stop removes is a contiguous run of that order,
    which the pass skips."""
    order = [el for el in body.iter() if isinstance(el.tag, str)]
    position = {el: i for i, el in enumerate(order)}
    # end[i]: the position just after the last element of order[i]'s subtree
    end = list(range(1, len(order) + 1))
    for i in range(len(order) - 1, -1, -1):
        for child in order[i]:
            j = position.get(child)
            if j is not None and end[j] > end[i]:
                end[i] = end[j]
    i = 0
    while i < len(order):
        el = order[i]
        i += 1
        if el.tag.lower() not in _STOP_CANDIDATE_TAGS:
            continue
        text = _short_text(el)
        if text is None or not boilerplate.is_section_stop(text):
            continue
        # the deepest element carrying the phrase
        if any(isinstance(c.tag, str) and _short_text(c) == text for c in el):
            continue
        i = max(i, end[position[_drop_stop(body, el, text, flat=flat)]])


def _drop_stop(body, stop, text: str, *, flat: bool):
    """Drop ``stop`` and its section; returns the last element dropped."""
    rank = _heading_rank(stop)
    # climb out of wrappers that hold nothing but the heading (<div class="t"><h3>...</h3></div>)
    node = stop
    while True:
        parent = node.getparent()
        if parent is None or parent is body or parent.tag in _KEEP_ALWAYS:
            break
        if _short_text(parent) != text:
            break
        node = parent
    parent = node.getparent()
    following = []
    for sibling in node.itersiblings():
        if flat and rank is not None:
            sib_rank = _heading_rank(sibling)
            if sib_rank is not None and sib_rank <= rank:
                break
        following.append(sibling)
    last = node
    node.tail = None  # loose text after the heading belongs to the dropped section
    _drop(node)
    for sibling in following:
        if sibling.getparent() is parent:
            sibling.tail = None
            _drop(sibling)
            if isinstance(sibling.tag, str):
                last = sibling
    return last


# ---------------------------------------------------------------------------------------------
# partitioning
# ---------------------------------------------------------------------------------------------


def _partition(body) -> list[Block]:
    from ._unstructured import partition_html

    html = lxml.html.tostring(body, encoding="unicode", method="html")
    try:
        elements = partition_html(text=f"<html>{html}</html>", languages=[""])
    except Exception:  # noqa: BLE001 - fall back to a plain DOM walk
        elements = None
    if elements:
        blocks = elements_to_blocks(elements)
        if any(b.text.strip() for b in blocks):
            return blocks
    return _walk(body)


_BLOCK_TAGS = {"p", "div", "section", "blockquote", "pre", "dd", "dt", "figcaption", "address", "td", "th", "caption"}


def _walk(body) -> list[Block]:
    """Minimal DOM walk used when unstructured returns nothing."""
    blocks: list[Block] = []

    def visit(el) -> None:
        if not isinstance(el.tag, str):
            return
        tag = el.tag.lower()
        rank = _heading_rank(el)
        if rank is not None:
            blocks.append(Block(text=_text(el), kind="title", level=rank))
            return
        if tag == "table":
            blocks.append(Block(text=table_element_to_text(el), kind="table"))
            return
        if tag == "li":
            blocks.append(Block(text=strip_bullet(_text(el)), kind="list_item"))
            return
        children = [c for c in el if isinstance(c.tag, str)]
        has_block_child = any(
            c.tag.lower() in _BLOCK_TAGS | set(_HEADINGS) | {"ul", "ol", "li", "table"} for c in children
        )
        if not has_block_child:
            text = _text(el)
            if text:
                blocks.append(Block(text=text, kind="text"))
            return
        if el.text and el.text.strip():
            blocks.append(Block(text=el.text, kind="text"))
        for child in children:
            visit(child)
            if child.tail and child.tail.strip():
                blocks.append(Block(text=child.tail, kind="text"))

    visit(body)
    return blocks
